// A tiny HTTP helper over the global fetch, made for talking to an OCI registry:
// - every request uses `redirect: 'manual'`, so 3xx answers are visible to checks;
// - `Location` headers are resolved against the URL of the request that returned them
//   (RFC 9110 §10.2.2: relative references are relative to the target URI);
// - bodies are Buffers, optionally sent as a stream (no Content-Length, chunked
//   transfer-encoding) to exercise "streamed" blob uploads;
// - `raw()` sends a request path byte-for-byte over node:http, for paths that the WHATWG
//   URL parser used by fetch would normalise (e.g. `..` segments).
import http from 'node:http';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  /** Request headers. Content-Length is computed by fetch for Buffer bodies. */
  headers?: Record<string, string>;
  /** Body sent with a known length (Content-Length). */
  body?: Buffer | string;
  /** Body sent as a stream with unknown length (Transfer-Encoding: chunked). */
  stream?: Buffer;
  /** Chunk size used when streaming `stream`; default 1024 bytes. */
  streamChunkSize?: number;
  /** Query parameters appended to the URL, preserving any query it already has. */
  query?: Record<string, string | string[]>;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
}

export class HttpResponse {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly headers: Headers,
    readonly body: Buffer,
    /** Set when the status and headers arrived but reading the body failed (e.g. truncated). */
    readonly bodyError: string | null = null,
    /** The registry's own redirect this response was reached through ({@link Client.getFollow}), if any. */
    readonly redirectedBy: HttpResponse | null = null,
  ) {}

  /** A header's value (several instances are joined by ", "), or null when absent. */
  header(name: string): string | null {
    return this.headers.get(name);
  }

  /** Every value of a header, splitting comma-joined instances. */
  headerValues(name: string): string[] {
    const v = this.headers.get(name);
    if (v === null) return [];
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  has(name: string): boolean {
    return this.headers.has(name);
  }

  /** The Location header resolved to an absolute URL, or null when absent. */
  location(): string | null {
    const loc = this.headers.get('location');
    if (loc === null || loc === '') return null;
    return new URL(loc, this.url).toString();
  }

  /** The raw Location header value, as sent. */
  rawLocation(): string | null {
    return this.headers.get('location');
  }

  text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON, or undefined when it is not valid JSON. */
  json(): unknown {
    try {
      return JSON.parse(this.text());
    } catch {
      return undefined;
    }
  }

  /** Short description for failure messages: "GET /v2/x → 404". */
  describe(): string {
    const u = new URL(this.url);
    return `${this.method} ${u.pathname}${u.search} → ${this.status}`;
  }
}

export class RequestFailed extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`${method} ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

function bufferStream(buf: Buffer, chunkSize: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= buf.length) {
        controller.close();
        return;
      }
      const end = Math.min(buf.length, offset + chunkSize);
      controller.enqueue(new Uint8Array(buf.subarray(offset, end)));
      offset = end;
    },
  });
}

/** Append query parameters to a URL string without re-encoding the query already there. */
export function appendQuery(url: string, query: Record<string, string | string[]> | undefined): string {
  if (!query) return url;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`);
    }
  }
  if (parts.length === 0) return url;
  const hashAt = url.indexOf('#');
  const base = hashAt >= 0 ? url.slice(0, hashAt) : url;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return base + sep + parts.join('&');
}

export class RegistryClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly defaults: { headers?: Record<string, string>; timeoutMs?: number } = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Resolve a path ("/v2/...") or absolute URL against the registry's base URL. */
  resolve(pathOrUrl: string): string {
    if (/^https?:\/\//i.test(pathOrUrl)) return pathOrUrl;
    return new URL(pathOrUrl, this.baseUrl + '/').toString();
  }

  async request(method: Method, pathOrUrl: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const url = appendQuery(this.resolve(pathOrUrl), opts.query);
    const headers: Record<string, string> = { ...(this.defaults.headers ?? {}), ...(opts.headers ?? {}) };
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? this.defaults.timeoutMs ?? 30_000),
    };
    if (opts.stream !== undefined) {
      init.body = bufferStream(opts.stream, opts.streamChunkSize ?? 1024);
      init.duplex = 'half';
    } else if (opts.body !== undefined) {
      init.body = typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body);
    }
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (err) {
      throw new RequestFailed(method, url, (err as { cause?: unknown }).cause ?? err);
    }
    let body = Buffer.alloc(0);
    let bodyError: string | null = null;
    if (method !== 'HEAD') {
      try {
        body = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        const e = err as Error & { cause?: unknown };
        const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
        bodyError = `${e.message}${cause}`;
      }
    }
    return new HttpResponse(method, url, res.status, res.headers, body, bodyError);
  }

  get(p: string, o?: RequestOptions): Promise<HttpResponse> {
    return this.request('GET', p, o);
  }
  head(p: string, o?: RequestOptions): Promise<HttpResponse> {
    return this.request('HEAD', p, o);
  }
  post(p: string, o?: RequestOptions): Promise<HttpResponse> {
    return this.request('POST', p, o);
  }
  put(p: string, o?: RequestOptions): Promise<HttpResponse> {
    return this.request('PUT', p, o);
  }
  patch(p: string, o?: RequestOptions): Promise<HttpResponse> {
    return this.request('PATCH', p, o);
  }
  delete(p: string, o?: RequestOptions): Promise<HttpResponse> {
    return this.request('DELETE', p, o);
  }

  /**
   * GET that follows up to `max` redirects (blob GETs MAY redirect to
   * another service). A response reached through redirects carries the
   * registry's first answer in `redirectedBy`: headers only the registry can
   * set (Docker-Content-Digest) are on that one.
   */
  async getFollow(p: string, o: RequestOptions = {}, max = 5): Promise<HttpResponse> {
    const first = await this.get(p, o);
    let res = first;
    for (let i = 0; i < max && isRedirect(res.status); i++) {
      const next = res.location();
      if (next === null) break;
      res = await this.get(next, { ...o, query: undefined });
    }
    return res === first ? res : new HttpResponse(res.method, res.url, res.status, res.headers, res.body, res.bodyError, first);
  }

  /**
   * Send a request whose path goes on the wire exactly as given (no URL normalisation).
   * Used for names containing `..`, which fetch would resolve away before sending.
   */
  raw(method: Method, rawPath: string, opts: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpResponse> {
    const base = new URL(this.baseUrl);
    if (base.protocol !== 'http:') {
      return Promise.reject(new Error(`raw requests support http:// only, not ${base.protocol}`));
    }
    const prefix = base.pathname.replace(/\/+$/, '');
    const path = prefix + rawPath;
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = http.request(
        {
          host: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port === '' ? 80 : Number(base.port),
          method,
          path,
          headers: { ...(this.defaults.headers ?? {}), ...(opts.headers ?? {}) },
          timeout: opts.timeoutMs ?? this.defaults.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (v === undefined) continue;
              for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
            }
            resolve(new HttpResponse(method, base.origin + path, res.statusCode ?? 0, headers, Buffer.concat(chunks)));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => reject(new RequestFailed(method, path, err)));
      req.end();
    });
  }
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}
