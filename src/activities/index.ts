import type { ActivityDeps } from './deps';
import { createFrameworkActivities } from './framework';
import { createHealthActivities } from './health';
import { createMaintenanceActivities } from './maintenance';

export type { ActivityDeps } from './deps';
export type { JobSettings, RunRecord, RunRecorded } from './framework';
export { FRAMEWORK_ACTIVITY_NAMES } from './framework';

/** Every activity the worker registers, built from one set of dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createFrameworkActivities(deps),
    ...createHealthActivities(deps),
    ...createMaintenanceActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
