/**
 * The syncs at the APIs' real limits: 10,000 HubSpot contacts (100 a page, 100 requests per
 * 10 s) and 2,000 Notion pages (3 requests/s), from the local fakes, which enforce those limits
 * and answer 429 past them. The worker runs in a process of its own, as in production.
 *
 * Prints, per source: wall time, requests, the floor the documented rate sets (requests / rate),
 * the ratio, 429s received; and the worker's peak RSS.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { bootSystem, startLocalTemporal } from '../test/helpers/boot';
import { spawnWorker } from '../test/helpers/worker-processes';
import { HubSpotFake, NotionFake, type HttpFake } from '../test/fakes';
import { line } from './lib';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../src/worker';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 10_000);
const PAGES = Number(process.env.BENCH_NOTION_PAGES ?? 2_000);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(CONTACTS) });
  const notion = new NotionFake({
    pages: NotionFake.generatePages(PAGES).map((p, i) => ({ ...p, tags: i % 2 === 0 ? ['SOP'] : [] })),
  });
  const [hubspotUrl, notionUrl] = await Promise.all([hubspot.start(), notion.start()]);
  const { env } = await startLocalTemporal();
  const sys = await bootSystem(
    { address: env.address, namespace: env.namespace ?? 'default' },
    {
      startWorker: false,
      config: {
        sources: {
          hubspot: { token: hubspot.token, baseUrl: hubspotUrl },
          notion: { token: notion.token, baseUrl: notionUrl },
        },
      },
    },
  );
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES], logger: new DefaultLogger('WARN') });
  const bundlePath = join(sys.config.dataDir, 'workflows.js');
  writeFileSync(bundlePath, bundle.code);
  const worker = await spawnWorker({ ...sys.config, temporal: { ...sys.config.temporal, workflowBundle: bundlePath } }, 'bench');
  try {
    await measure('HubSpot', 'sync_hubspot', hubspot, 10, CONTACTS);
    await measure('Notion', 'sync_notion', notion, 3, PAGES);
    line('worker peak RSS (VmHWM)', `${worker.peakRssMb().toFixed(0)} MiB`);
  } finally {
    await worker.stop();
    await sys.close();
    await env.teardown();
    await Promise.all([hubspot.close(), notion.close()]);
  }

  async function measure(name: string, job: string, fake: HttpFake, ratePerSecond: number, records: number): Promise<void> {
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
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
