import type { ActivityDeps } from './deps';
import { createChannels, type Channels } from './channels';
import { dryRunAwareClient } from './dry-run';
import { createDirectAlertActivities } from './direct-alert';
import { createFrameworkActivities } from './framework';
import { createHealthActivities } from './health';
import { createHubSpotContactActivities } from './hubspot-contact';
import { createMaintenanceActivities } from './maintenance';
import { createMessageActivities } from './messages';
import { createNotifier, createNotifyActivities } from './notify';
import { createProposalActivities } from './proposals';
import { createApplyProposalActivities } from './apply-proposal';
import { createResolverActivities } from './resolvers';
import { createSyncActivities } from './sync';
import { createWatcherActivities } from './watchers/runner';

export type { ActivityDeps } from './deps';
export type { JobSettings, RunRecord, RunRecorded } from './framework';
export { FRAMEWORK_ACTIVITY_NAMES } from './framework';
export type { SyncBegin, SyncProgress, SyncEnd } from './sync';
export type { ContactSynced } from './hubspot-contact';
export type { NotificationRequest, NotificationOutcome } from './notify';
export type { DigestPreview, CallPreview } from './messages';

/** Every activity the worker registers, built from one set of dependencies. */
export function createActivities(given: ActivityDeps, channels: Channels = createChannels(given.config, given.logger)) {
  // In a dry run, Temporal changes made by an activity are recorded, not made (dry-run.ts).
  const deps: ActivityDeps = { ...given, client: dryRunAwareClient(given.client) };
  // One router for every alert and message the process sends.
  const notifier = createNotifier(deps, channels);
  return {
    ...createFrameworkActivities(deps, notifier),
    ...createHealthActivities(deps, notifier),
    ...createDirectAlertActivities(deps, channels),
    ...createMaintenanceActivities(deps),
    ...createResolverActivities(deps),
    ...createSyncActivities(deps, notifier),
    ...createHubSpotContactActivities(deps),
    ...createNotifyActivities(notifier),
    ...createMessageActivities(deps, notifier),
    ...createWatcherActivities(deps, notifier),
    ...createProposalActivities(deps, notifier),
    ...createApplyProposalActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
