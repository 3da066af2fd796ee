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

class DryRunOutbound implements WorkflowOutboundCallsInterceptor {
  async scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    if (!isDryRun()) return next(input);
    return takeActivityResult(await next({ ...input, headers: { ...input.headers, [DRY_RUN_HEADER]: defaultPayloadConverter.toPayload(true) } }));
  }

  async scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    if (!isDryRun()) return next(input);
    return takeActivityResult(await next({ ...input, headers: { ...input.headers, [DRY_RUN_HEADER]: defaultPayloadConverter.toPayload(true) } }));
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new DryRunOutbound()] });
