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
import { quietHoursSchema, timeZoneName } from './controls-model';
import { DEFAULT_TASK_QUEUE } from './definitions';

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24-hour)');
/** "30s", "5m", "1h". */
const durationText = z.string().regex(/^\d+(ms|s|m|h)$/, 'expected a duration like 30s, 5m or 1h');
const positiveInt = z.coerce.number().int().positive();
const port = z.coerce.number().int().min(1).max(65535);

const cadenceSchema = z
  .strictObject({ every: durationText.optional(), at: clockTime.optional() })
  .refine((c) => !(c.every && c.at), { message: 'give either every or at, not both' });
export type CadenceOverride = z.infer<typeof cadenceSchema>;

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
    })
    .prefault({}),
  dataDir: z.string().min(1).default('.data'),
  /** postgres://... ; without it the store is a SQLite file in dataDir. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  timezone: timeZoneName.default('America/Chicago'),
  /** Where a missing temporal CLI is cached or built (outside the work tree, shared by clones). */
  cacheDir: z.string().min(1).default(join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'personal-ops')),
  controls: z
    .strictObject({
      killSwitch: z.boolean().default(false),
      jobsEnabled: z.boolean().default(true),
      commsEnabled: z.boolean().default(true),
      writeEnabled: z.boolean().default(true),
      quietHours: quietHoursSchema
        .partial()
        .strict()
        .prefault({})
        .transform((q) => ({ enabled: false, start: '22:00', end: '07:00', ...q })),
    })
    .prefault({}),
  jobs: jobsSchema.prefault({}),
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
  OPS_DATA_DIR: 'dataDir',
  DATABASE_URL: 'databaseUrl',
  LOG_LEVEL: 'logLevel',
  OPS_TIMEZONE: 'timezone',
  OPS_CACHE_DIR: 'cacheDir',
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
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.') || '(root)';
      const from = envSource.get(key);
      return `  - ${key}${from ? ` (${from})` : ''}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function readConfigFile(path: string): unknown {
  const full = resolve(path);
  if (!existsSync(full)) throw new ConfigError(`Invalid configuration:\n  - OPS_CONFIG: file not found: ${full}`);
  try {
    // Inside the try: a directory (what Docker mounts when the host file is missing) or an
    // unreadable file must give the same one-line ConfigError, not a stack trace.
    const text = readFileSync(full, 'utf8');
    const data: unknown = full.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (data === null || data === undefined) return {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new Error('the top level must be a mapping');
    return data;
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  - OPS_CONFIG (${full}): ${(err as Error).message}`);
  }
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

export function sqlitePath(config: Config): string {
  return resolve(config.dataDir, 'ops.sqlite');
}
