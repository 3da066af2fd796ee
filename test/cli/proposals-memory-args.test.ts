/**
 * opsctl proposals and opsctl memory, before connecting: every bad argument exits 2 naming what is
 * wrong with nothing touched; reads connect for reading, decisions and corrections for writing;
 * a refusal from the store (no such proposal, not pending, expired, unknown key) is exit 2.
 */
import { describe, expect, it } from 'vitest';
import { expectRefusedOffline, offlineCli } from '../helpers/offline-cli';
import { describeFailure } from '../../src/cli/errors';
import { OpsClientError, ProposalChangeRefused } from '../../src/client';
import { loadConfig } from '../../src/config';

const cli = offlineCli;

describe('opsctl proposals and memory refuse bad arguments before touching anything (exit 2)', () => {
  const cases: [string[], RegExp][] = [
    [['proposals', '--status', 'open'], /argument 'open' is invalid.*pending, approved, rejected, expired, applied/],
    [['proposals', '--limit', '0'], /--limit must be a positive whole number, not "0"/],
    [['proposals', 'list', '--limit', '1001'], /limit: a whole number from 1 to 1000, not 1001/],
    [['proposals', 'frobnicate'], /too many arguments for 'list'/],
    [['proposals', 'show'], /missing required argument 'id'/],
    [['proposals', 'show', 'abc'], /proposal id must be a positive whole number, not "abc"/],
    [['proposals', 'show', '99999999999999999999'], /proposal id must be a positive whole number/],
    [['proposals', 'approve', '0', '--reason', 'r'], /proposal id must be a positive whole number, not "0"/],
    [['proposals', 'approve', '3'], /proposals approve needs --reason/],
    [['proposals', 'approve', '3', '--reason', ' '], /proposals approve needs --reason/],
    [['proposals', 'reject', '3'], /proposals reject needs --reason/],
    [['proposals', 'reject', '3', '--reason', 'r'.repeat(501)], /reason: at most 500 characters/],
    [['proposals', 'approve', '3', '--reason', 'r', '--actor', 'a'.repeat(101)], /actor: at most 100 characters/],
    [['proposals', 'approve', '3', '4', '--reason', 'r'], /too many arguments for 'approve'/],
    [['proposals', 'reject', '3', '--reason', 'r\u202eevil'], /contains a control character/],
    [['proposals', 'apply', '-1'], /proposal id must be a positive whole number, not "-1"/],
    [['memory'], /Usage: opsctl memory/],
    [['memory', 'show'], /missing required argument 'key'/],
    [['memory', 'correct', 'notion:abc', '--value', 'v'], /memory correct needs --reason/],
    [['memory', 'correct', 'notion:abc', '--reason', 'r'], /memory correct needs --value "text" or --value-json/],
    [['memory', 'correct', 'notion:abc', '--value-json', '{nope', '--reason', 'r'], /--value-json "\{nope" is not JSON/],
    [['memory', 'correct', 'notion:abc', '--value', 'a', '--value-json', '1', '--reason', 'r'], /cannot be used with option '--value-json/],
    [['memory', 'correct', 'notion:abc', '--value', '"'.repeat(6000), '--reason', 'r'], /the value is 12002 characters as JSON; at most 10000/],
    [['memory', 'correct', 'notion:abc', '--value', 'v', '--reason', 'r', '--actor', ' '], /actor: say who makes the change/],
  ];
  for (const [args, message] of cases) {
    it(`opsctl ${JSON.stringify(args.join(' ')).slice(1, 100)}`, async () => {
      await expectRefusedOffline(args, message);
    });
  }

  it('--help lists both groups', async () => {
    const result = await cli(['--help']);
    expect(result.stdout).toMatch(/^ {2}proposals\b/m);
    expect(result.stdout).toMatch(/^ {2}memory\b/m);
    expect(result.connected).toBe(false);
  });
});

describe('store access', () => {
  it('reading connects for reading; approve, reject, apply and correct for writing', async () => {
    const reads = [['proposals'], ['proposals', 'list', '--status', 'applied', '--limit', '1000'], ['proposals', 'show', '3'], ['memory', 'show', 'notion:abc', '--json']];
    const writes = [
      ['proposals', 'approve', '3', '--reason', 'r', '--wait'],
      ['proposals', 'reject', '3', '--reason', 'r', '--actor', 'ana', '--json'],
      ['proposals', 'apply', '3'],
      ['memory', 'correct', 'notion:abc', '--value-json', '{"a":1}', '--reason', 'r'],
    ];
    for (const args of reads) expect({ args, access: (await cli(args)).access, code: (await cli(args)).code }).toEqual({ args, access: 'read', code: 1 });
    for (const args of writes) expect({ args, access: (await cli(args)).access, code: (await cli(args)).code }).toEqual({ args, access: 'write', code: 1 });
  });
});

describe('opsctl exit codes for a proposal decision or a correction', () => {
  const config = loadConfig({});
  it('is 2 when the proposal cannot take it (no such id, not pending, expired) or the key is unknown: nothing changed', () => {
    for (const message of ['no proposal #42', 'proposal #42 is approved, not pending', 'proposal #42 expired at 2026-11-20T00:00:00.000Z']) {
      expect(describeFailure(new ProposalChangeRefused(message), config)).toEqual({ code: 2, message });
    }
    expect(describeFailure(new OpsClientError('no current memory item with key "x"'), config)).toEqual({ code: 2, message: 'no current memory item with key "x"' });
  });
});
