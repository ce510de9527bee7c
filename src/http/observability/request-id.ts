/**
 * @module http/observability/request-id
 * Request ids: a sane incoming `X-Request-Id` (1–128 characters of
 * `[A-Za-z0-9._-]`, as a proxy or client set it) is honoured so one id
 * follows a request across hops; anything else is replaced by a fresh UUID.
 */
import { randomUUID } from 'node:crypto';

/** The header carrying the id, in both directions. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

const ACCEPTABLE = /^[A-Za-z0-9._-]{1,128}$/;

/** The incoming id when it is acceptable, else undefined. */
export function acceptableRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && ACCEPTABLE.test(value) ? value : undefined;
}

/** The id of a request with header value `incoming`: that value when acceptable, else a new UUID. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return acceptableRequestId(incoming) ?? randomUUID();
}
