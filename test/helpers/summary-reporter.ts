import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * After the default reporter, one plain line alone that CI reads: "N passed, M failed[, K skipped]".
 * A file that fails outside any test (import error, failing beforeAll) and an unhandled error each
 * count as one failure, so the line never says "0 failed" for a run that failed.
 */
export default class SummaryReporter implements Reporter {
  private line = '';

  onTestRunEnd(modules: readonly TestModule[], unhandledErrors: readonly SerializedError[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      if (failedHere === 0 && module.state() === 'failed') failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    this.line = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
  }

  // Vitest fires onTestRunEnd and onFinished together, and the default reporter prints its summary
  // in onFinished: printing here, from the later reporter in the list, puts our line last.
  onFinished(): void {
    if (this.line) process.stdout.write(`\n${this.line}\n`);
  }
}
