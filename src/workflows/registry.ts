/**
 * The compiler checks what the worker registers: workflows/index.ts must export a job workflow for
 * every job of the catalogue (src/jobs.ts), and nothing that is neither a job nor one of the known
 * other workflows. A missing or stray export fails `tsc` here, naming the job, instead of a schedule
 * that finds no workflow type at run time. Types only: nothing here runs or is bundled.
 *
 * Activities need no list of their own: workflows reach them only through
 * `proxyActivities<Activities>()`, typed from createActivities(), so a workflow that calls an
 * activity the worker does not register does not compile.
 */
import type { APPLY_PROPOSAL_WORKFLOW } from '../activities/apply-proposal';
import type { DIRECT_ALERT_WORKFLOW } from '../activities/direct-alert';
import type { DELIVER_NOTIFICATION_WORKFLOW } from '../activities/notify';
import type { CONTROLS_WORKFLOW_TYPE, JobInput, JobResult } from '../definitions';
import type { JobName } from '../jobs';
import type { HUBSPOT_CONTACT_WORKFLOW } from './hubspot-contact-definitions';
import type * as registered from './index';

/**
 * The workflows that are not jobs: the controls singleton, one alert's delivery, a direct alert,
 * applying a proposal, one HubSpot contact's webhook sync (a sync_hubspot run of its own).
 */
export type OtherWorkflowName =
  | typeof CONTROLS_WORKFLOW_TYPE
  | typeof DELIVER_NOTIFICATION_WORKFLOW
  | typeof DIRECT_ALERT_WORKFLOW
  | typeof APPLY_PROPOSAL_WORKFLOW
  | typeof HUBSPOT_CONTACT_WORKFLOW;

/** A job's workflow: the schedule starts it with a JobInput, it ends with one JobResult. */
export type JobWorkflow = (input?: JobInput) => Promise<JobResult>;

/** What is wrong with a set of workflow exports; every field is `never` when nothing is. */
export interface RegistrationProblems<Exports, Jobs extends string, Others extends string> {
  /** Jobs of the catalogue with no workflow export. */
  missingJobs: Exclude<Jobs, keyof Exports>;
  /** Exports that are neither a job nor a known other workflow. */
  unknownExports: Exclude<keyof Exports, Jobs | Others>;
  /** Jobs whose export does not take a JobInput and return a JobResult. */
  notJobWorkflows: { [K in Jobs & keyof Exports]: Exports[K] extends JobWorkflow ? never : K }[Jobs & keyof Exports];
}

/** Compiles only when every problem is `never`; the error names the offending jobs or exports. */
export type NoRegistrationProblems<P extends { missingJobs: never; unknownExports: never; notJobWorkflows: never }> = P;

export type WorkflowRegistration = NoRegistrationProblems<RegistrationProblems<typeof registered, JobName, OtherWorkflowName>>;
