import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ENV_KEYS, loadConfig } from '../../src/config';

const dir = mkdtempSync(join(tmpdir(), 'ops-config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeTemp(ext: string, text: string): string {
  const path = join(dir, `config-${++fileCount}.${ext}`);
  writeFileSync(path, text);
  return path;
}

function getPath(target: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], target);
}

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, got none');
}

describe('defaults (the spec values)', () => {
  const config = loadConfig({});

  it('retry policy is the spec RETRY_POLICY', () => {
    expect(config.retry).toEqual({ initialDelayMs: 2000, backoffMultiplier: 2, maxAttempts: 5, maxDelayMs: 60_000 });
  });

  it('time zone is America/Chicago, for schedules and quiet hours', () => {
    expect(config.timezone).toBe('America/Chicago');
    expect(config.controls.quietHours.timeZone).toBe('America/Chicago');
  });

  it('limits: 3 consecutive failures alert, 1 health alert per hour, retry queue 10 per run x 5 attempts', () => {
    expect(config.limits).toMatchObject({
      consecutiveFailuresAlert: 3,
      healthAlertEveryMinutes: 60,
      retryQueueBatch: 10,
      retryQueueMaxAttempts: 5,
    });
  });

  it('source limits are the APIs\' own: Notion 3/s average, HubSpot 100 per 10 s window; Notion tags SOP/Canonical/Final', () => {
    expect(config.sources.notion.rateLimit).toEqual({ requests: 3, perSeconds: 1, shape: 'average' });
    expect(config.sources.hubspot.rateLimit).toEqual({ requests: 100, perSeconds: 10, shape: 'window' });
    expect(config.sources.notion).toMatchObject({ tagsProperty: 'Tags', tags: ['SOP', 'Canonical', 'Final'] });
    expect(config.sources.n8n.failureThreshold).toBe(3);
    // No token, no source: nothing is configured until the operator says so.
    expect([config.sources.notion.token, config.sources.hubspot.token, config.sources.n8n.apiKey, config.telegram.botToken]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('retention: audit 365 days, dead letters 30, incidents 90', () => {
    expect(config.retention).toEqual({ auditDays: 365, deadLetterDays: 30, incidentDays: 90 });
  });

  it('Temporal: localhost:7233, Web UI 8233, namespace default; data dir .data; SQLite (no DATABASE_URL)', () => {
    expect(config.temporal).toMatchObject({ address: 'localhost:7233', uiPort: 8233, namespace: 'default' });
    expect(config.dataDir).toBe('.data');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporal.workflowBundle).toBeUndefined();
    expect(config.logLevel).toBe('info');
  });

  it('controls start permissive with quiet hours off; no schedule overrides', () => {
    expect(config.controls).toMatchObject({ killSwitch: false, jobsEnabled: true, commsEnabled: true, writeEnabled: true });
    expect(config.controls.quietHours.enabled).toBe(false);
    expect(config.jobs).toEqual({});
  });

  it('watchers: the spec thresholds (3 failures in 30 min, rate limits 80/95%, +200% cost, 1,000 ms, 30 s runs, 10% failures, queue 100)', () => {
    expect(config.watchers.repeatedFailures).toEqual({ windowMinutes: 30, threshold: 3 });
    expect(config.watchers.rateLimits).toMatchObject({ infoPercent: 80, warnPercent: 95 });
    expect(config.watchers.costAnomalies).toMatchObject({ baselineDays: 7, infoIncreasePercent: 200 });
    expect(config.watchers.performance.avgMsThreshold).toBe(1000);
    expect(config.watchers.longRuns).toMatchObject({ defaultSeconds: 30, perJobSeconds: {} });
    expect(config.watchers.failureRate).toMatchObject({ windowHours: 24, percent: 10 });
    expect(config.watchers.queueDepth.max).toBe(100);
    expect(config.watchers.staleness).toEqual({ factor: 2, graceMinutes: 10 });
  });

  it('an empty file gives the same config as none', () => {
    expect(loadConfig({ OPS_CONFIG: writeTemp('yaml', '# nothing set\n') })).toEqual(config);
  });
});

describe('environment variables', () => {
  // One valid value per variable, with the value the config should hold.
  const samples: Record<keyof typeof ENV_KEYS, [string, unknown]> = {
    TEMPORAL_ADDRESS: ['temporal.internal:7234', 'temporal.internal:7234'],
    TEMPORAL_NAMESPACE: ['ops', 'ops'],
    TEMPORAL_UI_PORT: ['9233', 9233],
    TEMPORAL_CLI_PATH: ['/opt/temporal/bin/temporal', '/opt/temporal/bin/temporal'],
    TEMPORAL_TASK_QUEUE: ['ops-jobs-2', 'ops-jobs-2'],
    OPS_WORKFLOW_BUNDLE: ['/app/dist/workflow-bundle.js', '/app/dist/workflow-bundle.js'],
    TEMPORAL_LOST_AFTER_MS: ['5000', 5000],
    TEMPORAL_TLS: ['true', true],
    TEMPORAL_TLS_CA: ['/etc/temporal/ca.pem', '/etc/temporal/ca.pem'],
    TEMPORAL_TLS_CERT: ['/etc/temporal/client.pem', '/etc/temporal/client.pem'],
    TEMPORAL_TLS_KEY: ['/etc/temporal/client.key', '/etc/temporal/client.key'],
    TEMPORAL_TLS_SERVER_NAME: ['temporal.internal', 'temporal.internal'],
    TEMPORAL_API_KEY: ['cloud-api-key', 'cloud-api-key'],
    OPS_HTTP_ADDRESS: ['0.0.0.0:9090', '0.0.0.0:9090'],
    OPS_API_TOKEN: ['a-token-of-at-least-16-chars', 'a-token-of-at-least-16-chars'],
    OPS_HTTP: ['false', false],
    HUBSPOT_CLIENT_SECRET: ['hs-client-secret', 'hs-client-secret'],
    TELEGRAM_WEBHOOK_SECRET: ['tg_secret-1', 'tg_secret-1'],
    OPS_DATA_DIR: ['/data', '/data'],
    DATABASE_URL: ['postgres://ops:secret@db:5432/personal_ops', 'postgres://ops:secret@db:5432/personal_ops'],
    LOG_LEVEL: ['debug', 'debug'],
    OPS_TIMEZONE: ['Europe/Paris', 'Europe/Paris'],
    OPS_CACHE_DIR: ['/var/cache/ops', '/var/cache/ops'],
    NOTION_TOKEN: ['secret_abc', 'secret_abc'],
    NOTION_BASE_URL: ['http://127.0.0.1:9000/', 'http://127.0.0.1:9000'],
    N8N_BASE_URL: ['https://n8n.example.com', 'https://n8n.example.com'],
    N8N_API_KEY: ['n8n-key', 'n8n-key'],
    HUBSPOT_TOKEN: ['pat-na1-123', 'pat-na1-123'],
    HUBSPOT_BASE_URL: ['http://127.0.0.1:9001', 'http://127.0.0.1:9001'],
    TELEGRAM_BOT_TOKEN: ['123:ABC', '123:ABC'],
    TELEGRAM_API_BASE: ['http://127.0.0.1:9002', 'http://127.0.0.1:9002'],
    TELEGRAM_CHAT_ID: ['-100123', '-100123'],
    OPS_OPERATOR_PHONE: ['+15551230000', '+15551230000'],
    SALESMSG_TOKEN: ['sm-token', 'sm-token'],
    SALESMSG_BASE_URL: ['http://127.0.0.1:9003/pub/v2.1/', 'http://127.0.0.1:9003/pub/v2.1'],
    SALESMSG_NUMBER_ID: ['4711', '4711'],
    TWILIO_ACCOUNT_SID: ['AC0123456789abcdef0123456789abcdef', 'AC0123456789abcdef0123456789abcdef'],
    TWILIO_AUTH_TOKEN: ['twilio-token', 'twilio-token'],
    TWILIO_FROM_NUMBER: ['+15550001111', '+15550001111'],
    TWILIO_BASE_URL: ['http://127.0.0.1:9004', 'http://127.0.0.1:9004'],
  };

  // Twilio's three credentials only count together; each is tested beside the other two.
  const twilio = { TWILIO_ACCOUNT_SID: samples.TWILIO_ACCOUNT_SID[0], TWILIO_AUTH_TOKEN: 'twilio-token', TWILIO_FROM_NUMBER: '+15550001111' };
  // mTLS's certificate and key likewise.
  const mtls = { TEMPORAL_TLS_CERT: samples.TEMPORAL_TLS_CERT[0], TEMPORAL_TLS_KEY: samples.TEMPORAL_TLS_KEY[0] };

  it.each(Object.entries(samples))('%s sets its config key', (name, [value, expected]) => {
    const companions = name.startsWith('TWILIO_') ? twilio : name in mtls ? mtls : {};
    const config = loadConfig({ ...companions, [name]: value });
    expect(getPath(config, ENV_KEYS[name as keyof typeof ENV_KEYS])).toEqual(expected);
  });

  it('the table above covers every variable (a new one needs a row)', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(ENV_KEYS).sort());
  });

  it('an empty variable counts as unset (compose `${VAR:-}`)', () => {
    expect(loadConfig({ TEMPORAL_UI_PORT: '', DATABASE_URL: '', OPS_CONFIG: '' })).toEqual(loadConfig({}));
  });

  it('a variable wins over the file', () => {
    const file = writeTemp('yaml', 'temporal:\n  address: from-file:7233\n  namespace: file-ns\n');
    const config = loadConfig({ OPS_CONFIG: file, TEMPORAL_ADDRESS: 'from-env:7233' });
    expect(config.temporal.address).toBe('from-env:7233');
    expect(config.temporal.namespace).toBe('file-ns');
  });
});

describe('config file (OPS_CONFIG)', () => {
  it('reads YAML', () => {
    const file = writeTemp(
      'yaml',
      [
        'timezone: Europe/Berlin',
        'retry:',
        '  maxAttempts: 7',
        'retention:',
        '  auditDays: 400',
        'jobs:',
        '  daily_digest: { at: "07:30" }',
        '  sync_notion: { every: 15m }',
        'controls:',
        '  quietHours: { enabled: true, start: "23:00" }',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ OPS_CONFIG: file });
    expect(config.timezone).toBe('Europe/Berlin');
    expect(config.retry).toEqual({ initialDelayMs: 2000, backoffMultiplier: 2, maxAttempts: 7, maxDelayMs: 60_000 });
    expect(config.retention.auditDays).toBe(400);
    expect(config.jobs).toEqual({ daily_digest: { at: '07:30' }, sync_notion: { every: '15m' } });
    expect(config.controls.quietHours).toEqual({ enabled: true, start: '23:00', end: '07:00', timeZone: 'Europe/Berlin' }); // quiet hours follow the configured time zone
  });

  it('reads JSON', () => {
    const file = writeTemp(
      'json',
      JSON.stringify({
        temporal: { namespace: 'prod', uiPort: 8080 },
        limits: { retryQueueBatch: 20 },
        jobs: { health_monitor: { every: '1m' } },
      }),
    );
    const config = loadConfig({ OPS_CONFIG: file });
    expect(config.temporal).toMatchObject({ namespace: 'prod', uiPort: 8080, address: 'localhost:7233' });
    expect(config.limits.retryQueueBatch).toBe(20);
    expect(config.limits.consecutiveFailuresAlert).toBe(3);
    expect(config.jobs.health_monitor).toEqual({ every: '1m' });
  });

  it.each(['1', '1999', '3600001'])('TEMPORAL_LOST_AFTER_MS=%s (a probe takes up to 2 s; at most an hour) is refused, naming the key', (value) => {
    expect(configErrorOf(() => loadConfig({ TEMPORAL_LOST_AFTER_MS: value })).message).toMatch(/TEMPORAL_LOST_AFTER_MS/);
  });

  it('a missing file is a ConfigError naming OPS_CONFIG and the path', () => {
    const missing = join(dir, 'nope', 'ops.yaml');
    const err = configErrorOf(() => loadConfig({ OPS_CONFIG: missing }));
    expect(err.message).toContain('OPS_CONFIG');
    expect(err.message).toContain('not found');
    expect(err.message).toContain(missing);
  });

  it.each([
    ['yaml', 'retry:\n  maxAttempts: [1, 2\n'],
    ['json', '{"retry": {"maxAttempts": 5,}'],
  ])('an unparseable %s file is a ConfigError naming OPS_CONFIG and the path', (ext, text) => {
    const file = writeTemp(ext, text);
    const err = configErrorOf(() => loadConfig({ OPS_CONFIG: file }));
    expect(err.message).toMatch(/^Invalid configuration:/);
    expect(err.message).toContain(`OPS_CONFIG (${file})`);
  });

  it.each([
    ['a list', '- 1\n- 2\n'],
    ['a scalar', 'just text\n'],
  ])('a file holding %s is rejected: the top level must be a mapping', (_what, text) => {
    const err = configErrorOf(() => loadConfig({ OPS_CONFIG: writeTemp('yaml', text) }));
    expect(err.message).toContain('the top level must be a mapping');
  });

  it('a directory (what Docker mounts when the host file is missing) is a ConfigError, not a crash', () => {
    const sub = join(dir, 'a-directory.yaml');
    mkdirSync(sub);
    const err = configErrorOf(() => loadConfig({ OPS_CONFIG: sub }));
    expect(err.message).toContain(`OPS_CONFIG (${sub})`);
  });
});

describe('an invalid config', () => {
  it('fails with ONE message listing every bad key, its reason, and the variable it came from', () => {
    const file = writeTemp(
      'yaml',
      ['retry:', '  maxAttempts: 0', 'jobs:', '  daily_digest:', '    at: "25:00"', 'frobnicate: true', ''].join('\n'),
    );
    const err = configErrorOf(() =>
      loadConfig({ OPS_CONFIG: file, TEMPORAL_UI_PORT: 'abc', OPS_TIMEZONE: 'Mars/Base' }),
    );
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('Invalid configuration:');
    const line = (needle: string): string => {
      const found = lines.filter((l) => l.includes(needle));
      expect(found, `one line for ${needle} in:\n${err.message}`).toHaveLength(1);
      return found[0]!;
    };
    expect(line('temporal.uiPort')).toMatch(/temporal\.uiPort \(TEMPORAL_UI_PORT\): .*number/);
    expect(line('timezone')).toMatch(/timezone \(OPS_TIMEZONE\): unknown IANA time zone/);
    expect(line('retry.maxAttempts')).toMatch(/retry\.maxAttempts: .*(>0|too small)/i);
    expect(line('jobs.daily_digest.at')).toMatch(/jobs\.daily_digest\.at: expected HH:MM/);
    expect(line('frobnicate')).toMatch(/nrecognized key.*"frobnicate"/);
    expect(lines).toHaveLength(6);
  });

  it.each([
    ['TEMPORAL_ADDRESS', 'localhost', 'temporal.address', /host:port/],
    ['DATABASE_URL', 'mysql://root@db/ops', 'databaseUrl', /postgres:\/\//],
    ['LOG_LEVEL', 'loud', 'logLevel', /expected one of/i],
    ['TEMPORAL_UI_PORT', '70000', 'temporal.uiPort', /65535/],
    ['OPS_OPERATOR_PHONE', '555-1234', 'comms.operatorPhone', /E\.164/],
    ['TWILIO_FROM_NUMBER', '+0123', 'comms.twilio.from', /E\.164/],
    ['TWILIO_ACCOUNT_SID', 'SK123', 'comms.twilio.accountSid', /account SID/],
    ['SALESMSG_BASE_URL', 'ftp://salesmsg', 'comms.salesmsg.baseUrl', /http\(s\) URL/],
  ])('%s=%s is reported against its key and variable', (name, value, key, reason) => {
    const err = configErrorOf(() => loadConfig({ [name]: value }));
    expect(err.message).toContain(`${key} (${name}):`);
    expect(err.message).toMatch(reason);
  });

  it('half a Twilio setup names what is missing rather than leaving calls silently off', () => {
    const err = configErrorOf(() => loadConfig({ TWILIO_AUTH_TOKEN: 'twilio-secret-value' }));
    expect(err.message).toContain('comms.twilio.accountSid: required with the other Twilio settings: set TWILIO_ACCOUNT_SID');
    expect(err.message).toContain('comms.twilio.from: required with the other Twilio settings: set TWILIO_FROM_NUMBER');
    expect(err.message).not.toContain('comms.twilio.authToken');
    expect(err.message).not.toContain('twilio-secret-value');
  });

  it('a bad source setting names its key and never echoes a secret', () => {
    const err = configErrorOf(() => loadConfig({ NOTION_BASE_URL: 'not a url', HUBSPOT_TOKEN: '   ', TELEGRAM_CHAT_ID: '@someone' }));
    expect(err.message).toContain('sources.notion.baseUrl (NOTION_BASE_URL): expected an http(s) URL');
    expect(err.message).toContain('sources.hubspot.token (HUBSPOT_TOKEN): must not be empty');
    expect(err.message).toContain('telegram.chatId (TELEGRAM_CHAT_ID): expected a numeric chat id');
    expect(err.message).not.toContain('@someone');
  });

  it('a job cadence with both every and at is refused', () => {
    const file = writeTemp('yaml', 'jobs:\n  sync_n8n: { every: 30m, at: "02:00" }\n');
    expect(configErrorOf(() => loadConfig({ OPS_CONFIG: file })).message).toMatch(/jobs\.sync_n8n: give either every or at/);
  });

  it('a bad watchers threshold names its key; an unknown watchers key is refused', () => {
    const file = writeTemp('yaml', 'watchers:\n  repeatedFailures: { threshold: 0 }\n  performance: { avgMsThreshold: fast }\n  frobnicate: 1\n');
    const message = configErrorOf(() => loadConfig({ OPS_CONFIG: file })).message;
    expect(message).toMatch(/watchers\.repeatedFailures\.threshold: .*(>0|too small)/i);
    expect(message).toMatch(/watchers\.performance\.avgMsThreshold: .*number/);
    expect(message).toMatch(/watchers: .*"frobnicate"/);
  });

  it('a long-run limit is keyed by job name: a misspelt job is refused by name, a real one is kept', () => {
    const bad = writeTemp('yaml', 'watchers:\n  longRuns: { perJobSeconds: { sync_hubspt: 60 } }\n');
    expect(configErrorOf(() => loadConfig({ OPS_CONFIG: bad })).message).toMatch(/watchers\.longRuns\.perJobSeconds: .*"sync_hubspt"/);
    const good = writeTemp('yaml', 'watchers:\n  longRuns: { perJobSeconds: { sync_hubspot: 120 } }\n');
    expect(loadConfig({ OPS_CONFIG: good }).watchers.longRuns.perJobSeconds).toEqual({ sync_hubspot: 120 });
  });

  it('a watchers threshold set in the file is kept, the others keep their defaults', () => {
    const file = writeTemp('yaml', 'watchers:\n  queueDepth: { max: 250 }\n');
    const config = loadConfig({ OPS_CONFIG: file });
    expect(config.watchers.queueDepth.max).toBe(250);
    expect(config.watchers.repeatedFailures.threshold).toBe(3);
  });

  it('a job that is not one of the spec ten is refused', () => {
    const file = writeTemp('yaml', 'jobs:\n  send_fax: { every: 5m }\n');
    expect(configErrorOf(() => loadConfig({ OPS_CONFIG: file })).message).toMatch(/jobs: .*"send_fax"/);
  });
});
