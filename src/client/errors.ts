/**
 * @module client/errors
 * What can go wrong talking to a server: it answered with a problem document
 * ({@link RemoteError}), or it could not be reached or the connection broke
 * ({@link TransportError}). Failures the client detects itself (a download
 * that does not hash to its address, an unsafe path) are
 * {@link RegistryError}s with the registry's own codes.
 */

/** The fields of an RFC 7807 problem document the server sends. */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly code?: string;
  readonly [extra: string]: unknown;
}

/** The server answered with an error status. */
export class RemoteError extends Error {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The registry error code (e.g. `PACKAGE_NOT_FOUND`), or `HTTP_<status>` when the body named none. */
  readonly code: string;
  /** The server's explanation of this occurrence. */
  readonly detail: string;
  /** The whole problem document (extra members included), or null when the body was not one. */
  readonly problem: Problem | null;
  /** Response headers (e.g. `Upload-Offset` on 416). */
  readonly headers: Headers;
  /** `METHOD url` of the request. */
  readonly request: string;

  constructor(init: { status: number; problem: Problem | null; text: string; headers: Headers; request: string }) {
    const code = typeof init.problem?.code === 'string' ? init.problem.code : `HTTP_${init.status}`;
    const title = typeof init.problem?.title === 'string' ? init.problem.title : `HTTP ${init.status}`;
    const detail = typeof init.problem?.detail === 'string' ? init.problem.detail : init.text.trim().slice(0, 500) || title;
    super(detail === title ? `${title} (${init.request} → ${init.status} ${code})` : `${title}: ${detail} (${init.request} → ${init.status} ${code})`);
    this.name = 'RemoteError';
    this.status = init.status;
    this.code = code;
    this.detail = detail;
    this.problem = init.problem;
    this.headers = init.headers;
    this.request = init.request;
  }
}

/** The request did not get an answer: refused, reset, timed out, or the body broke off. */
export class TransportError extends Error {
  /** `METHOD url` of the request. */
  readonly request: string;
  /** How many attempts were made before giving up. */
  readonly attempts: number;

  constructor(request: string, attempts: number, cause: unknown) {
    super(`${request}: ${describeCause(cause)}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`, { cause });
    this.name = 'TransportError';
    this.request = request;
    this.attempts = attempts;
  }
}

/** A malformed answer: a success without what the contract promises (code `PROTOCOL_ERROR`). */
export function protocolError(request: string, detail: string, response?: Response): RemoteError {
  return new RemoteError({
    status: response?.status ?? 200,
    problem: { code: 'PROTOCOL_ERROR', title: 'unexpected answer from the server', detail },
    text: '',
    headers: response?.headers ?? new Headers(),
    request,
  });
}

/** True when `error` is a {@link RemoteError}, optionally with one of `codes`. */
export function isRemoteError(error: unknown, ...codes: string[]): error is RemoteError {
  return error instanceof RemoteError && (codes.length === 0 || codes.includes(error.code));
}

/** True for errors worth retrying an idempotent request over: transport failures and 429/502/503/504. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransportError) return true;
  return error instanceof RemoteError && (error.status === 429 || error.status === 502 || error.status === 503 || error.status === 504);
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as { cause?: unknown }).cause;
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return `${cause.message}: ${typeof code === 'string' ? `${code} ` : ''}${inner.message}`;
  }
  return cause.message;
}
