/**
 * What an approved proposal asks the system to do. Pure (workflows import it): the schema checks
 * an action read back from the store or handed in by anyone before anything is carried out.
 */
import { z } from 'zod';
import { JOB_NAMES } from './jobs';

export const PROPOSAL_ACTION_KINDS = ['pause_schedule', 'set_cadence', 'mute_incident_type', 'record_only'] as const;

export const proposalActionSchema = z.discriminatedUnion('kind', [
  /** Pause a job's Temporal schedule (a person resumes it with opsctl schedules resume). */
  z.strictObject({ kind: z.literal('pause_schedule'), job: z.enum(JOB_NAMES) }),
  /** Run a job every `every` (e.g. "60m") instead of its current cadence. */
  z.strictObject({ kind: z.literal('set_cadence'), job: z.enum(JOB_NAMES), every: z.string().regex(/^\d{1,6}(s|m|h)$/, 'expected a duration like 30m') }),
  /** New incidents of `type` are recorded but not alerted for `hours`. */
  z.strictObject({ kind: z.literal('mute_incident_type'), type: z.string().min(1).max(100), hours: z.number().int().min(1).max(24 * 30) }),
  /** Nothing the system can carry out itself: the approval is recorded for the operator. */
  z.strictObject({ kind: z.literal('record_only'), note: z.string().min(1).max(500) }),
]);

export type ProposalAction = z.infer<typeof proposalActionSchema>;

/** One line a person reads: what approving it will do. */
export function describeAction(action: ProposalAction): string {
  switch (action.kind) {
    case 'pause_schedule':
      return `pause the ${action.job} schedule`;
    case 'set_cadence':
      return `run ${action.job} every ${action.every}`;
    case 'mute_incident_type':
      return `mute new ${action.type} alerts for ${action.hours} h`;
    case 'record_only':
      return `nothing automatic: ${action.note}`;
  }
}
