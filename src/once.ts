/**
 * A value built on first use, then kept. Workflow code uses it for zod schemas: the sandbox runs
 * each workflow's modules afresh, so a schema built at module scope is built again for every
 * workflow started (and every replay), used or not; a no-op job never checks a signal at all.
 */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
