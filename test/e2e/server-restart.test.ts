import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { configSchema } from '../../src/config';
import { CONTROLS_WORKFLOW_ID } from '../../src/definitions';
import { createLogger } from '../../src/logger';
import { ensureTemporal } from '../../src/temporal/dev-server';
import { bootSystem } from '../helpers/boot';
import { freePort } from '../helpers/ports';



describe('ops-controls survives a restart of the Temporal server (npm start state file)', () => {
  it('keeps the kill switch on across a dev-server restart', async () => {
    const config = configSchema.parse({
      dataDir: mkdtempSync(join(tmpdir(), 'ops-restart-')),
      temporal: { address: `127.0.0.1:${await freePort()}`, uiPort: await freePort(), cliPath: inject('temporalCliPath') },
    });
    const logger = createLogger('silent');
    const where = { address: config.temporal.address, namespace: 'default', workflowBundle: inject('workflowBundlePath') };

    let server = await ensureTemporal(config, logger, { allowBuild: false, allowDownload: false });
    try {
      const first = await bootSystem(where, { config: { dataDir: config.dataDir } });
      await first.ops.setKillSwitch(true, { actor: 'jonah', reason: 'before restart' });
      const runBefore = (await first.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).describe()).runId;
      await first.close();
      await server.stop();

      server = await ensureTemporal(config, logger, { allowBuild: false, allowDownload: false });
      expect(server.startedDevServer).toBe(true);
      const second = await bootSystem(where, { config: { dataDir: config.dataDir } });
      try {
        const state = await second.ops.getControls();
        // The same run of ops-controls, kept by the server (not rebuilt from the store mirror).
        expect((await second.client.workflow.getHandle(CONTROLS_WORKFLOW_ID).describe()).runId).toBe(runBefore);
        expect(state).toMatchObject({ killSwitch: true, updatedBy: 'jonah', reason: 'before restart', version: 1 });
        const run = await second.ops.runJob('health_monitor');
        expect(run).toMatchObject({ outcome: 'skipped', reason: 'Kill switch is active' });
      } finally {
        await second.close();
      }
    } finally {
      await server.stop();
    }
  });
});
