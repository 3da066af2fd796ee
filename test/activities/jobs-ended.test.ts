import { describe, expect, it } from 'vitest';
import { EndedRuns } from '../../src/activities/jobs-ended';
import { MAX_ENDED_PER_SIGNAL } from '../../src/job-registry';

/** A send the test answers by hand: each call waits until the test releases it. */
function heldSend() {
  const sent: string[][] = [];
  const release: (() => void)[] = [];
  const send = (ids: string[]) =>
    new Promise<void>((resolve) => {
      sent.push(ids);
      release.push(resolve);
    });
  return { sent, send, releaseNext: () => release.shift()!() };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('EndedRuns: the ended runs of a process go to ops-controls together', () => {
  it('sends the first at once; those ended while a signal is in flight go together in the next; each waits for its own', async () => {
    const { sent, send, releaseNext } = heldSend();
    const ended = new EndedRuns(send);
    const done: string[] = [];
    const track = (id: string) => ended.ended(id).then(() => done.push(id));

    const first = track('a');
    expect(sent).toEqual([['a']]);
    const later = ['b', 'c', 'd'].map(track);
    await settled();
    expect(sent).toEqual([['a']]);
    expect(done).toEqual([]);

    releaseNext();
    await first;
    await settled();
    expect(done).toEqual(['a']);
    expect(sent).toEqual([['a'], ['b', 'c', 'd']]);

    releaseNext();
    await Promise.all(later);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
    // Idle again: the next one goes at once, alone.
    void track('e');
    expect(sent).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
    releaseNext();
  });

  it(`a signal carries at most ${MAX_ENDED_PER_SIGNAL} ids`, async () => {
    const sent: number[] = [];
    const ended = new EndedRuns(async (ids) => {
      sent.push(ids.length);
    });
    await Promise.all(Array.from({ length: 2 * MAX_ENDED_PER_SIGNAL + 5 }, (_, i) => ended.ended(`wf-${i}`)));
    expect(sent).toEqual([1, MAX_ENDED_PER_SIGNAL, MAX_ENDED_PER_SIGNAL, 4]);
  });

  it('a send that fails still lets its runs end, and the next ones are still sent', async () => {
    const sent: string[][] = [];
    let fail = true;
    const ended = new EndedRuns(async (ids) => {
      sent.push(ids);
      if (fail) throw new Error('ops-controls unreachable');
    });
    await ended.ended('a');
    fail = false;
    await ended.ended('b');
    expect(sent).toEqual([['a'], ['b']]);
  });
});
