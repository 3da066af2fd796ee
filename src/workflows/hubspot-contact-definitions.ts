/**
 * The per-contact HubSpot sync as its starters see it (the webhook route, the history recorder):
 * its workflow type, the workflow id derived from the contact, and the signal that marks it dirty.
 * Pure definitions: safe to import from client code and from workflow code.
 */
import { defineSignal } from '@temporalio/workflow';

export const HUBSPOT_CONTACT_WORKFLOW = 'hubspotContactSync';

/** One workflow id per contact: Temporal runs at most one execution of it at a time. */
export const hubspotContactWorkflowId = (contactId: string): string => `hubspot-contact-${contactId}`;

/** What HubSpot said about the contact; only its arrival matters, the details go to the log. */
export interface ContactChanged {
  /** HubSpot's eventIds of this request for the contact (at most a few are kept). */
  eventIds: number[];
  subscriptionTypes: string[];
}

/** Sent with signalWithStart for every webhook event: the contact must be read (again). */
export const contactChangedSignal = defineSignal<[ContactChanged]>('hubspotContactChanged');
