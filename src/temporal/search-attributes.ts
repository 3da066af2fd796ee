import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../definitions';

const INDEXED_TYPE = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
} as const;

/** Registers OpsJob and OpsOutcome on a server where start-dev flags did not (idempotent). */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  logger: { info(obj: object, msg: string): void },
): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = CUSTOM_SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPE[key.type as 'KEYWORD']])),
  });
  logger.info({ namespace, added: missing.map((k) => k.name) }, 'search attributes registered');
}
