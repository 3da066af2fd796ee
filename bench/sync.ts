/**
 * The syncs at the APIs' real limits, from local fakes that enforce every documented limit and
 * answer 429 past them: HubSpot 10,000 and 12,000 contacts (search: 200 a page, 5 requests/s of
 * its own on top of the API's 100 per 10 s, at most 10,000 results per query) and 2,000 Notion pages
 * (3 requests/s on average). Each scenario gets a fresh store and a worker in a process of its own,
 * as in production.
 *
 * Prints, per scenario: wall time, requests, the floor the tightest documented limit sets
 * (requests / rate), the ratio, 429s received; and each worker's peak RSS.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { bootSystem, startLocalTemporal } from '../test/helpers/boot';
import { spawnWorker } from '../test/helpers/worker-processes';
import { HubSpotFake, NotionFake, type HttpFake } from '../test/fakes';
import { line } from './lib';
import { workflowBundleOptions } from '../src/workflow-bundle';

const NOTION_PAGES = Number(process.env.BENCH_NOTION_PAGES ?? 2_000);
const HUBSPOT_RUNS = (process.env.BENCH_CONTACTS ?? '10000,12000').split(',').map(Number);

interface Scenario {
  name: string;
  job: 'sync_hubspot' | 'sync_notion';
  fake: HttpFake;
  /** The tightest documented rate the run's requests are under, per second. */
  ratePerSecond: number;
  records: number;
  sources: Record<string, unknown>;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { env } = await startLocalTemporal();
  const bundle = await bundleWorkflowCode({ ...workflowBundleOptions(require.resolve('../src/workflows')), logger: new DefaultLogger('WARN') });
  const scenarios: (() => Promise<Scenario>)[] = [
    ...HUBSPOT_RUNS.map((contacts) => async (): Promise<Scenario> => {
      const fake = new HubSpotFake({ contacts: HubSpotFake.generateContacts(contacts) });
      const url = await fake.start();
      return { name: `HubSpot ${contacts}`, job: 'sync_hubspot', fake, ratePerSecond: 5, records: contacts, sources: { hubspot: { token: fake.token, baseUrl: url } } };
    }),
    async (): Promise<Scenario> => {
      const fake = new NotionFake({ pages: NotionFake.generatePages(NOTION_PAGES).map((p, i) => ({ ...p, tags: i % 2 === 0 ? ['SOP'] : [] })) });
      const url = await fake.start();
      return { name: `Notion ${NOTION_PAGES}`, job: 'sync_notion', fake, ratePerSecond: 3, records: NOTION_PAGES, sources: { notion: { token: fake.token, baseUrl: url } } };
    },
  ];
  try {
    for (const [index, make] of scenarios.entries()) {
      const scenario = await make();
      const sys = await bootSystem({ address: env.address, namespace: env.namespace ?? 'default' }, { startWorker: false, config: { temporal: { taskQueue: `bench-sync-${index}` }, sources: scenario.sources } });
      const bundlePath = join(sys.config.dataDir, 'workflows.js');
      writeFileSync(bundlePath, bundle.code);
      const worker = await spawnWorker({ ...sys.config, temporal: { ...sys.config.temporal, workflowBundle: bundlePath } }, 'bench');
      try {
        await measure(sys, scenario);
        line(`${scenario.name}: worker peak RSS (VmHWM)`, `${worker.peakRssMb().toFixed(0)} MiB`);
      } finally {
        await worker.stop();
        await sys.close();
        await scenario.fake.close();
      }
    }
  } finally {
    await env.teardown();
  }
}

async function measure(sys: Awaited<ReturnType<typeof bootSystem>>, { name, job, fake, ratePerSecond, records }: Scenario): Promise<void> {
  const before = fake.requests.length;
  const started = performance.now();
  const result = await sys.ops.runJob(job);
  const seconds = (performance.now() - started) / 1000;
  if (result.outcome !== 'succeeded') throw new Error(`${job}: ${result.outcome} ${result.error ?? result.reason ?? ''}`);
  const requests = fake.requests.length - before;
  const floor = requests / ratePerSecond;
  const output = result.output as { pages: number; items: number };
  line(`${name}: ${records} records, ${output.pages} pages, ${output.items} items`, `${seconds.toFixed(2)} s`);
  line(`${name}: floor (${requests} requests at ${ratePerSecond}/s)`, `${floor.toFixed(2)} s -> ratio ${(seconds / floor).toFixed(3)}x`);
  line(`${name}: 429s received`, String(fake.rateLimited));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
