/**
 * One schema over environment variables and an optional config file (OPS_CONFIG, YAML or JSON).
 * Defaults are the spec's values. An invalid config fails with one message naming every bad key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { JOB_NAMES, type JobName } from './jobs';
import { applyCadenceAliases } from './config-aliases';
import { clip, controlsSchemas, escapeUnprintable } from './controls-model';
import { DEFAULT_TASK_QUEUE } from './definitions';
import { E164 } from './phone';
import { intervalProblem } from './schedules/table';
import type { SourceName } from './sources';
import { proposalsConfigSchema } from './proposals-config';
import { watchersConfigSchema } from './watchers-config';

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24-hour)');
const positiveInt = z.coerce.number().int().positive();
const port = z.coerce.number().int().min(1).max(65535);
/** host:port to listen on; port 0 picks a free one (tests). */
const listenAddress = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8787').refine((a) => Number(a.split(':').pop()) <= 65535, 'port must be 0-65535');
/** A boolean from a file (true/false) or an env variable ("true"/"false", "1"/"0"). */
const flag = z.union([z.boolean(), z.stringbool()]);

/** A schedule interval: a duration Temporal can run, between MIN_INTERVAL_MS and MAX_INTERVAL_MS. */
const intervalText = z.string().superRefine((text, ctx) => {
  const problem = intervalProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const cadenceSchema = z
  .strictObject({ every: intervalText.optional(), at: clockTime.optional() })
  .refine((c) => !(c.every && c.at), { message: 'give either every or at, not both' });
export type CadenceOverride = z.infer<typeof cadenceSchema>;

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'expected an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));
const secret = z.string().trim().min(1, 'must not be empty');

/**
 * An API's documented limit. `average`: a sustained rate with bursts allowed (a token bucket,
 * e.g. Notion). `window`: at most `requests` in any `perSeconds` window (e.g. HubSpot's 100/10 s).
 */
const rateLimitSchema = z.strictObject({
  requests: positiveInt,
  perSeconds: z.coerce.number().positive(),
  shape: z.enum(['average', 'window']),
});
export type RateLimit = z.infer<typeof rateLimitSchema>;

/**
 * A source synced successfully less than this many minutes ago is skipped, with that reason, by
 * whichever job comes next (periodic_scan and the source's own job both sync it). 0: no minimum.
 */
const minSyncInterval = z.coerce.number().int().min(0).max(24 * 60);

const sourcesSchema = z.strictObject({
  notion: z
    .strictObject({
      token: secret.optional(),
      baseUrl: httpUrl.default('https://api.notion.com'),
      /** The multi-select property that marks a page canonical, and the tags that do. */
      tagsProperty: z.string().min(1).default('Tags'),
      tags: z.array(z.string().min(1)).min(1).default(['SOP', 'Canonical', 'Final']),
      rateLimit: rateLimitSchema.default({ requests: 3, perSeconds: 1, shape: 'average' }),
      minSyncIntervalMinutes: minSyncInterval.default(0),
    })
    .prefault({}),
  n8n: z
    .strictObject({
      baseUrl: httpUrl.optional(),
      apiKey: secret.optional(),
      /** Failed executions of one workflow in one sync that make an incident. */
      failureThreshold: positiveInt.default(3),
      pageSize: z.coerce.number().int().min(1).max(250).default(250),
      rateLimit: rateLimitSchema.default({ requests: 5, perSeconds: 1, shape: 'average' }),
      /** The spec's "Max 1 sync per 30 minutes": sync_n8n and periodic_scan share it. */
      minSyncIntervalMinutes: minSyncInterval.default(30),
    })
    .prefault({}),
  hubspot: z
    .strictObject({
      token: secret.optional(),
      baseUrl: httpUrl.default('https://api.hubapi.com'),
      /** HubSpot search's maximum: fewer requests under its own, tighter limit. */
      pageSize: z.coerce.number().int().min(1).max(200).default(200),
      rateLimit: rateLimitSchema.default({ requests: 100, perSeconds: 10, shape: 'window' }),
      /**
       * The CRM search endpoints' own limit, on top of rateLimit: 5 requests per second per
       * account. Every sync page is a search; the sync paces its pages to it (sources.ts).
       */
      searchRateLimit: rateLimitSchema.default({ requests: 5, perSeconds: 1, shape: 'window' }),
      minSyncIntervalMinutes: minSyncInterval.default(0),
    })
    .prefault({}),
  chat: z
    .strictObject({
      rateLimit: rateLimitSchema.default({ requests: 1, perSeconds: 1, shape: 'average' }),
      minSyncIntervalMinutes: minSyncInterval.default(0),
    })
    .prefault({}),
  /** One page is one activity: how long it may take before Temporal retries it elsewhere. */
  pageTimeoutMs: positiveInt.default(60_000),
  /** A run stops after this many pages (history stays small); the next run resumes the cursor. */
  maxPagesPerRun: positiveInt.default(1000),
  /** A run that makes no progress for this long loses its lock on the source. */
  leaseMinutes: positiveInt.default(10),
});

/** A phone number in E.164 form, e.g. +15551234567. */
export const e164 = z.string().trim().regex(E164, 'expected an E.164 phone number like +15551234567');

const commsSchema = z.strictObject({
  /** The operator's phone: SEV1 SMS and SEV0 and morning calls go there, once allowlisted. */
  operatorPhone: e164.optional(),
  salesmsg: z
    .strictObject({
      token: secret.optional(),
      baseUrl: httpUrl.default('https://api.salesmessage.com/pub/v2.1'),
      /** The Salesmsg number (inbox) messages are sent from; the account's default without it. */
      numberId: z.coerce.string().min(1).optional(),
    })
    .prefault({}),
  twilio: z
    .strictObject({
      accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'expected a Twilio account SID (AC + 32 hex digits)').optional(),
      authToken: secret.optional(),
      from: e164.optional(),
      baseUrl: httpUrl.default('https://api.twilio.com'),
    })
    // Half a Twilio setup would leave calls silently off: name what is missing instead.
    .superRefine((t, ctx) => {
      const keys = { accountSid: 'TWILIO_ACCOUNT_SID', authToken: 'TWILIO_AUTH_TOKEN', from: 'TWILIO_FROM_NUMBER' } as const;
      const names = Object.keys(keys) as (keyof typeof keys)[];
      if (!names.some((k) => t[k] !== undefined)) return;
      for (const key of names.filter((k) => t[k] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required with the other Twilio settings: set ${keys[key]}` });
      }
    })
    .prefault({}),
  /** One provider request; the send activity's own timeout is twice this. */
  sendTimeoutMs: positiveInt.default(15_000),
  digest: z
    .strictObject({
      maxBullets: positiveInt.default(5),
      /** The spec: a failed send is retried once, after 5 minutes. */
      retryDelayMs: positiveInt.default(5 * 60_000),
    })
    .prefault({}),
  morningCall: z
    .strictObject({
      maxSeconds: positiveInt.default(60),
      wordsPerMinute: positiveInt.default(150),
      /** The spec: a failed call is retried once, after 2 minutes, then sent as a text. */
      retryDelayMs: positiveInt.default(2 * 60_000),
      /** Mornings in a row whose call failed before an alert is raised. */
      failuresAlert: positiveInt.default(3),
    })
    .prefault({}),
});

const jobsSchema = z.strictObject(
  Object.fromEntries(JOB_NAMES.map((job) => [job, cadenceSchema.optional()])) as Record<
    JobName,
    z.ZodOptional<typeof cadenceSchema>
  >,
);

export const configSchema = z.strictObject({
  temporal: z
    .strictObject({
      address: z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port').default('localhost:7233'),
      namespace: z.string().min(1).default('default'),
      uiPort: port.default(8233),
      cliPath: z.string().min(1).optional(),
      taskQueue: z.string().min(1).default(DEFAULT_TASK_QUEUE),
      /** A prebuilt workflow bundle (npm run build); without it the worker bundles at start. */
      workflowBundle: z.string().min(1).optional(),
      /** npm start: how long Temporal may not answer before it is replaced, or npm start exits (75). */
      // At least one probe's 2 s (a slow probe must not restart a healthy server); at most an hour.
      lostAfterMs: positiveInt.min(2_000).max(3_600_000).default(30_000),
      /**
       * TLS to the frontend (src/temporal/connection.ts). On when `enabled`, when any file is
       * given (mTLS: certFile + keyFile; caFile for a private CA) or with an API key (Temporal Cloud).
       */
      tls: z
        .strictObject({
          enabled: flag.optional(),
          caFile: z.string().min(1).optional(),
          certFile: z.string().min(1).optional(),
          keyFile: z.string().min(1).optional(),
          serverName: z.string().min(1).optional(),
        })
        // Each problem is reported on the key that has it, so the message names its variable too.
        .superRefine((t, ctx) => {
          if (t.certFile !== undefined && t.keyFile === undefined) {
            ctx.addIssue({ code: 'custom', path: ['keyFile'], message: 'required with certFile (TEMPORAL_TLS_CERT): mTLS needs both, set TEMPORAL_TLS_KEY too' });
          }
          if (t.keyFile !== undefined && t.certFile === undefined) {
            ctx.addIssue({ code: 'custom', path: ['certFile'], message: 'required with keyFile (TEMPORAL_TLS_KEY): mTLS needs both, set TEMPORAL_TLS_CERT too' });
          }
          if (t.enabled === false && (t.caFile || t.certFile || t.keyFile)) {
            ctx.addIssue({ code: 'custom', path: ['enabled'], message: 'TLS files are set (TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY) but TLS is off (TEMPORAL_TLS=false)' });
          }
        })
        .prefault({}),
      /** Temporal Cloud API key (sent as a bearer token; implies TLS). */
      apiKey: secret.optional(),
    })
    .prefault({}),
  /** The HTTP API (src/http/): health, metrics, jobs, controls, webhooks. */
  http: z
    .strictObject({
      /** Loopback by default: exposing it is a deliberate choice (OPS_HTTP_ADDRESS=0.0.0.0:8787). */
      address: listenAddress.default('127.0.0.1:8787'),
      /** Bearer token for /v1/*; without it those routes are off (webhooks have their own secrets). */
      token: z.string().trim().min(16, 'must be at least 16 characters').max(512).optional(),
      /** Largest request body accepted; bigger ones get 413. */
      bodyLimitBytes: positiveInt.max(10 * 1024 * 1024).default(1024 * 1024),
      /** off: no HTTP server at all (e.g. a second worker host). */
      enabled: flag.default(true),
    })
    .prefault({}),
  webhooks: z
    .strictObject({
      hubspot: z
        .strictObject({
          /** The HubSpot app's client secret: the key of X-HubSpot-Signature-v3. Without it the route is off. */
          clientSecret: secret.optional(),
          /** HubSpot's rule: a request whose timestamp is older than 5 minutes is refused. */
          maxAgeSeconds: positiveInt.max(3600).default(300),
          /** Contact ids in one webhook request (HubSpot batches up to 100 events). */
          maxEvents: positiveInt.max(1000).default(100),
        })
        .prefault({}),
      telegram: z
        .strictObject({
          /** setWebhook's secret_token, echoed in X-Telegram-Bot-Api-Secret-Token. Without it the route is off. */
          secretToken: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'expected 1-256 characters A-Z, a-z, 0-9, _ or -').optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  dataDir: z.string().min(1).default('.data'),
  /** postgres://... ; without it the store is a SQLite file in dataDir. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  timezone: controlsSchemas().timeZoneName.default('America/Chicago'),
  /** Where a missing temporal CLI is cached or built (outside the work tree, shared by clones). */
  cacheDir: z.string().min(1).default(join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'personal-ops')),
  controls: z
    .strictObject({
      killSwitch: z.boolean().default(false),
      jobsEnabled: z.boolean().default(true),
      commsEnabled: z.boolean().default(true),
      writeEnabled: z.boolean().default(true),
      quietHours: controlsSchemas().quietHours
        .partial()
        .strict()
        .prefault({})
        .transform((q) => ({ enabled: false, start: '22:00', end: '07:00', ...q })),
    })
    .prefault({}),
  jobs: jobsSchema.prefault({}),
  sources: sourcesSchema.prefault({}),
  /** The operator's Telegram bot: the chat-log source reads it, and text messages go out through it. */
  telegram: z
    .strictObject({
      botToken: secret.optional(),
      apiBase: httpUrl.default('https://api.telegram.org'),
      /** The operator's chat with the bot; only its messages are kept. */
      chatId: z.coerce.string().regex(/^-?\d+$/, 'expected a numeric chat id').optional(),
    })
    .prefault({}),
  comms: commsSchema.prefault({}),
  /** run_watchers' and the production monitors' thresholds (src/watchers-config.ts). */
  watchers: watchersConfigSchema.prefault({}),
  /** periodic_scan's patterns and proposals (src/proposals-config.ts). */
  proposals: proposalsConfigSchema.prefault({}),
  retry: z
    .strictObject({
      initialDelayMs: positiveInt.default(2000),
      backoffMultiplier: z.coerce.number().min(1).default(2),
      maxAttempts: positiveInt.default(5),
      maxDelayMs: positiveInt.default(60_000),
    })
    .prefault({}),
  limits: z
    .strictObject({
      consecutiveFailuresAlert: positiveInt.default(3),
      healthAlertEveryMinutes: positiveInt.default(60),
      retryQueueBatch: positiveInt.default(10),
      retryQueueMaxAttempts: positiveInt.default(5),
      activityTimeoutMs: positiveInt.default(5 * 60_000),
      heartbeatTimeoutMs: positiveInt.default(10_000),
      minFreeDiskMb: positiveInt.default(500),
    })
    .prefault({}),
  retention: z
    .strictObject({
      auditDays: positiveInt.default(365),
      deadLetterDays: positiveInt.default(30),
      incidentDays: positiveInt.default(90),
    })
    .prefault({}),
})
  // Quiet hours follow the configured time zone unless they name their own.
  .transform((c) => ({
    ...c,
    controls: { ...c.controls, quietHours: { timeZone: c.timezone, ...c.controls.quietHours } },
  }));

export type Config = z.infer<typeof configSchema>;

/** Environment variables and the config key each one sets. */
export const ENV_KEYS = {
  TEMPORAL_ADDRESS: 'temporal.address',
  TEMPORAL_NAMESPACE: 'temporal.namespace',
  TEMPORAL_UI_PORT: 'temporal.uiPort',
  TEMPORAL_CLI_PATH: 'temporal.cliPath',
  TEMPORAL_TASK_QUEUE: 'temporal.taskQueue',
  OPS_WORKFLOW_BUNDLE: 'temporal.workflowBundle',
  TEMPORAL_LOST_AFTER_MS: 'temporal.lostAfterMs',
  TEMPORAL_TLS: 'temporal.tls.enabled',
  TEMPORAL_TLS_CA: 'temporal.tls.caFile',
  TEMPORAL_TLS_CERT: 'temporal.tls.certFile',
  TEMPORAL_TLS_KEY: 'temporal.tls.keyFile',
  TEMPORAL_TLS_SERVER_NAME: 'temporal.tls.serverName',
  TEMPORAL_API_KEY: 'temporal.apiKey',
  OPS_HTTP_ADDRESS: 'http.address',
  OPS_API_TOKEN: 'http.token',
  OPS_HTTP: 'http.enabled',
  HUBSPOT_CLIENT_SECRET: 'webhooks.hubspot.clientSecret',
  TELEGRAM_WEBHOOK_SECRET: 'webhooks.telegram.secretToken',
  OPS_DATA_DIR: 'dataDir',
  DATABASE_URL: 'databaseUrl',
  LOG_LEVEL: 'logLevel',
  OPS_TIMEZONE: 'timezone',
  OPS_CACHE_DIR: 'cacheDir',
  NOTION_TOKEN: 'sources.notion.token',
  NOTION_BASE_URL: 'sources.notion.baseUrl',
  N8N_BASE_URL: 'sources.n8n.baseUrl',
  N8N_API_KEY: 'sources.n8n.apiKey',
  HUBSPOT_TOKEN: 'sources.hubspot.token',
  HUBSPOT_BASE_URL: 'sources.hubspot.baseUrl',
  TELEGRAM_BOT_TOKEN: 'telegram.botToken',
  TELEGRAM_API_BASE: 'telegram.apiBase',
  TELEGRAM_CHAT_ID: 'telegram.chatId',
  OPS_OPERATOR_PHONE: 'comms.operatorPhone',
  SALESMSG_TOKEN: 'comms.salesmsg.token',
  SALESMSG_BASE_URL: 'comms.salesmsg.baseUrl',
  SALESMSG_NUMBER_ID: 'comms.salesmsg.numberId',
  TWILIO_ACCOUNT_SID: 'comms.twilio.accountSid',
  TWILIO_AUTH_TOKEN: 'comms.twilio.authToken',
  TWILIO_FROM_NUMBER: 'comms.twilio.from',
  TWILIO_BASE_URL: 'comms.twilio.baseUrl',
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const fromFile = env.OPS_CONFIG ? readConfigFile(env.OPS_CONFIG) : {};
  const merged = structuredClone(fromFile) as Record<string, unknown>;
  const envSource = new Map<string, string>();
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(merged, key, value);
    envSource.set(key, name);
  }
  // The spec's own cadence keys become ours first; a bad or conflicting one is reported with the rest.
  const aliasIssues = applyCadenceAliases(merged);
  const parsed = configSchema.safeParse(merged);
  const schemaIssues = parsed.success ? [] : parsed.error.issues.map((issue) => ({ key: issue.path.map(String).join('.') || '(root)', message: issue.message }));
  const issues = [...aliasIssues, ...schemaIssues];
  if (!parsed.success || issues.length) {
    const lines = issues.map(({ key, message }) => {
      const from = envSource.get(key);
      // One line per issue whatever the file holds: a key or value with a newline cannot forge one.
      return `  - ${oneLine(key)}${from ? ` (${from})` : ''}: ${oneLine(message)}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function readConfigFile(path: string): unknown {
  const full = resolve(path);
  if (!existsSync(full)) throw new ConfigError(`Invalid configuration:\n  - OPS_CONFIG: file not found: ${oneLine(full)}`);
  try {
    // Inside the try: a directory (what Docker mounts when the host file is missing) or an
    // unreadable file must give the same one-line ConfigError, not a stack trace.
    const text = readFileSync(full, 'utf8');
    const data: unknown = full.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (data === null || data === undefined) return {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new Error('the top level must be a mapping');
    return data;
  } catch (err) {
    // A YAML error comes with a multi-line code frame; its first line says what and where.
    const first = ((err as Error).message.split('\n')[0] ?? '').trim();
    throw new ConfigError(`Invalid configuration:\n  - OPS_CONFIG (${oneLine(full)}): ${oneLine(first, 300)}`);
  }
}

/** Text from a file or a variable inside a message: unprintable characters escaped, length capped. */
function oneLine(text: string, max = 500): string {
  return escapeUnprintable(clip(text, max));
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** The settings a source still lacks (env variable names), or undefined when it is configured. */
export function missingSourceSettings(config: Config, source: SourceName): string | undefined {
  const needs: Record<SourceName, [string, unknown][]> = {
    notion: [['NOTION_TOKEN', config.sources.notion.token]],
    n8n: [
      ['N8N_BASE_URL', config.sources.n8n.baseUrl],
      ['N8N_API_KEY', config.sources.n8n.apiKey],
    ],
    hubspot: [['HUBSPOT_TOKEN', config.sources.hubspot.token]],
    // Only the operator's own messages are kept, so the chat must be named.
    chat: [
      ['TELEGRAM_BOT_TOKEN', config.telegram.botToken],
      ['TELEGRAM_CHAT_ID', config.telegram.chatId],
    ],
  };
  const missing = needs[source].filter(([, value]) => value === undefined).map(([name]) => name);
  return missing.length ? missing.join(' and ') : undefined;
}

export function sqlitePath(config: Config): string {
  return resolve(config.dataDir, 'ops.sqlite');
}

/** Every credential in the config: none of them may appear in a message we send. */
export function configSecrets(config: Config): string[] {
  const { sources, telegram, comms } = config;
  return [
    sources.notion.token,
    sources.n8n.apiKey,
    sources.hubspot.token,
    telegram.botToken,
    comms.salesmsg.token,
    comms.twilio.authToken,
    comms.twilio.accountSid,
    config.temporal.apiKey,
    config.http.token,
    config.webhooks.hubspot.clientSecret,
    config.webhooks.telegram.secretToken,
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
}
