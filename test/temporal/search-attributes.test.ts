import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JOB_SEARCH_ATTRIBUTE, OUTCOME_SEARCH_ATTRIBUTE } from '../../src/definitions';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { temporalAddress } from '../helpers/temporal';

// Fresh namespaces on the run's server stand for an external server: start-dev flags never touched them.

let connection: Connection;
beforeAll(async () => {
  connection = await Connection.connect({ address: temporalAddress() });
});
afterAll(async () => {
  await connection.close();
});

async function freshNamespace(): Promise<string> {
  const namespace = `sa-${randomUUID().slice(0, 8)}`;
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  await vi.waitFor(() => connection.workflowService.describeNamespace({ namespace }), { timeout: 15_000, interval: 200 });
  return namespace;
}

async function customAttributes(namespace: string): Promise<Record<string, unknown>> {
  return (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
}

describe('ensureSearchAttributes', () => {
  it('registers OpsJob and OpsOutcome where they are missing, usable at once, and is idempotent', async () => {
    const namespace = await freshNamespace();
    expect(Object.keys(await customAttributes(namespace))).not.toContain('OpsJob');
    const logger = { info: vi.fn() };

    await ensureSearchAttributes(connection, namespace, logger);
    expect(await customAttributes(namespace)).toMatchObject({
      OpsJob: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      OpsOutcome: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    });
    expect(logger.info).toHaveBeenCalledWith({ namespace, added: ['OpsJob', 'OpsOutcome'] }, 'search attributes registered');

    // A workflow start validates its search attributes against the namespace.
    const client = new Client({ connection, namespace });
    const handle = await client.workflow.start('noSuchWorkflow', {
      taskQueue: 'nobody-polls-this',
      workflowId: `sa-check-${randomUUID()}`,
      typedSearchAttributes: [
        { key: JOB_SEARCH_ATTRIBUTE, value: 'health_monitor' },
        { key: OUTCOME_SEARCH_ATTRIBUTE, value: 'succeeded' },
      ],
    });
    await handle.terminate('only checked that the start was accepted');

    await ensureSearchAttributes(connection, namespace, logger);
    await Promise.all([1, 2, 3].map(() => ensureSearchAttributes(connection, namespace, logger)));
    expect(logger.info).toHaveBeenCalledTimes(1);
  });

  it('concurrent first registrations from several processes all succeed', async () => {
    const namespace = await freshNamespace();
    const others = await Promise.all([1, 2, 3].map(() => Connection.connect({ address: temporalAddress() })));
    try {
      await Promise.all(others.map((c) => ensureSearchAttributes(c, namespace, { info: () => undefined })));
    } finally {
      await Promise.all(others.map((c) => c.close()));
    }
    expect(Object.keys(await customAttributes(namespace))).toEqual(expect.arrayContaining(['OpsJob', 'OpsOutcome']));
  });

  it('an attribute of the same name but another type is an error naming it', async () => {
    const namespace = await freshNamespace();
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: { OpsJob: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT },
    });
    await expect(ensureSearchAttributes(connection, namespace, { info: () => undefined })).rejects.toThrow(
      /namespace "sa-[0-9a-f]+" have the wrong type: OpsJob is INDEXED_VALUE_TYPE_TEXT, expected KEYWORD/,
    );
  });
});
