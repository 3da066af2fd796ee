/**
 * Registers our custom search attributes on servers where `start-dev --search-attribute` did not
 * (an external server, a namespace created later). Idempotent, and safe when two processes race.
 */
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../definitions';
import type { ProvisionLogger } from './cli-binary';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const GRPC_ALREADY_EXISTS = 6;

function indexedType(type: SearchAttributeType): temporal.api.enums.v1.IndexedValueType {
  const value = IndexedValueType[`INDEXED_VALUE_TYPE_${type}` as keyof typeof IndexedValueType];
  if (typeof value !== 'number') throw new Error(`no IndexedValueType for search attribute type ${type}`);
  return value;
}

type Existing = Record<string, temporal.api.enums.v1.IndexedValueType>;

async function listCustom(connection: Connection, namespace: string): Promise<Existing> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  return (response.customAttributes ?? {}) as Existing;
}

/** The names among CUSTOM_SEARCH_ATTRIBUTES that `namespace` lacks; throws if one has another type. */
async function missingIn(connection: Connection, namespace: string): Promise<(typeof CUSTOM_SEARCH_ATTRIBUTES)[number][]> {
  const existing = await listCustom(connection, namespace);
  const wrong = CUSTOM_SEARCH_ATTRIBUTES.filter(
    (key) => key.name in existing && existing[key.name] !== indexedType(key.type),
  );
  if (wrong.length > 0) {
    const list = wrong
      .map((key) => `${key.name} is ${IndexedValueType[existing[key.name]!]}, expected ${key.type}`)
      .join('; ');
    throw new Error(`Search attributes in namespace "${namespace}" have the wrong type: ${list}. Remove them and restart.`);
  }
  return CUSTOM_SEARCH_ATTRIBUTES.filter((key) => !(key.name in existing));
}

export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  logger: Pick<ProvisionLogger, 'info'>,
): Promise<void> {
  const missing = await missingIn(connection, namespace);
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedType(key.type)])),
    });
  } catch (err) {
    // Another process registered them between our list and our add.
    if (!(isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS)) throw err;
  }
  const still = await missingIn(connection, namespace);
  if (still.length > 0) {
    throw new Error(`Search attributes ${still.map((k) => k.name).join(', ')} are still missing in namespace "${namespace}" after registering them`);
  }
  await usableInQueries(connection, namespace);
  logger.info({ namespace, added: missing.map((key) => key.name) }, 'search attributes registered');
}

/** How long a server may take to let queries (and schedules) use attributes it just registered. */
const USABLE_WITHIN_MS = 30_000;

/**
 * A server registers new attributes at once but maps them for its namespace a moment later
 * (about 1-2 s on a fresh PostgreSQL cluster): until then a schedule naming them is refused.
 * So wait until a query over them is accepted.
 */
async function usableInQueries(connection: Connection, namespace: string): Promise<void> {
  const query = CUSTOM_SEARCH_ATTRIBUTES.map((key) => `${key.name} = 'ops-probe'`).join(' AND ');
  const deadline = Date.now() + USABLE_WITHIN_MS;
  for (;;) {
    try {
      await connection.workflowService.countWorkflowExecutions({ namespace, query });
      return;
    } catch (err) {
      if (Date.now() >= deadline) {
        throw new Error(`Search attributes were registered in namespace "${namespace}" but queries still refuse them after ${USABLE_WITHIN_MS / 1000} s: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
