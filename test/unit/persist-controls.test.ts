/**
 * persistControls answers within its bound whatever the store does: a PostgreSQL that never
 * answers a connect (a dropped route) must not hold a kill-switch Update for the pool's 30 s.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Kysely, PostgresDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createFrameworkActivities } from '../../src/activities/framework';
import type { ActivityDeps } from '../../src/activities/deps';
import type { Database } from '../../src/store';
import { controlsState } from '../helpers/controls-state';

const state = controlsState({ killSwitch: true, version: 2 });

describe('persistControls against a store that never answers', () => {
  it('fails as a store outage (category database) within 2.5 s', async () => {
    // A pool whose connect never settles, like one whose server dropped off the network.
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: { connect: () => new Promise(() => undefined), end: async () => undefined } as never }) });
    const deps = { store: { db, dialect: 'postgres' }, config: {}, client: {}, now: () => new Date() } as unknown as ActivityDeps;
    const { persistControls } = createFrameworkActivities(deps, {} as never);
    const started = performance.now();
    const err = await persistControls({ state, change: { killSwitch: true, actor: 'test', reason: 'test' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const tookMs = performance.now() - started;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'database', nonRetryable: true });
    expect((err as Error).message).toMatch(/Store unavailable: no answer from the store within 2500 ms/);
    expect(tookMs).toBeLessThan(3500);
  });
});
