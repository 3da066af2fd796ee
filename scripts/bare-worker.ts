/**
 * The baseline process of bench:startup: a bare Temporal worker on the same prebuilt bundle, with
 * one no-op activity, compiled by `npm run build` like worker-main so that both start as `node`
 * does from dist/. Prints "polling" once it runs. Argv: address namespace taskQueue bundle.
 */
import { NativeConnection, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  const [address, namespace, taskQueue, bundle] = process.argv.slice(2) as [string, string, string, string];
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: { codePath: bundle },
    activities: { bareNoopActivity: async () => undefined },
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('polling\n');
  await running;
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
