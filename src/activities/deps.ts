import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Store } from '../store';

/** What activities need from the outside world; tests hand in their own store, client and clock. */
export interface ActivityDeps {
  config: Config;
  store: Store;
  client: Client;
  logger: Logger;
  now: () => Date;
}
