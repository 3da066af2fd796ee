/**
 * Makes sure the production Temporal server and its schema tool are on this machine (built with
 * Go into the cache when missing; see src/temporal/server-binary.ts) and prints their paths on
 * stdout. .ci/run runs it before `npm run test:production`, which never builds.
 */
import { loadConfig } from '../src/config';
import { provisionTemporalServer } from '../src/temporal/server-binary';

const log = (level: string) => (objOrMsg: object | string, msg?: string) => {
  const [text, fields] = typeof objOrMsg === 'string' ? [objOrMsg, undefined] : [msg ?? '', objOrMsg];
  process.stderr.write(`provision-temporal-server ${level}: ${text}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
};

async function main(): Promise<void> {
  const paths = await provisionTemporalServer(loadConfig().cacheDir, { info: log('info'), warn: log('warn'), error: log('error') });
  process.stdout.write(`${paths.server}\n${paths.sqlTool}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
