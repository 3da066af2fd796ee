/**
 * Node loads fetch's HTTP client (undici, and its parser compiled from WebAssembly) on the first
 * request a process makes: 30-60 ms, more on a loaded host. A page activity's request that pays
 * it reaches its API that much later than the server dispatched it, which squeezes the gap to
 * the next page under the API's rate limit. One request to a throwaway loopback server at
 * start-up pays it before any API is called.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function warmUpFetch(): Promise<void> {
  const server = createServer((_req, res) => res.end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
