/**
 * The native-API client of the `native` benchmark, over the same Node
 * `http` code path the `oci` benchmark uses (`bench/oci-client.ts`: one
 * keep-alive agent per server, bodies streamed, response bodies counted and
 * dropped unless asked for), plus the two event readers: a long-poll loop
 * over `GET /events?wait=` and a Server-Sent Events reader over
 * `GET /events/stream`, each reporting every event the moment its JSON is
 * parsed.
 */
import http from 'node:http';
import { expectStatus, fileRange, send, type Target } from './oci-client.js';

/** `JSON.parse` of a reply body that must have `status`. */
export async function jsonCall<T>(to: Target, method: string, where: string, status: number, body?: unknown): Promise<{ value: T; headers: http.IncomingHttpHeaders }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const reply = await send(to, method, where, {
    headers: payload ? { 'content-type': 'application/json' } : {},
    ...(payload ? { body: payload } : {}),
    keepBody: true,
  });
  expectStatus(to, `${method} ${where}`, reply, status);
  return { value: JSON.parse(reply.body.toString('utf8')) as T, headers: reply.headers };
}

/** What a native upload of a file made. */
export interface NativeUpload {
  readonly packageId: string;
  readonly fileId: string;
  readonly size: number;
  readonly digestSha256: string;
  /** Seconds from each PATCH's last byte sent to its response, summed: the server's work per chunk after the body. */
  readonly patchTailSeconds: number;
  /** Seconds of `POST …/complete`. */
  readonly completeSeconds: number;
}

/**
 * The whole native flow for one file: `POST /packages`, `POST
 * /packages/{id}/uploads` (declaring size and SHA-256), one `PATCH` per
 * `chunk` bytes with `Content-Range: bytes s-e/total` streamed from the
 * file, `POST …/complete`. Checks offsets and the recorded digest.
 */
export async function uploadNative(to: Target, file: string, size: number, sha256: string, chunk: number, name: string): Promise<NativeUpload> {
  const pkg = await jsonCall<{ id: string }>(to, 'POST', '/packages', 201, { name, producer: 'bench', retention_class: 'transient', metadata: { bench: 'native' } });
  const session = await jsonCall<{ id: string; location: string }>(to, 'POST', `/packages/${pkg.value.id}/uploads`, 201, {
    relative_path: 'big.bin',
    media_type: 'application/octet-stream',
    size,
    sha256,
  });
  const location = session.value.location;
  let patchTailSeconds = 0;
  // Two PATCHes in flight: the next chunk is sent as soon as the previous
  // one is on the wire, so its transfer overlaps the previous one's tail
  // (final writes, fsync, answer); the server appends them in order.
  const patchAt = (start: number, onSent: () => void): Promise<void> => {
    const end = Math.min(start + chunk, size) - 1;
    return send(to, 'PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start}-${end}/${size}` },
      stream: { length: end - start + 1, chunks: () => fileRange(file, start, end) },
      keepBody: true,
      onSent,
    }).then((reply) => {
      expectStatus(to, `PATCH ${location} at ${start}`, reply, 200);
      patchTailSeconds += reply.tailSeconds;
      if (reply.headers['upload-offset'] !== String(end + 1)) throw new Error(`${to.label}: PATCH at ${start} left Upload-Offset ${String(reply.headers['upload-offset'])}, expected ${end + 1}`);
    });
  };
  let previous: Promise<void> = Promise.resolve();
  for (let start = 0; start < size; start += chunk) {
    let sent!: () => void;
    const onWire = new Promise<void>((resolve) => (sent = resolve));
    const reply = patchAt(start, sent);
    await Promise.race([onWire, reply]);
    await previous;
    previous = reply;
  }
  await previous;
  const completeStart = process.hrtime.bigint();
  const done = await jsonCall<{ id: string; size: number; digest_sha256: string }>(to, 'POST', `${location}/complete`, 201);
  const completeSeconds = Number(process.hrtime.bigint() - completeStart) / 1e9;
  if (done.value.size !== size || done.value.digest_sha256 !== sha256) {
    throw new Error(`${to.label}: completed upload recorded ${done.value.size} bytes ${done.value.digest_sha256}, expected ${size} ${sha256}`);
  }
  return { packageId: pkg.value.id, fileId: done.value.id, size, digestSha256: sha256, patchTailSeconds, completeSeconds };
}

/** Called with each event's sequence when a reader has parsed it. */
export type OnEvent = (sequence: number, at: number) => void;

/** A running event reader; `stop()` ends it and resolves once it has. */
export interface EventReader {
  /** Resolves once the reader is connected and waiting (its first request is on the server). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows `GET /events?since=…&wait=30&limit=1000` in a loop, reporting every
 * event as its page is parsed, and throwing on a repeated or skipped sequence.
 */
export function longPollReader(base: URL, since: number, onEvent: OnEvent, now: () => number): EventReader {
  const controller = new AbortController();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const loop = (async () => {
    let last = since;
    while (!controller.signal.aborted) {
      const url = new URL(`/events?since=${last}&wait=30&limit=1000`, base);
      let body: string;
      try {
        const pending = getText(url, agent, controller.signal);
        // The request is on the wire; the server holds it until a commit.
        setTimeout(markReady, 50);
        body = await pending;
      } catch (error) {
        if (controller.signal.aborted) return;
        throw error;
      }
      const at = now();
      const page = JSON.parse(body) as { events: Array<{ sequence: number }>; next_since: number };
      for (const event of page.events) {
        if (event.sequence !== last + 1) throw new Error(`long poll: expected sequence ${last + 1}, got ${event.sequence}`);
        last = event.sequence;
        onEvent(event.sequence, at);
      }
    }
  })();
  loop.catch(() => undefined); // reported by stop()
  return {
    ready,
    stop: async () => {
      controller.abort();
      agent.destroy();
      await loop;
    },
  };
}

function getText(url: URL, agent: http.Agent, signal: AbortSignal): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const request = http.get(url, { agent, signal }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (piece: string) => (text += piece));
      response.once('error', reject);
      response.once('end', () => (response.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${url.pathname}${url.search}: ${response.statusCode} ${text.slice(0, 300)}`))));
    });
    request.once('error', reject);
  });
}

/**
 * Reads `GET /events/stream?since=…`, reporting every event as its `data:`
 * line is parsed, and throwing on a repeated or skipped sequence.
 */
export function sseReader(base: URL, since: number, onEvent: OnEvent, now: () => number): EventReader {
  const controller = new AbortController();
  let markReady: () => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const finished = new Promise<void>((resolve, reject) => {
    fail = reject;
    const request = http.get(new URL(`/events/stream?since=${since}`, base), { signal: controller.signal, headers: { accept: 'text/event-stream' } }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`GET /events/stream: ${response.statusCode}`));
        response.resume();
        return;
      }
      let last = since;
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (piece: string) => {
        buffer += piece;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) {
            markReady(); // the opening comment: the server is tailing
            continue;
          }
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (data === undefined) continue;
          const event = JSON.parse(data.slice(6)) as { sequence: number };
          const at = now();
          if (event.sequence !== last + 1) {
            fail(new Error(`SSE: expected sequence ${last + 1}, got ${event.sequence}`));
            controller.abort();
            return;
          }
          last = event.sequence;
          onEvent(event.sequence, at);
        }
      });
      response.once('end', () => resolve());
      response.once('error', (error) => (controller.signal.aborted ? resolve() : reject(error)));
    });
    request.once('error', (error) => (controller.signal.aborted ? resolve() : reject(error)));
  });
  finished.catch(() => undefined); // reported by stop()
  return {
    ready,
    stop: async () => {
      controller.abort();
      await finished;
    },
  };
}
