import { ActivityFailure, ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../src/cli/errors';
import { IncidentChangeRefused } from '../../src/client';
import { loadConfig } from '../../src/config';

const config = loadConfig({});

function updateFailedBy(cause: Error): WorkflowUpdateFailedError {
  return new WorkflowUpdateFailedError('Workflow Update failed', cause);
}

describe('opsctl exit codes for a failed controls Update', () => {
  it('is 1 when the store could not take the change: the request was good, nothing changed', () => {
    const storeDown = ApplicationFailure.create({
      type: 'database',
      message: 'Store unavailable: database is locked by another process. The controls were NOT changed.',
    });
    const failure = describeFailure(
      updateFailedBy(new ActivityFailure('activity failed', 'persistControls', '1', 0 as never, undefined, storeDown)),
      config,
    );
    expect(failure.code).toBe(1);
    expect(failure.message).toMatch(/^the controls were not changed: Store unavailable: .*locked/);
  });

  it('is 2 when ops-controls refused the change itself', () => {
    const refused = ApplicationFailure.nonRetryable('Invalid controls change: reason: too long', 'InvalidControlsChange');
    const failure = describeFailure(updateFailedBy(refused), config);
    expect(failure.code).toBe(2);
    expect(failure.message).toMatch(/^the controls refused the change: Invalid controls change/);
  });
});

describe('opsctl exit codes for an incident change', () => {
  it('is 2 when the incident cannot take it (no such id, already acknowledged or resolved): nothing changed', () => {
    for (const message of ['no incident #42', 'incident #42 is resolved already', 'incident #42 was acknowledged already by ana']) {
      expect(describeFailure(new IncidentChangeRefused(message), config)).toEqual({ code: 2, message });
    }
  });
});
