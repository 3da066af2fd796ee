/**
 * Makes sure the Temporal CLI is on this machine (cached outside the work tree, built with Go or
 * downloaded when missing) and prints its path on stdout. Progress goes to stderr, so
 * `CLI=$(npx tsx scripts/provision-temporal.ts)` captures the path alone. .ci/run runs it before the tests.
 */
import { loadConfig } from '../src/config';
import { findTemporalCli } from '../src/temporal/cli-binary';

const log = (level: string) => (objOrMsg: object | string, msg?: string) => {
  const [text, fields] = typeof objOrMsg === 'string' ? [objOrMsg, undefined] : [msg ?? '', objOrMsg];
  process.stderr.write(`provision-temporal ${level}: ${text}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
};

async function main(): Promise<void> {
  const config = loadConfig();
  const path = await findTemporalCli({
    cliPath: config.temporal.cliPath,
    cacheDir: config.cacheDir,
    allowBuild: true,
    allowDownload: true,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  process.stdout.write(`${path}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
