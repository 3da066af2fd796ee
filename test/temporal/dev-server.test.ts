import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { configSchema } from '../../src/config';
import { createLogger } from '../../src/logger';
import { ensureTemporal, temporalAnswers } from '../../src/temporal/dev-server';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('npm start finds or starts Temporal', () => {
  it('starts a dev server where none answers, reuses a running one, and stops it cleanly', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const config = configSchema.parse({
      dataDir: mkdtempSync(join(tmpdir(), 'ops-dev-')),
      temporal: { address: `127.0.0.1:${port}`, uiPort, cliPath: inject('temporalCliPath') },
    });
    const logger = createLogger('silent');
    expect(await temporalAnswers(config.temporal.address)).toBe(false);
    const started = await ensureTemporal(config, logger, { allowBuild: false, allowDownload: false });
    try {
      expect(started).toMatchObject({ startedDevServer: true, uiUrl: `http://localhost:${uiPort}` });
      expect(await temporalAnswers(config.temporal.address)).toBe(true);
      const reused = await ensureTemporal(config, logger, { allowBuild: false, allowDownload: false });
      expect(reused.startedDevServer).toBe(false);
    } finally {
      await started.stop();
    }
    expect(await temporalAnswers(config.temporal.address)).toBe(false);
  });

  it('the run-wide test server answers in every namespace with the search attributes registered', async () => {
    const { Connection } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      for (const namespace of ['t01', 't40']) {
        const attrs = await connection.operatorService.listSearchAttributes({ namespace });
        expect(Object.keys(attrs.customAttributes ?? {})).toEqual(expect.arrayContaining(['OpsJob', 'OpsOutcome']));
      }
    } finally {
      await connection.close();
    }
  });
});
