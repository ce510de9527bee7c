/**
 * @module client/transport
 * One HTTP exchange with the server over the global `fetch`: URL building,
 * the bearer token, problem documents turned into {@link RemoteError}s, and
 * retries with exponential backoff for requests that are safe to repeat.
 */
import { RemoteError, TransportError, isTransient, type Problem } from './errors.js';

/** How often and how patiently idempotent requests are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). */
  readonly attempts: number;
  /** Delay before the first retry; doubles each time. */
  readonly baseDelayMs: number;
  /** Upper bound of one delay. */
  readonly maxDelayMs: number;
}

/** 6 attempts, 250 ms doubling to at most 8 s (about 16 s of patience). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8_000 };

/** Query parameters; `undefined` values are left out, arrays repeat the key. */
export type Query = Record<string, string | number | boolean | undefined | ReadonlyArray<string>>;

/** One request. */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path under the base URL, starting with `/`. */
  readonly path: string;
  readonly query?: Query;
  readonly headers?: Record<string, string>;
  /** Raw body, or a value sent as JSON. */
  readonly body?: Uint8Array | string;
  readonly json?: unknown;
  /** Safe to send again after a transport failure or a 429/502/503/504 (default: GET and HEAD). */
  readonly idempotent?: boolean;
  /** Statuses besides 2xx that are answers, not errors (e.g. 304, 416). */
  readonly accept?: readonly number[];
  readonly signal?: AbortSignal;
  /**
   * Called once the whole body has been handed to the connection, when the
   * body is large enough to be streamed (see `bodyInit`); never for other
   * requests. Lets a caller send its next request without waiting for this
   * answer.
   */
  readonly onSent?: () => void;
}

/** Connection settings shared by all requests of a client. */
export interface TransportOptions {
  readonly url: string;
  readonly token?: string;
  readonly retry?: Partial<RetryPolicy>;
  /** Replaces the global fetch (tests, proxies). */
  readonly fetch?: typeof fetch;
  readonly userAgent?: string;
}

/** Sends requests to one server. */
export class Transport {
  readonly baseUrl: string;
  readonly retry: RetryPolicy;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly userAgent: string;

  constructor(options: TransportOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(`server URL ${JSON.stringify(options.url)} is not an absolute URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`server URL ${JSON.stringify(options.url)} must be http: or https:`);
    if (parsed.search || parsed.hash) throw new TypeError(`server URL ${JSON.stringify(options.url)} must not carry a query or fragment`);
    this.baseUrl = parsed.toString().replace(/\/+$/, '');
    this.token = options.token || undefined;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.fetchImpl = options.fetch ?? fetch;
    this.userAgent = options.userAgent ?? 'artifactstore-client';
  }

  /** The absolute URL of `path` with `query`. */
  url(path: string, query?: Query): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value as ReadonlyArray<string>) search.append(key, item);
      else search.append(key, String(value));
    }
    const text = search.toString();
    return `${this.baseUrl}${path}${text ? `?${text}` : ''}`;
  }

  /**
   * Sends `request` and returns the response with its body unread. Error
   * statuses become {@link RemoteError}; a request that got no answer becomes
   * a {@link TransportError}. Idempotent requests are retried on both kinds
   * of transient failure; an aborted signal ends everything at once.
   */
  async send(request: HttpRequest): Promise<Response> {
    return this.withRetry(request, async () => this.sendOnce(request));
  }

  /** Sends `request` and parses the JSON body (read inside the retry loop). */
  async json<T>(request: HttpRequest): Promise<{ body: T; response: Response }> {
    return this.withRetry(request, async () => {
      const response = await this.sendOnce(request);
      const label = `${request.method} ${this.url(request.path, request.query)}`;
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw this.transportFailure(request, 1, error);
      }
      try {
        return { body: JSON.parse(text) as T, response };
      } catch {
        throw new RemoteError({ status: response.status, problem: null, text: `expected JSON, got: ${text.slice(0, 200)}`, headers: response.headers, request: label });
      }
    });
  }

  /** Runs `attempt` under the retry policy when `request` is idempotent. */
  async withRetry<T>(request: HttpRequest, attempt: () => Promise<T>): Promise<T> {
    const idempotent = request.idempotent ?? (request.method === 'GET' || request.method === 'HEAD');
    const attempts = idempotent ? Math.max(1, this.retry.attempts) : 1;
    for (let tried = 1; ; tried += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (isAbort(error, request.signal)) throw error;
        if (!isTransient(error) || tried >= attempts) {
          if (error instanceof TransportError && error.attempts !== tried) throw new TransportError(error.request, tried, error.cause);
          throw error;
        }
        await sleep(retryDelay(this.retry, tried, error), request.signal);
      }
    }
  }

  private async sendOnce(request: HttpRequest): Promise<Response> {
    const url = this.url(request.path, request.query);
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...request.headers };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let body: Uint8Array | string | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['Content-Type'] = 'application/json';
    }
    if (!headers.Accept) headers.Accept = 'application/json, application/problem+json;q=0.9, */*;q=0.1';
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method: request.method, headers, ...bodyInit(body, headers, request.onSent), ...(request.signal ? { signal: request.signal } : {}) });
    } catch (error) {
      if (isAbort(error, request.signal)) throw error;
      throw this.transportFailure(request, 1, error);
    }
    if ((response.status >= 200 && response.status < 300) || request.accept?.includes(response.status)) return response;
    throw await remoteErrorOf(response, `${request.method} ${url}`);
  }

  private transportFailure(request: HttpRequest, attempts: number, error: unknown): TransportError {
    return new TransportError(`${request.method} ${this.url(request.path, request.query)}`, attempts, error);
  }
}

/** Bodies from this size on are streamed (see {@link bodyInit}). */
const STREAMED_BODY_BYTES = 256 * 1024;

/**
 * The `body` part of a fetch call. fetch copies a byte-array body whole
 * before sending it (as the Fetch standard says): for a 32 MiB upload chunk
 * that is 32 MiB of fresh pages per request, which cost more system time
 * than sending it. Large bodies therefore go as a stream of views of the
 * caller's bytes, with their Content-Length set here (so no chunked
 * encoding). The caller must leave the bytes untouched until the call settles.
 */
function bodyInit(body: Uint8Array | string | undefined, headers: Record<string, string>, onSent?: () => void): { body?: RequestInit['body']; duplex?: 'half' } {
  if (body === undefined) return {};
  if (typeof body === 'string' || body.byteLength < STREAMED_BODY_BYTES) return { body };
  headers['Content-Length'] = String(body.byteLength);
  const bytes = body;
  async function* views(): AsyncGenerator<Uint8Array> {
    const slice = 1 << 20;
    for (let at = 0; at < bytes.byteLength; at += slice) yield bytes.subarray(at, Math.min(at + slice, bytes.byteLength));
    // Asked for more after the last view: everything has been taken for sending.
    onSent?.();
  }
  return { body: views() as unknown as RequestInit['body'], duplex: 'half' };
}

/** Reads an error response into a {@link RemoteError}. */
export async function remoteErrorOf(response: Response, request: string): Promise<RemoteError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // the body broke off: the status is all we have
  }
  let problem: Problem | null = null;
  if (/json/i.test(response.headers.get('content-type') ?? '') && text) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) problem = parsed as Problem;
    } catch {
      // not JSON after all: keep the text
    }
  }
  return new RemoteError({ status: response.status, problem, text, headers: response.headers, request });
}

/** The delay before retry number `tried` (1-based), honouring `Retry-After` seconds. */
export function retryDelay(policy: RetryPolicy, tried: number, error?: unknown): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (tried - 1));
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  const retryAfter = error instanceof RemoteError ? Number(error.headers.get('retry-after')) : Number.NaN;
  if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfter * 1000));
  return jittered;
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? abortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason ?? abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True when `error` is the abort of `signal` (or any AbortError). */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function abortError(): Error {
  const error = new Error('the operation was aborted');
  error.name = 'AbortError';
  return error;
}
