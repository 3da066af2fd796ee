/**
 * A job body's own failure: the run ends `failed` with this category, and keeps what the body did
 * before failing as its output (e.g. periodic_scan's result for every source, the failed and the
 * synced alike), so the audit row and the dead letter show both.
 */
import type { ErrorCategory } from '../policies';

export class JobBodyFailed extends Error {
  override readonly name = 'JobBodyFailed';
  constructor(
    message: string,
    readonly category: ErrorCategory,
    readonly output?: Record<string, unknown>,
  ) {
    super(message);
  }
}
