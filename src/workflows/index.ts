/** Every workflow the worker registers. Workflow type names are the spec's job ids. */
export { opsControls } from './controls';
export { health_monitor } from './health-monitor';
export { cleanup_old_data } from './cleanup-old-data';
export { process_retry_queue } from './process-retry-queue';
export { periodic_scan, sync_notion, sync_n8n, sync_hubspot } from './data-syncs';
export { hubspotContactSync } from './hubspot-contact';
export { daily_digest } from './daily-digest';
export { morning_call } from './morning-call';
export { deliverNotification } from './deliver-notification';
export { directAlert } from './direct-alert';
export { run_watchers } from './run-watchers';
export { applyProposal } from './apply-proposal';
