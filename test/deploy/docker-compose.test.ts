/**
 * Docker does not run where the tests run, so the production topology is checked by reading it:
 * docker-compose.yml, the Dockerfile and the build script must agree with src/config.ts and with
 * each other, or `docker compose up` would fail only on the day someone deploys.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefaultLogger } from '@temporalio/worker';
import { parse as parseYaml } from 'yaml';
import { ENV_KEYS, loadConfig } from '../../src/config';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../src/definitions';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../src/temporal/dev-server';
import { TEMPORAL_SERVER_VERSION } from '../../src/temporal/server-binary';
import { WORKFLOW_BUNDLE_FILE, bundleWorkflows } from '../../scripts/bundle-workflows';

const root = join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

interface Service {
  image?: string;
  build?: string | { context: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: string[];
  ports?: PortSpec[];
  network_mode?: string;
  healthcheck?: { test: string | string[] };
  restart?: string;
  entrypoint?: string | string[];
  command?: string | string[];
}
/** Compose's short syntax ("[IP:][HOST:]CONTAINER[/PROTO]", or a bare number) or its long syntax. */
type PortSpec = string | number | { target: number | string; published?: number | string; host_ip?: string; protocol?: string };

interface PublishedPort {
  spec: string;
  /** The host interface the port is published on; undefined means every interface. */
  hostIp: string | undefined;
}

/** The host interface of each published port, as `docker compose` reads the entry. */
function publishedPorts(svc: Service): PublishedPort[] {
  return (svc.ports ?? []).map((entry) => {
    if (typeof entry === 'object') return { spec: JSON.stringify(entry), hostIp: entry.host_ip ? interpolate(entry.host_ip) : undefined };
    const spec = interpolate(String(entry)).split('/')[0]!;
    // "[::1]:8233:8080": an IPv6 address in brackets.
    const bracketed = /^\[([^\]]+)\]:/.exec(spec);
    if (bracketed) return { spec, hostIp: bracketed[1] };
    const parts = spec.split(':');
    // "8080" and "8233:8080" publish on every interface; "IP:8233:8080" and "IP::8080" on IP.
    return { spec, hostIp: parts.length >= 3 && parts[0] !== '' ? parts[0] : undefined };
  });
}

const isLoopback = (ip: string | undefined): boolean => ip !== undefined && (/^127\.\d+\.\d+\.\d+$/.test(ip) || ip === '::1');

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(read('docker-compose.yml')) as Compose;
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

/** Compose interpolation as `docker compose` does it with an empty shell environment. */
function interpolate(text: string): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name?: string, op?: string, dflt?: string) => {
    if (whole === '$$') return '$';
    if (op === undefined) throw new Error(`\${${name}} has no default: the file must work with no .env`);
    return dflt ?? '';
  });
}

function environment(svc: Service): Record<string, string> {
  const raw = svc.environment ?? {};
  const pairs: [string, string][] = Array.isArray(raw)
    ? raw.map((entry) => {
        const at = entry.indexOf('=');
        return [entry.slice(0, at), entry.slice(at + 1)];
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(v)]));
}

function dependsOn(svc: Service): Record<string, string | undefined> {
  const raw = svc.depends_on ?? [];
  return Array.isArray(raw)
    ? Object.fromEntries(raw.map((name) => [name, undefined]))
    : Object.fromEntries(Object.entries(raw).map(([name, v]) => [name, v.condition]));
}

/** "host:container[:mode]" bind or named-volume mounts, as [source, target]. */
function mounts(svc: Service): [string, string][] {
  return (svc.volumes ?? []).map((spec) => {
    const [source, target] = interpolate(spec).split(':');
    return [source!, target!];
  });
}

/** Host path of a file the container sees at `containerPath`, through a bind mount. */
function hostPathOf(svc: Service, containerPath: string): string | undefined {
  for (const [source, target] of mounts(svc)) {
    if (!source.startsWith('.') && !source.startsWith('/')) continue;
    if (containerPath === target) return join(root, source);
    if (containerPath.startsWith(`${target}/`)) return join(root, source, containerPath.slice(target.length + 1));
  }
  return undefined;
}

interface Instruction {
  op: string;
  args: string;
}
/** Dockerfile instructions per stage (continuation lines joined, comments dropped). */
function dockerStages(text: string): Instruction[][] {
  const logical = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [op, ...rest] = line.split(/\s+/);
    const instruction = { op: op!.toUpperCase(), args: rest.join(' ') };
    if (instruction.op === 'FROM') stages.push([]);
    stages[stages.length - 1]!.push(instruction);
  }
  return stages;
}

const workerEnv = environment(service('worker'));
const LOADCONFIG_READS = new Set<string>([...Object.keys(ENV_KEYS), 'OPS_CONFIG']);
const stages = dockerStages(read('Dockerfile'));
const finalStage = stages[stages.length - 1]!;
const finalWorkdir = finalStage.filter((i) => i.op === 'WORKDIR').at(-1)?.args;

describe('docker-compose.yml', () => {
  it('has the four services of the production topology', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 'worker']),
    );
  });

  it('publishes every port on loopback only: the Web UI and the frontend have no login', () => {
    const exposed = Object.entries(compose.services).flatMap(([name, svc]) =>
      publishedPorts(svc)
        .filter((port) => !isLoopback(port.hostIp))
        .map((port) => `${name}: ${port.spec} (${port.hostIp ?? 'every interface'})`),
    );
    expect(exposed).toEqual([]);
    // Host networking would put every listening port on every interface, whatever ports say.
    const hostNetworked = Object.entries(compose.services).filter(([, svc]) => svc.network_mode === 'host').map(([name]) => name);
    expect(hostNetworked).toEqual([]);
  });

  it('reads port bindings the way docker compose does', () => {
    const hosts = (ports: PortSpec[]) => publishedPorts({ ports }).map((p) => p.hostIp);
    expect(hosts(['8233:8080', 8080, '8080/tcp', '0.0.0.0:8233:8080', '127.0.0.1::8080'])).toEqual([undefined, undefined, undefined, '0.0.0.0', '127.0.0.1']);
    expect(hosts(['[::1]:8233:8080', '127.0.0.1:7233:7233/udp', { target: 8080, published: 8233 }, { target: 8080, host_ip: '127.0.0.1' }])).toEqual([
      '::1',
      '127.0.0.1',
      undefined,
      '127.0.0.1',
    ]);
    expect(['127.0.0.1', '127.0.1.1', '::1'].every(isLoopback)).toBe(true);
    expect([undefined, '0.0.0.0', '::', '192.168.1.5', 'localhost'].some(isLoopback)).toBe(false);
  });

  it('builds the worker from this repository', () => {
    const build = service('worker').build;
    expect(typeof build === 'string' ? build : build?.context).toBe('.');
    expect(service('worker').restart).toBe('unless-stopped');
  });

  it('sets only variables the config reads (plus NODE_ENV)', () => {
    const unknown = Object.keys(workerEnv).filter((name) => !LOADCONFIG_READS.has(name) && name !== 'NODE_ENV');
    expect(unknown).toEqual([]);
  });

  it("gives the worker an environment that loadConfig accepts, with the mounted config file", () => {
    const configFile = hostPathOf(service('worker'), workerEnv.OPS_CONFIG!);
    expect(configFile, 'OPS_CONFIG must point into a bind mount').toBeDefined();
    expect(existsSync(configFile!), `${configFile} must exist, or Docker mounts a directory there`).toBe(true);
    expect(statSync(configFile!).isFile()).toBe(true);

    const config = loadConfig({ ...workerEnv, OPS_CONFIG: configFile });
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.temporal.namespace).toBe('default');
    expect(config.dataDir).toBe('/data');
    expect(config.databaseUrl).toMatch(/^postgres:\/\/.+@postgresql:5432\/personal_ops$/);
    expect(config.temporal.workflowBundle).toBe('/app/dist/workflow-bundle.js');
    expect(config.logLevel).toBe('info');
  });

  it('ships a config example whose commented keys are valid when uncommented', () => {
    const text = read('deploy/config.yaml');
    const lines = text.split('\n');
    const example = lines
      .slice(lines.indexOf('#') + 1)
      .filter((line) => line.startsWith('# '))
      .map((line) => line.slice(2));
    expect(example.length).toBeGreaterThan(5);
    const dir = mkdtempSync(join(tmpdir(), 'ops-compose-test-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, example.join('\n'));
      const config = loadConfig({ OPS_CONFIG: file });
      expect(config.jobs.daily_digest).toEqual({ at: '08:00' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("probes the worker's GET /readyz with Node's fetch (no curl in the image), on the port it listens on", () => {
    const test = service('worker').healthcheck?.test;
    expect(Array.isArray(test)).toBe(true);
    const [kind, command, flag, script] = test as string[];
    expect([kind, command, flag]).toEqual(['CMD', 'node', '-e']);
    const port = workerEnv.OPS_HTTP_ADDRESS!.split(':').pop();
    expect(script).toContain(`fetch('http://127.0.0.1:${port}/readyz'`);
    expect(script).toMatch(/process\.exit\(r\.ok \? 0 : 1\)/);
    // The probe is valid JavaScript.
    expect(() => new Function(script!)).not.toThrow();
    expect(loadConfig({ ...workerEnv, OPS_CONFIG: undefined }).http.address).toBe(workerEnv.OPS_HTTP_ADDRESS);
    // Listening on every interface of the container, published on the host's loopback only.
    expect(publishedPorts(service('worker')).map((p) => p.spec)).toEqual([`127.0.0.1:${port}:${port}`]);
  });

  it('keeps the worker data dir on a named volume', () => {
    const dataMount = mounts(service('worker')).find(([, target]) => target === workerEnv.OPS_DATA_DIR);
    expect(dataMount, `a volume mounted at ${workerEnv.OPS_DATA_DIR}`).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataMount![0]);
  });

  describe('the worker store is the PostgreSQL service', () => {
    const url = new URL(workerEnv.DATABASE_URL!);
    const pg = environment(service('postgresql'));

    it('DATABASE_URL points at the postgresql service with its credentials', () => {
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe('postgresql');
      expect(compose.services[url.hostname]).toBeDefined();
      expect(url.port).toBe('5432');
      expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD);
    });

    it('its database is created by the init SQL mounted into docker-entrypoint-initdb.d', () => {
      const database = url.pathname.slice(1);
      const init = mounts(service('postgresql')).filter(([, target]) =>
        target.startsWith('/docker-entrypoint-initdb.d/'),
      );
      expect(init.length).toBeGreaterThan(0);
      const sql = init.map(([source]) => readFileSync(join(root, source), 'utf8')).join('\n');
      expect(sql).toMatch(new RegExp(`CREATE DATABASE\\s+"?${database}"?\\s*;`, 'i'));
    });

    it('PostgreSQL keeps its data on a named volume and has a healthcheck', () => {
      const data = mounts(service('postgresql')).find(([, target]) => target === '/var/lib/postgresql/data');
      expect(Object.keys(compose.volumes ?? {})).toContain(data?.[0]);
      expect(service('postgresql').healthcheck?.test).toBeDefined();
      expect(service('postgresql').image).toMatch(/^postgres:16/);
    });

    it('the worker waits for PostgreSQL to be healthy', () => {
      expect(dependsOn(service('worker')).postgresql).toBe('service_healthy');
    });
  });

  describe('Temporal', () => {
    const temporal = environment(service('temporal'));
    const pg = environment(service('postgresql'));

    it('TEMPORAL_ADDRESS points at the temporal service on its frontend port', () => {
      const [host, port] = workerEnv.TEMPORAL_ADDRESS!.split(':');
      expect(host).toBe('temporal');
      expect(compose.services[host!]?.image).toMatch(/^temporalio\/server:/);
      expect(port).toBe('7233');
      expect(dependsOn(service('worker'))).toHaveProperty('temporal');
    });

    it('the temporal service stores its data in the same PostgreSQL, in databases of its own', () => {
      expect(temporal.TEMPORAL_DB_HOST).toBe('postgresql');
      expect(temporal.TEMPORAL_DB_PORT).toBe(new URL(workerEnv.DATABASE_URL!).port);
      expect(temporal.TEMPORAL_DB_USER).toBe(pg.POSTGRES_USER);
      expect(temporal.TEMPORAL_DB_PASSWORD).toBe(pg.POSTGRES_PASSWORD);
      const own = [temporal.TEMPORAL_DB_NAME, temporal.TEMPORAL_VISIBILITY_DB_NAME];
      expect(own).toEqual(['temporal', 'temporal_visibility']);
      expect(own).not.toContain(new URL(workerEnv.DATABASE_URL!).pathname.slice(1));
      expect(dependsOn(service('temporal')).postgresql).toBe('service_healthy');
    });

    it('runs deploy/temporal-server.yaml, the config npm run test:production runs, on PostgreSQL with SQL visibility', () => {
      expect(service('temporal').volumes).toContain('./deploy/temporal-server.yaml:/etc/temporal/config/personal-ops.yaml:ro');
      const entrypoint = [service('temporal').entrypoint ?? []].flat().join(' ');
      expect(entrypoint).toMatch(/exec temporal-server --root \/etc\/temporal --config config --env personal-ops start/);
      // Its own ports and the broadcast address are set; the server reads the rest with defaults.
      expect(temporal.TEMPORAL_BIND_ON_IP).toBe('0.0.0.0');
      expect(entrypoint).toContain('TEMPORAL_BROADCAST_ADDRESS=');
      const text = read('deploy/temporal-server.yaml');
      expect(text.slice(0, 1024)).toMatch(/^#.*enable-template/m);
      expect(text.match(/pluginName: postgres12/g)).toHaveLength(2);
      expect(text).toMatch(/visibilityStore: postgres-visibility/);
    });

    it('sets only variables deploy/temporal-server.yaml reads, and the file gives every one it reads a default', () => {
      const text = read('deploy/temporal-server.yaml');
      const reads = [...text.matchAll(/env "([A-Z0-9_]+)"( \| default)?/g)];
      const withoutDefault = reads.filter((m) => !m[2]).map((m) => m[1]);
      expect(withoutDefault).toEqual([]);
      const read_ = new Set(reads.map((m) => m[1]));
      expect(Object.keys(temporal).filter((name) => !read_.has(name))).toEqual([]);
      // The test sets these to run on this machine: they must be the file's own variables too.
      const testFile = read('scripts/production/temporal-server.ts');
      const testSets = [...testFile.matchAll(/\b(TEMPORAL_[A-Z_]+(?:PORT|HOST|USER|PASSWORD|NAME|IP|ADDRESS|FILE|LEVEL))\b/g)].map((m) => m[1]!);
      expect(testSets.length).toBeGreaterThan(10);
      expect(testSets.filter((name) => !read_.has(name) && !['TEMPORAL_ADDRESS'].includes(name))).toEqual([]);
    });

    it('is the server version npm run test:production runs, for the server and the setup containers', () => {
      const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
      expect(interpolate(service('temporal').image!)).toBe(`temporalio/server:${version}`);
      expect(interpolate(service('temporal-schema').image!)).toBe(`temporalio/admin-tools:${version}`);
      expect(interpolate(service('temporal-namespace').image!)).toBe(`temporalio/admin-tools:${version}`);
    });

    it('makes the schemas with deploy/temporal-setup.sh before the server starts, with the same database settings', () => {
      const schema = service('temporal-schema');
      expect(schema.volumes).toContain('./deploy/temporal-setup.sh:/etc/personal-ops/temporal-setup.sh:ro');
      expect([schema.entrypoint, schema.command].flat().join(' ')).toBe('sh /etc/personal-ops/temporal-setup.sh schema');
      expect(schema.restart).toBe('no');
      const schemaEnv = environment(schema);
      for (const [name, value] of Object.entries(schemaEnv)) expect(temporal[name], name).toBe(value);
      expect(Object.keys(schemaEnv).sort()).toEqual(Object.keys(temporal).filter((k) => k.startsWith('TEMPORAL_DB_') || k.endsWith('_DB_NAME')).sort());
      expect(dependsOn(schema).postgresql).toBe('service_healthy');
      expect(dependsOn(service('temporal'))['temporal-schema']).toBe('service_completed_successfully');
    });

    it('registers the namespace and our search attributes with the same script once the server is healthy', () => {
      const ns = service('temporal-namespace');
      expect(ns.volumes).toContain('./deploy/temporal-setup.sh:/etc/personal-ops/temporal-setup.sh:ro');
      expect([ns.entrypoint, ns.command].flat().join(' ')).toBe('sh /etc/personal-ops/temporal-setup.sh namespace');
      expect(environment(ns).TEMPORAL_ADDRESS).toBe(workerEnv.TEMPORAL_ADDRESS);
      expect(environment(ns).TEMPORAL_NAMESPACE).toBe(workerEnv.TEMPORAL_NAMESPACE);
      expect(dependsOn(ns).temporal).toBe('service_healthy');
      expect(dependsOn(service('worker'))['temporal-namespace']).toBe('service_completed_successfully');
      const script = read('deploy/temporal-setup.sh');
      const declared = /^SEARCH_ATTRIBUTES="([^"]*)"$/m.exec(script)?.[1]?.split(' ') ?? [];
      expect(declared.map((pair) => pair.toLowerCase())).toEqual(CUSTOM_SEARCH_ATTRIBUTES.map((key) => `${key.name}:${key.type}`.toLowerCase()));
    });

    it('reads in the setup script only variables it is given or has a default for', () => {
      const script = read('deploy/temporal-setup.sh');
      const internal = new Set(['SQL_TOOL', 'CLI', 'SEARCH_ATTRIBUTES']);
      const bare = [...script.matchAll(/\$\{?([A-Z][A-Z0-9_]*)(:-)?/g)].filter((m) => !m[2] && !internal.has(m[1]!)).map((m) => m[1]);
      expect(bare).toEqual([]);
    });

    it('its healthcheck probes the address the worker uses, and the worker waits for it', () => {
      const test = service('temporal').healthcheck?.test;
      expect((Array.isArray(test) ? test.join(' ') : test) ?? '').toContain(workerEnv.TEMPORAL_ADDRESS);
      expect(dependsOn(service('worker')).temporal).toBe('service_healthy');
    });

    it('the Web UI points at the temporal service and is published on the dev server UI port, on loopback', () => {
      const ui = service('temporal-ui');
      expect(ui.image).toMatch(/^temporalio\/ui:/);
      expect(environment(ui).TEMPORAL_ADDRESS).toBe(workerEnv.TEMPORAL_ADDRESS);
      expect(ui.ports).toContain(`127.0.0.1:${loadConfig({}).temporal.uiPort}:8080`);
    });

    it('gets the dynamic config the dev server gets: one partition per task queue, so API limits hold', () => {
      // The server config's default path, relative to the server's root (/etc/temporal).
      const path = /env "TEMPORAL_DYNAMIC_CONFIG_FILE" \| default "([^"]+)"/.exec(read('deploy/temporal-server.yaml'))?.[1];
      expect(temporal.TEMPORAL_DYNAMIC_CONFIG_FILE).toBeUndefined();
      expect(service('temporal').volumes).toContain(`./deploy/temporal-dynamicconfig.yaml:/etc/temporal/${path}:ro`);
      const file = parseYaml(read('deploy/temporal-dynamicconfig.yaml')) as Record<string, { value: unknown }[]>;
      const devServer = Object.fromEntries(DEV_SERVER_DYNAMIC_CONFIG.map((kv) => kv.split('=') as [string, string]));
      expect(Object.keys(devServer)).toEqual(['matching.numTaskqueueReadPartitions', 'matching.numTaskqueueWritePartitions']);
      expect(Object.fromEntries(Object.entries(file).map(([key, values]) => [key, String(values[0]?.value)]))).toEqual(devServer);
    });

    it('its setup containers run once: only the server, the UI, PostgreSQL and the worker stay up', () => {
      const longRunning = Object.entries(compose.services).filter(([, svc]) => svc.restart !== 'no').map(([name]) => name);
      expect(longRunning.sort()).toEqual(['postgresql', 'temporal', 'temporal-ui', 'worker']);
    });
  });
});

describe('Dockerfile and the workflow bundle', () => {
  it('is multi-stage on node:20-bookworm-slim, with build tools only in the build stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage[0]!.args).toMatch(/^node:20-bookworm-slim\b/);
    const buildRuns = stages[0]!.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(buildRuns).toMatch(/python3/);
    expect(buildRuns).toMatch(/npm ci/);
    expect(buildRuns).toMatch(/npm run build/);
    expect(buildRuns).toMatch(/npm prune --omit=dev/);
    const finalRuns = finalStage.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(finalRuns).not.toMatch(/apt-get|npm ci/);
  });

  it('CMD runs dist/src/worker-main.js as a non-root user', () => {
    const cmd = finalStage.filter((i) => i.op === 'CMD').at(-1)?.args;
    // A small young generation keeps the idle worker under 200 MB resident (bench:startup).
    expect(JSON.parse(cmd!)).toEqual(['node', '--max-semi-space-size=1', 'dist/src/worker-main.js']);
    const user = finalStage.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // tsconfig.build.json emits src/worker-main.ts at dist/src/worker-main.js.
    expect(existsSync(join(root, 'src/worker-main.ts'))).toBe(true);
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as {
      extends: string;
      include: string[];
      compilerOptions: { outDir: string; rootDir: string; noEmit: boolean };
    };
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.', noEmit: false });
    expect(tsconfig.include).toEqual(['src', 'scripts']);
  });

  it("OPS_WORKFLOW_BUNDLE is where the build script writes, inside the image's /app/dist", () => {
    expect(workerEnv.OPS_WORKFLOW_BUNDLE).toBe(posix.join(finalWorkdir!, WORKFLOW_BUNDLE_FILE));
    expect(finalStage.some((i) => i.op === 'COPY' && /--from=\S+\s+\/app\/dist\s+\.\/dist$/.test(i.args))).toBe(true);
    expect(stages[0]!.some((i) => i.op === 'WORKDIR' && i.args === '/app')).toBe(true);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toContain('scripts/bundle-workflows.ts');
  });

  it('.dockerignore keeps out local state but not what the build stage copies', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', 'dist', '.git', 'test', 'bench']));
    const copied = stages[0]!
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const source of copied) {
      expect(ignored, source).not.toContain(source.replace(/^\.\//, ''));
      expect(existsSync(join(root, source)), source).toBe(true);
    }
  });

  it(
    'the bundle script bundles every workflow (webpack, no Node built-ins)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ops-bundle-test-'));
      try {
        const out = join(dir, 'dist', 'workflow-bundle.js');
        const bytes = await bundleWorkflows(out, root, new DefaultLogger('WARN'));
        expect(bytes).toBeGreaterThan(10_000);
        const code = readFileSync(out, 'utf8');
        for (const workflow of ['opsControls', 'health_monitor', 'cleanup_old_data', 'process_retry_queue']) {
          expect(code).toContain(workflow);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
