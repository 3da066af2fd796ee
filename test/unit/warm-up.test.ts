import { describe, expect, it } from 'vitest';
import { warmUpFetch } from '../../src/integrations/warm-up';

describe('warmUpFetch', () => {
  it('makes its one loopback request and leaves no server or socket open behind it', async () => {
    const tcp = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const before = tcp();
    await warmUpFetch();
    // The client's kept-alive socket closes when the server ends its connections.
    await new Promise((r) => setTimeout(r, 50));
    expect(tcp()).toBe(before);
  });
});
