import { DefaultLogger, Runtime } from '@temporalio/worker';

// Each test process: SDK logs only from WARN up, so failures stand out (TEST_LOG_LEVEL=INFO for more).
try {
  Runtime.install({ logger: new DefaultLogger((process.env.TEST_SDK_LOG_LEVEL as 'INFO' | undefined) ?? 'ERROR') });
} catch {
  // Already installed in this process.
}
