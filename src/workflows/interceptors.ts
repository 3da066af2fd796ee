/**
 * Workflow interceptors, registered with the worker and bundled with the workflows. In a dry run
 * every activity is scheduled with DRY_RUN_HEADER, and its result comes back in an envelope that
 * is opened here (dry-run.ts), so job code calls its activities the same way in both modes.
 */
import {
  defaultPayloadConverter,
  type ActivityInput,
  type LocalActivityInput,
  type Next,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { DRY_RUN_HEADER } from '../definitions';
import { isDryRun, takeActivityResult } from './dry-run';

// Not async: outside a dry run a call passes straight through, without a promise of its own
// (the SDK captures a stack trace for every promise a workflow makes).
class DryRunOutbound implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    if (!isDryRun()) return next(input);
    return next({ ...input, headers: { ...input.headers, [DRY_RUN_HEADER]: defaultPayloadConverter.toPayload(true) } }).then(takeActivityResult);
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    if (!isDryRun()) return next(input);
    return next({ ...input, headers: { ...input.headers, [DRY_RUN_HEADER]: defaultPayloadConverter.toPayload(true) } }).then(takeActivityResult);
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new DryRunOutbound()] });
