/**
 * Property-based tests of the configuration: whatever the config file (YAML or JSON) and the
 * environment hold, loading ends in a valid config or in a ConfigError that names each bad key
 * (and the variable it came from), never in a raw exception.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { CADENCE_ALIASES } from '../../src/config-aliases';
import { ConfigError, configSchema, ENV_KEYS, loadConfig, type Config } from '../../src/config';
import { JOB_NAMES } from '../../src/jobs';
import { durationMs } from '../../src/schedules/table';

const dir = mkdtempSync(join(tmpdir(), 'ops-config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function writeConfig(ext: 'yaml' | 'json', text: string): string {
  const path = join(dir, `config-${++files}.${ext}`);
  writeFileSync(path, text);
  return path;
}

/** Every key path of the schema, read from a parsed default config (leaves and objects). */
function keyPaths(node: unknown, prefix: string[] = []): string[][] {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return [prefix];
  return [prefix, ...Object.entries(node).flatMap(([key, value]) => keyPaths(value, [...prefix, key]))].filter((p) => p.length);
}
const KNOWN_PATHS = [
  ...keyPaths(configSchema.parse({})),
  ...JOB_NAMES.flatMap((job) => [['jobs', job], ['jobs', job, 'every'], ['jobs', job, 'at']]),
  // The spec's cadence keys, read as aliases of jobs.<job>.every / at.
  ...CADENCE_ALIASES.map((alias) => [...alias.path]),
  ['retry_queue'],
  ['databaseUrl'],
  ['sources', 'notion', 'token'],
  ['comms', 'operatorPhone'],
  ['comms', 'twilio', 'accountSid'],
  ['telegram', 'chatId'],
];

/** Values a hand-written or hostile file may hold: near-valid text, numbers at the edges, wrong types. */
const hostileScalar = fc.oneof(
  fc.constantFrom('0s', '1ms', '9s', '10s', '30m', '169h', '99999999999999999999h', '08:00', '24:00', '7:00', 'UTC', 'Mars/Base'),
  fc.constantFrom('localhost:7233', 'host:99999', 'postgres://x', 'http://x', 'https://api.example.com/', '+15551234567', '-100123'),
  fc.constantFrom('', ' ', 'true', 'null', '__proto__', 'constructor', 'x'.repeat(5000), '\u001b[31m', 'a\nb'),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.boolean(),
  fc.constant(null),
  fc.string(),
);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileScalar },
  { weight: 1, arbitrary: fc.array(hostileScalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('every', 'at', 'token', '__proto__')), hostileScalar, { maxKeys: 3 }) },
);

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  // defineProperty, so a key named __proto__ is data, as a YAML or JSON parser makes it.
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

const configObject = fc
  .array(fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...KNOWN_PATHS) }, { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }) }), hostileValue), {
    maxLength: 6,
  })
  .map((entries) => {
    const root: Record<string, unknown> = {};
    for (const [path, value] of entries) setPath(root, path, value);
    return root;
  });

/** Loads, and checks the outcome is a valid config or a ConfigError naming keys; returns which. */
function outcome(load: () => Config): 'valid' | 'refused' {
  let config: Config;
  try {
    config = load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`not a ConfigError: ${(err as Error)?.stack ?? String(err)}`, { cause: err });
    const [first, ...lines] = err.message.split('\n');
    expect(first).toBe('Invalid configuration:');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^ {2}- \S.*: \S/);
    return 'refused';
  }
  // What loads is a config the schema accepts again as it is.
  expect(configSchema.safeParse(config).success).toBe(true);
  return 'valid';
}

const RUNS = 400;

describe('the config file, fuzzed', () => {
  it('YAML and JSON files of known keys with hostile values: a valid config or a ConfigError naming keys', () => {
    const seen = { valid: 0, refused: 0 };
    fc.assert(
      fc.property(configObject, fc.constantFrom('yaml', 'json'), (object, ext) => {
        const text = ext === 'json' ? JSON.stringify(object) : toYaml(object);
        seen[outcome(() => loadConfig({ OPS_CONFIG: writeConfig(ext, text) }))]++;
      }),
      { numRuns: RUNS },
    );
    // Both ends were reached: the generator is not only producing garbage.
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('a bad value names its own key', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JOB_NAMES), fc.constantFrom('0s', '1ms', '5s', '169h', '10500ms', 'soon'), (job, every) => {
        const path = writeConfig('yaml', `jobs:\n  ${job}:\n    every: ${every}\n`);
        expect(() => loadConfig({ OPS_CONFIG: path })).toThrow(new RegExp(`^ {2}- jobs\\.${job}\\.every: `, 'm'));
      }),
      { numRuns: 60 },
    );
  });

  it('an alias and our key for one job: loads only when they name the same cadence, and then that one', () => {
    const minutes = fc.oneof(fc.integer({ min: -5, max: 20_000 }), fc.constantFrom('30', '0', 'x', 1.5, null));
    fc.assert(
      fc.property(fc.option(fc.constantFrom('10m', '30m', '1800s', '5m', '0s'), { nil: undefined }), minutes, (every, interval) => {
        const jobs = { periodic_scan: { ...(every === undefined ? {} : { every }), interval_minutes: interval } };
        const load = () => loadConfig({ OPS_CONFIG: writeConfig('json', JSON.stringify({ jobs })) });
        if (outcome(load) === 'refused') return;
        const cadence = load().jobs.periodic_scan;
        expect(cadence).toEqual({ every: every ?? `${Number(interval)}m` });
        if (every !== undefined) expect(Number(interval) * 60_000).toBe(durationMs(every));
      }),
      { numRuns: 200 },
    );
  });

  it('any text at all as the file: a config or a ConfigError', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom('[1, 2]', '42', '"text"', 'a: &x [*x]', '{', ': :', '---\n---\n', 'jobs: !!binary aGk=', '__proto__: {jobs: 1}'),
    );
    fc.assert(
      fc.property(text, fc.constantFrom('yaml', 'json'), (body, ext) => {
        outcome(() => loadConfig({ OPS_CONFIG: writeConfig(ext, body) }));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the environment, fuzzed', () => {
  const names = Object.keys(ENV_KEYS) as (keyof typeof ENV_KEYS)[];
  const envValue = fc.oneof(
    fc.string(),
    fc.constantFrom('0', '-1', '65536', '1e3', 'abc', 'localhost', 'localhost:7233', 'postgres://u@h/db', 'https://x.example', '+15551234567', 'UTC', 'debug', 'x'.repeat(3000)),
  );

  it('any value in any variable: a valid config or a ConfigError naming the key and the variable', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), envValue, { maxKeys: 5 }), fc.dictionary(fc.string({ maxLength: 10 }), fc.string(), { maxKeys: 3 }), (known, other) => {
        const env = { ...other, ...known, OPS_CONFIG: undefined };
        try {
          outcome(() => loadConfig(env));
        } catch (err) {
          throw new Error(`env ${JSON.stringify(env)}: ${(err as Error).message}`, { cause: err });
        }
        // Only variables set the config: a refusal names one, so the operator knows where to look.
        try {
          loadConfig(env);
        } catch (err) {
          const message = (err as ConfigError).message;
          expect(names.some((name) => message.includes(name))).toBe(true);
          for (const name of names.filter((n) => message.includes(`(${n})`))) expect(known[name]).toBeDefined();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('the file and the environment together', () => {
    fc.assert(
      fc.property(configObject, fc.dictionary(fc.constantFrom(...names), envValue, { maxKeys: 3 }), (object, known) => {
        outcome(() => loadConfig({ ...known, OPS_CONFIG: writeConfig('json', JSON.stringify(object)) }));
      }),
      { numRuns: RUNS },
    );
  });
});
