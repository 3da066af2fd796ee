/** Makes sure the Temporal CLI is on this machine (cached outside the work tree); prints its path. */
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { findTemporalCli } from '../src/temporal/cli-binary';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('info', { pretty: false });
  const path = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: true,
    allowDownload: true,
    logger,
  });
  process.stdout.write(`${path}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
