/** The SDK's logs through our logger: one line per event a person cares about. */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { temporalLoggerFor } from '../../src/logger';

function capture(level: string): { lines: () => { level: number; msg: string }[]; logger: pino.Logger } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level }, stream), lines: () => out.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

describe('temporalLoggerFor', () => {
  it("keeps one-line events at their level and moves webpack's multi-line bundle report to debug", () => {
    const info = capture('info');
    const sdk = temporalLoggerFor(info.logger);
    sdk.info('Workflow bundle created', { size: '1.2MB' });
    sdk.info('asset workflow-bundle-1234.js 1.2 MiB [emitted]\nruntime modules 937 bytes 4 modules\nwebpack 5.99.9 compiled successfully');
    sdk.warn('a multi-line\nwarning stays a warning');
    expect(info.lines().map((l) => [l.level, l.msg.split('\n')[0]])).toEqual([
      [30, 'Workflow bundle created'],
      [40, 'a multi-line'],
    ]);
    const debug = capture('debug');
    temporalLoggerFor(debug.logger).info('asset x.js\nwebpack compiled');
    expect(debug.lines()).toEqual([expect.objectContaining({ level: 20, msg: 'asset x.js\nwebpack compiled' })]);
  });
});
