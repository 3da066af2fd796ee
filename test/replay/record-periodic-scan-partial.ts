/**
 * Records one periodic_scan in which 3 of its 4 sources fail (Notion 500 on every attempt, n8n
 * 401, Telegram 403) and HubSpot succeeds, into test/histories/<name>.json:
 *
 *   npx tsx test/replay/record-periodic-scan-partial.ts periodic_scan-partial-failure
 *
 * periodic_scan-partial-failure-v1.json was recorded this way before the `periodic-scan-partial-failure`
 * patch (the scan ended succeeded); re-recording it now would record the patched path instead.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createLogger } from '../../src/logger';
import { bootSystem, startLocalTemporal } from '../helpers/boot';
import { HubSpotFake, N8nFake, NotionFake, TelegramFake } from '../fakes';

const run = promisify(execFile);

async function main(name: string): Promise<void> {
  if (!/^periodic_scan-[a-z0-9-]+$/.test(name)) throw new Error(`history name must look like periodic_scan-<what>, got ${JSON.stringify(name)}`);
  const logger = createLogger('info');
  const { env, cli } = await startLocalTemporal();
  const notion = new NotionFake({ pages: NotionFake.generatePages(10, { tagEvery: 2, tag: 'SOP' }), rateLimit: false });
  const hubspot = new HubSpotFake({ contacts: HubSpotFake.generateContacts(150), rateLimit: false });
  const n8n = new N8nFake({ rateLimit: false });
  const telegram = new TelegramFake({ rateLimit: false });
  const fakes = [notion, hubspot, n8n, telegram];
  const [notionUrl, hubspotUrl, n8nUrl, telegramUrl] = await Promise.all(fakes.map((f) => f.start()));
  const sys = await bootSystem(
    { address: env.address, namespace: env.namespace ?? 'default', workflowsPath: require.resolve('../workflows') },
    {
      config: {
        sources: {
          notion: { token: notion.token, baseUrl: notionUrl },
          hubspot: { token: hubspot.token, baseUrl: hubspotUrl },
          n8n: { baseUrl: n8nUrl, apiKey: n8n.apiKey },
        },
        telegram: { botToken: telegram.token, apiBase: telegramUrl, chatId: '424242' },
      },
    },
  );
  try {
    notion.fail(...Array.from({ length: 5 }, () => ({ status: 500 })));
    n8n.fail({ status: 401 });
    telegram.fail({ status: 403, path: 'getUpdates' });
    const { workflowId } = await sys.ops.startJob('periodic_scan');
    const result = await sys.ops.jobResult(workflowId);
    logger.info({ outcome: result.outcome, error: result.error }, 'periodic_scan ended');
    const { stdout } = await run(
      cli,
      ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', env.address, '--namespace', sys.config.temporal.namespace],
      { maxBuffer: 64 << 20 },
    );
    const out = join(__dirname, '..', 'histories', `${name}.json`);
    writeFileSync(out, stdout);
    logger.info({ out }, 'history recorded');
  } finally {
    await sys.close();
    await env.teardown();
    await Promise.all(fakes.map((f) => f.close()));
  }
}

main(process.argv[2] ?? '').catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
