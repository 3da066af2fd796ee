import pino, { type Logger as PinoLogger } from 'pino';
import type { Logger as TemporalLogger, LogLevel, LogMetadata } from '@temporalio/common';

export type Logger = PinoLogger;

/** JSON lines; pretty when a person is watching a terminal (and not under test or CI). */
export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const pretty = opts.pretty ?? (Boolean(process.stdout.isTTY) && !process.env.CI && !process.env.VITEST);
  return pino({
    level,
    base: { service: 'personal-ops' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}

const levelMap: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the Temporal SDK's logs (runtime, workflow `log`, activity `log`) into our pino logger. */
export function temporalLoggerFor(logger: Logger): TemporalLogger {
  const emit = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    // A multi-line report at info is webpack's whole bundle listing (the worker bundling at
    // start): detail for debugging, not an event a person watching the log cares about.
    const demoted = level === 'INFO' && message.includes('\n');
    logger[demoted ? 'debug' : levelMap[level]](meta ?? {}, message);
  };
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}
