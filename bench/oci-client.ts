/**
 * The OCI client of the `oci` benchmark: one code path for every registry
 * under test, over Node's `http` with a keep-alive agent. Request bodies are
 * streamed from what the caller hands over (slices of a pre-generated buffer,
 * or a file read in 1 MiB pieces); response bodies of blob pulls are counted
 * and dropped, never held.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { MiB } from './lib.js';

/** A registry under test. */
export interface Target {
  readonly label: string;
  readonly base: URL;
  readonly agent: http.Agent;
}

/**
 * A new target at `base` (`http://127.0.0.1:port`). The agent's `timeout`
 * is what makes Node 20's agent honour a server's `Keep-Alive: timeout=N`
 * (it retires an idle socket a second before N only when it has a timeout
 * of its own): without it, a request could reuse a connection the server
 * was closing and fail with "socket hang up" (seen in the oci bench after
 * the other registry's 1 GiB push left ours idle for over 5 s).
 */
export function target(label: string, base: string): Target {
  return { label, base: new URL(base), agent: new http.Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 32, timeout: 120_000 }) };
}

/** A finished exchange. `body` is kept only when asked for; `bytes` always counts it. */
export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly bytes: number;
  /** Seconds from the last request byte handed to the kernel to the response head: the server's work after the upload. */
  readonly tailSeconds: number;
}

export interface SendOptions {
  readonly headers?: http.OutgoingHttpHeaders;
  /** A whole body sent at once (small payloads: manifests). */
  readonly body?: Buffer;
  /** A streamed body of `length` bytes. */
  readonly stream?: { readonly length: number; readonly chunks: () => AsyncIterable<Buffer> };
  /** Keep the response body (otherwise it is counted and dropped). */
  readonly keepBody?: boolean;
  /** Called once the whole request (head and body) has been handed to the kernel. */
  readonly onSent?: () => void;
}

/** One request to `where` (a path or an absolute URL a registry returned). */
export function send(to: Target, method: string, where: string, options: SendOptions = {}): Promise<Reply> {
  const url = new URL(where, to.base);
  const headers: http.OutgoingHttpHeaders = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(options.body.length);
  else if (options.stream !== undefined) headers['content-length'] = String(options.stream.length);
  else if (method === 'PUT' || method === 'POST' || method === 'PATCH') headers['content-length'] = '0';
  return new Promise<Reply>((resolve, reject) => {
    const request = http.request(url, { method, headers, agent: to.agent });
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    request.once('error', fail);
    let finished = 0n;
    request.once('finish', () => {
      finished = process.hrtime.bigint();
      options.onSent?.();
    });
    request.once('response', (response) => {
      const tailSeconds = finished === 0n ? 0 : Number(process.hrtime.bigint() - finished) / 1e9;
      const kept: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (options.keepBody) kept.push(chunk);
      });
      response.once('error', fail);
      response.once('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(kept), bytes, tailSeconds });
      });
    });
    if (options.stream !== undefined) {
      // A registry that answers early (an error) and closes makes the
      // pipeline fail; the response, if any, is what the caller needs.
      pipeline(options.stream.chunks(), request).catch((error: unknown) => setTimeout(() => fail(error), 200));
    } else {
      request.end(options.body);
    }
  });
}

/** Throws unless `reply` has `status`, naming the step and the registry. */
export function expectStatus(to: Target, what: string, reply: Reply, status: number): Reply {
  if (reply.status !== status) {
    const text = reply.body.length > 0 ? `: ${reply.body.toString('utf8', 0, 400)}` : '';
    throw new Error(`${to.label}: ${what} answered ${reply.status}, expected ${status}${text}`);
  }
  return reply;
}

function header(reply: Reply, name: string): string {
  const value = reply.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) throw new Error(`response has no ${name} header`);
  return text;
}

function withQuery(location: string, key: string, value: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

/** Bytes to push: their size, OCI digest and a way to stream them (any number of times). */
export interface BlobSource {
  readonly size: number;
  readonly digest: string;
  chunks(): AsyncIterable<Buffer>;
}

/** `bytes` streamed in slices of at most `slice` bytes. */
export async function* slices(bytes: Buffer, slice = MiB): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += slice) yield bytes.subarray(at, Math.min(at + slice, bytes.length));
}

/**
 * A buffer whose last 16 bytes are stamped per use, so every push of it is a
 * different blob (no registry can skip work for content it already holds)
 * while the SHA-256 of the rest is computed once.
 */
export class StampedBuffer {
  private readonly prefix: Hash;

  constructor(readonly bytes: Buffer) {
    if (bytes.length < 16) throw new Error('a stamped buffer needs at least 16 bytes');
    this.prefix = createHash('sha256').update(bytes.subarray(0, bytes.length - 16));
  }

  /** Stamps `tag` into the buffer and returns it as a blob (valid until the next stamp). */
  stamp(tag: string): BlobSource {
    const stamp = stampBytes(tag);
    stamp.copy(this.bytes, this.bytes.length - 16);
    const digest = `sha256:${this.prefix.copy().update(stamp).digest('hex')}`;
    const bytes = this.bytes;
    return { size: bytes.length, digest, chunks: () => slices(bytes) };
  }
}

/**
 * A file followed by a 16-byte stamp: a large blob streamed from disk, never
 * held in memory, different per stamp, hashed once. `prefix` is the SHA-256
 * state of the file's bytes (computed while the file was written).
 */
export function stampedFile(file: string, fileSize: number, prefix: Hash, tag: string): BlobSource {
  const stamp = stampBytes(tag);
  const digest = `sha256:${prefix.copy().update(stamp).digest('hex')}`;
  return {
    size: fileSize + 16,
    digest,
    async *chunks() {
      yield* fileRange(file, 0, fileSize - 1);
      yield stamp;
    },
  };
}

/** Read buffers of finished {@link fileRange} calls, for the next ones. */
const spareReadBuffers: Buffer[] = [];

/**
 * The bytes `start..end` (inclusive) of `file`, in pieces of up to 1 MiB
 * read into one buffer that is reused for the next piece and, afterwards,
 * by the next call. Reading into fresh buffers made the client fault in
 * every page it read into: up to a core-second per GiB on this 2-core
 * machine, taken from the server under test. Safe only for a consumer
 * that is done with a piece when it asks for the next one; `send`'s
 * `pipeline` is (it waits for the request to drain after each write of a
 * piece larger than the socket's high-water mark).
 */
export async function* fileRange(file: string, start: number, end: number): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  const buffer = spareReadBuffers.pop() ?? Buffer.allocUnsafeSlow(MiB);
  try {
    for (let at = start; at <= end;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - at + 1), at);
      if (bytesRead === 0) throw new Error(`${file} ended at byte ${at}, before ${end + 1}`);
      yield buffer.subarray(0, bytesRead);
      at += bytesRead;
    }
  } finally {
    spareReadBuffers.push(buffer);
    await handle.close();
  }
}

function stampBytes(tag: string): Buffer {
  const stamp = Buffer.alloc(16, 0x20);
  stamp.write(tag.slice(0, 16), 'latin1');
  return stamp;
}

/** Starts an upload session; returns its location. */
async function startSession(to: Target, repo: string): Promise<string> {
  const reply = expectStatus(to, `POST ${repo} upload`, await send(to, 'POST', `/v2/${repo}/blobs/uploads/`, { keepBody: true }), 202);
  return header(reply, 'location');
}

/**
 * Monolithic push: POST a session, PUT the whole blob with `?digest=`.
 * Returns the PUT's tail (last byte sent → response).
 */
export async function pushMonolithic(to: Target, repo: string, blob: BlobSource): Promise<number> {
  const location = await startSession(to, repo);
  const reply = await send(to, 'PUT', withQuery(location, 'digest', blob.digest), {
    headers: { 'content-type': 'application/octet-stream' },
    stream: { length: blob.size, chunks: () => blob.chunks() },
    keepBody: true,
  });
  expectStatus(to, `PUT ${repo} blob ${blob.size} bytes`, reply, 201);
  if (header(reply, 'docker-content-digest') !== blob.digest) throw new Error(`${to.label}: pushed ${blob.digest}, registry says ${header(reply, 'docker-content-digest')}`);
  return reply.tailSeconds;
}

/** Chunked push: POST a session, PATCH `chunk`-byte pieces with Content-Range, PUT `?digest=` without a body. */
export async function pushChunked(to: Target, repo: string, blob: BlobSource & { readonly bytes: Buffer }, chunk: number): Promise<{ patchTail: number; closeSeconds: number }> {
  let patchTail = 0;
  let location = await startSession(to, repo);
  for (let start = 0; start < blob.size; start += chunk) {
    const piece = blob.bytes.subarray(start, Math.min(start + chunk, blob.size));
    const reply = await send(to, 'PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + piece.length - 1}` },
      stream: { length: piece.length, chunks: () => slices(piece) },
      keepBody: true,
    });
    expectStatus(to, `PATCH ${repo} chunk at ${start}`, reply, 202);
    patchTail += reply.tailSeconds;
    location = header(reply, 'location');
  }
  const start = process.hrtime.bigint();
  expectStatus(to, `PUT ${repo} closing the upload`, await send(to, 'PUT', withQuery(location, 'digest', blob.digest), { keepBody: true }), 201);
  return { patchTail, closeSeconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

/** Pulls a blob, counting and dropping its bytes; checks the size. */
export async function pullBlob(to: Target, repo: string, digest: string, size: number): Promise<void> {
  const reply = expectStatus(to, `GET ${repo} blob`, await send(to, 'GET', `/v2/${repo}/blobs/${digest}`), 200);
  if (reply.bytes !== size) throw new Error(`${to.label}: pulled ${reply.bytes} bytes of ${digest}, expected ${size}`);
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
/** What a manifest GET/HEAD accepts (distribution 2.8 hides OCI manifests from clients that do not ask for them). */
export const MANIFEST_ACCEPT = `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json`;

/** Pushes a manifest under `reference`; returns the digest the registry reports. */
export async function putManifest(to: Target, repo: string, reference: string, bytes: Buffer): Promise<string> {
  const reply = await send(to, 'PUT', `/v2/${repo}/manifests/${reference}`, { headers: { 'content-type': OCI_MANIFEST }, body: bytes, keepBody: true });
  expectStatus(to, `PUT ${repo} manifest ${reference}`, reply, 201);
  return header(reply, 'docker-content-digest');
}

/** Mounts `digest` from `from` into `repo` (201), as a client reusing a layer does. */
export async function mountBlob(to: Target, repo: string, digest: string, from: string): Promise<void> {
  const path = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  expectStatus(to, `mount ${digest} into ${repo}`, await send(to, 'POST', path, { keepBody: true }), 201);
}

/**
 * Walks a paged listing from `first`, following `Link: <…>; rel="next"`
 * until there is none; returns every entry of `field` and the page count.
 */
export async function walkPages(to: Target, first: string, field: 'tags' | 'repositories'): Promise<{ items: string[]; pages: number }> {
  const items: string[] = [];
  let pages = 0;
  let next: string | undefined = first;
  while (next !== undefined) {
    const reply = expectStatus(to, `GET ${next}`, await send(to, 'GET', next, { keepBody: true }), 200);
    pages += 1;
    const parsed = JSON.parse(reply.body.toString('utf8')) as Record<string, string[] | null>;
    items.push(...(parsed[field] ?? []));
    const link = reply.headers.link;
    const match = link === undefined ? null : /<([^>]+)>\s*;\s*rel="?next"?/.exec(Array.isArray(link) ? link.join(', ') : link);
    next = match?.[1];
    if (pages > 10_000) throw new Error(`${to.label}: ${first} did not end after 10,000 pages`);
  }
  return { items, pages };
}

/** Runs `work(i)` for i in [0, count) with `concurrency` workers. */
export async function parallel(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
