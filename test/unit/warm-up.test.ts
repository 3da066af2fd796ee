import { afterEach, describe, expect, it, vi } from 'vitest';
import { warmUpFetch } from '../../src/integrations/warm-up';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('warmUpFetch', () => {
  it('makes its one loopback request and leaves no server or socket open behind it', async () => {
    const tcp = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const before = tcp();
    // Calls through: the spy only records what fetch was asked and what it answered.
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    await warmUpFetch();

    expect(fetchSpy).toHaveBeenCalledTimes(1);
    const [input] = fetchSpy.mock.calls[0]!;
    expect(String(input instanceof Request ? input.url : input)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const result = fetchSpy.mock.results[0]!;
    expect(result.type).toBe('return');
    const response = await (result.value as Promise<Response>);
    expect(response.ok).toBe(true);
    // The client's kept-alive socket closes when the server ends its connections.
    await vi.waitFor(() => expect(tcp()).toBe(before), { timeout: 2_000, interval: 10 });
  });
});
