/**
 * @module logging
 * The process logger: JSON lines on stderr via pino, so stdout stays free
 * for command output that scripts parse. Credentials never reach the log:
 * authorization and cookie headers and any `password`, `token` or `secret`
 * field are censored, and secrets in logged URLs (query parameters such as
 * `token=`, user info) are scrubbed.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

const CENSORED = '[Redacted]';
const URL_FIELDS = new Set(['url', 'originalUrl']);
const SECRET_FIELDS = ['password', 'token', 'secret', 'authorization', 'cookie'];
const SECRET_QUERY = /([?&](?:[\w.-]*(?:token|password|passwd|secret|signature|credential)[\w.-]*|sig|key|code)=)[^&#]*/gi;

/** A URL with query-parameter secrets and user info replaced by `[Redacted]`. */
export function scrubUrl(url: string): string {
  return url.replace(SECRET_QUERY, `$1${CENSORED}`).replace(/(\/\/)[^/@\s]*@/, `$1${CENSORED}@`);
}

/** pino `redact` options of the process logger. */
export const LOG_REDACTION: pino.redactOptions = {
  paths: [
    'req.headers.authorization',
    'req.headers["proxy-authorization"]',
    'req.headers.cookie',
    'res.headers["set-cookie"]',
    'headers.authorization',
    'headers["proxy-authorization"]',
    'headers.cookie',
    ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
    ...[...URL_FIELDS].flatMap((field) => [field, `*.${field}`]),
  ],
  censor: (value, path) => (URL_FIELDS.has(path[path.length - 1] ?? '') && typeof value === 'string' ? scrubUrl(value) : CENSORED),
};

/** A logger at `level` writing JSON lines to stderr (or `destination`). */
export function createLogger(level: LogLevel, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, base: { service: 'artifactstore' }, redact: LOG_REDACTION }, destination);
}

export type { Logger };
