/**
 * @module logging
 * The process logger: JSON lines on stderr via pino, so stdout stays free
 * for command output that scripts parse.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** A logger at `level` writing JSON lines to stderr. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'artifactstore' } }, pino.destination(2));
}

export type { Logger };
