/**
 * The webhook's per-contact HubSpot sync: one workflow per contact (id hubspot-contact-<id>), so
 * Temporal never runs two syncs of one contact at once. The webhook signals it with
 * signalWithStart: a running sync learns it must read the contact again after its current pass
 * (it loops while dirty), a closed one is started afresh. It runs as a sync_hubspot job: the kill
 * switch and the other controls stop it, and every run gets its audit row.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { continueAsNew, getExternalWorkflowHandle, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities, ContactSynced } from '../activities';
import { SKIP_REASONS, type JobInput, type JobResult } from '../definitions';
import { sourceTaskQueue } from '../sources';
import { contactChangedSignal, HUBSPOT_CONTACT_WORKFLOW, hubspotContactWorkflowId } from './hubspot-contact-definitions';
import { JobBodyFailed } from './job-failure';
import { runJob, type JobContext } from './job-runner';

/** Passes in one run; a contact still dirty after them continues as new (the history stays small). */
export const MAX_PASSES_PER_RUN = 20;

const CONTACT_ID = /^[1-9]\d{0,19}$/;

export async function hubspotContactSync(input: JobInput = {}): Promise<JobResult> {
  // A run started without the signal (a dead letter's replay) still reads the contact once.
  let dirty = true;
  let signals = 0;
  // Before any await: signalWithStart's signal is in the first activation.
  setHandler(contactChangedSignal, (changed) => {
    dirty = true;
    signals += 1;
    log.info('hubspot contact changed', { eventIds: Array.isArray(changed?.eventIds) ? changed.eventIds.slice(0, 10) : [] });
  });
  const contactId = String(input.params?.contactId ?? '');
  const result = await runJob('sync_hubspot', input, async (ctx) => {
    if (!CONTACT_ID.test(contactId)) throw new JobBodyFailed(`hubspotContactSync needs params.contactId, a HubSpot contact id (digits); got ${JSON.stringify(contactId).slice(0, 40)}`, 'validation');
    // Decided by the input, not the workflow id: a replay of this history must take the same path.
    if (ctx.input.replayOf !== undefined) {
      // Nothing left for this run to do after handing the contact over (no continue-as-new).
      dirty = false;
      return delegate(ctx, contactId);
    }
    const { syncHubSpotContact } = ctx.proxy<Activities>({
      taskQueue: sourceTaskQueue(ctx.settings.taskQueue, 'hubspot'),
      startToCloseTimeout: ctx.settings.sync.pageTimeoutMs,
    });
    let passes = 0;
    let last: ContactSynced | undefined;
    while (dirty && passes < MAX_PASSES_PER_RUN) {
      // Cleared before the read: a signal that arrives during it asks for one more pass.
      dirty = false;
      passes += 1;
      ctx.progress('syncing contact', { contactId, passes });
      last = await syncHubSpotContact({ contactId });
      if (last.status === 'not_configured') ctx.skip(SKIP_REASONS.notConfigured);
    }
    return { contactId, passes, signals, last, more: dirty };
  });
  // Only a run that synced goes on: a stopped one (kill switch, not configured) must not loop.
  if (dirty && result.outcome === 'succeeded') {
    await continueAsNew<typeof hubspotContactSync>({ ...input });
  }
  return result;
}

/**
 * A dead letter's replay (the retry queue, opsctl) runs under another workflow id and must not
 * read the contact beside the contact's own workflow: it hands the contact to that workflow, as
 * a child when none runs, else as one more change for the running one.
 */
async function delegate(ctx: JobContext, contactId: string): Promise<Record<string, unknown>> {
  const workflowId = hubspotContactWorkflowId(contactId);
  const { replayOf: _replayOf, ...input } = ctx.input;
  try {
    const result = await ctx.child({ workflowType: HUBSPOT_CONTACT_WORKFLOW, job: 'sync_hubspot', input: { ...input, trigger: 'replay' }, workflowId });
    return { contactId, delegatedTo: workflowId, outcome: result.outcome };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await getExternalWorkflowHandle(workflowId).signal(contactChangedSignal, { eventIds: [], subscriptionTypes: [`replay of ${workflowInfo().workflowId}`] });
    return { contactId, delegatedTo: workflowId, outcome: 'signalled' };
  }
}
