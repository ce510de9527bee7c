/**
 * @module storage/backends/s3/socket-read
 * Large object reads from a plain-HTTP store on a socket of our own, reading
 * into buffers we own (ADR 0033).
 *
 * Why: Node's HTTP client (under the AWS SDK) hands over every socket read as
 * a fresh 64 KiB buffer. A 1 GiB download through the registry made ~16,000
 * of them, and the garbage collector's work for them dominated the server's
 * CPU (ADR 0029). `net.Socket`'s `onread` reads into a buffer the caller
 * supplies instead: one 1 MiB read buffer per download, whose bytes are
 * copied into a few recycled 1 MiB buffers that are written out.
 *
 * Scope: one GET of a presigned URL, `Connection: close`, answered with a
 * `Content-Length` body. Anything else (an error status, a chunked or
 * unsized body, an over-long head) is reported as "not served" and the
 * caller reads through the SDK, which owns error mapping. HTTPS stores are
 * read through the SDK (a TLS socket takes no `onread`).
 */
import net from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { RegistryError } from '../../../errors/index.js';
import { writeThroughTarget, type RecyclingBody } from '../../body.js';

/** Bytes of one socket read, and of each recycled output buffer. */
const READ_BUFFER_BYTES = 1024 * 1024;
/** Output buffers one {@link SocketBody.writeInto} keeps in flight. */
const RECYCLED_BUFFERS = 4;
/** A response head longer than this is not one we serve. */
const MAX_HEAD_BYTES = 64 * 1024;
/** A connection silent for this long (the store sending nothing, or the reader taking nothing) fails the read. */
const IDLE_TIMEOUT_MS = 120_000;

/** A response whose body {@link SocketBody} streams. */
export interface SocketResponse {
  /** 200 or 206. */
  readonly status: number;
  /** Header names in lowercase. */
  readonly headers: ReadonlyMap<string, string>;
  /** The body: exactly `Content-Length` bytes, or an error. */
  readonly body: SocketBody;
}

/**
 * Sends `GET url` (plain `http:` only) with `headers` and waits for the
 * response head. Resolves with the response when it is a 200 or 206 with a
 * `Content-Length` body; with `null` (connection closed) for any other
 * answer, which the caller then makes through its regular client. A
 * connection idle for `idleTimeoutMs` (default 120 s) fails the read.
 * Rejects when the connection fails or closes before a head arrives, and
 * (`INTERNAL`) for a URL that is not `http:`.
 */
export function socketGet(url: URL, headers: Readonly<Record<string, string>>, options: { idleTimeoutMs?: number } = {}): Promise<SocketResponse | null> {
  const idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  if (url.protocol !== 'http:') return Promise.reject(new RegistryError('INTERNAL', `socket reads are for http: URLs, got ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    let head: Buffer | null = Buffer.alloc(0);
    let body: SocketBody | undefined;
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    const socket = net.connect({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? 80 : Number(url.port),
      onread: {
        buffer: readBuffer,
        callback: (bytes: number, buffer: Uint8Array): boolean => {
          const received = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
          if (body !== undefined) return body.received(received);
          head = Buffer.concat([head!, received]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            if (head.length > MAX_HEAD_BYTES) {
              socket.destroy();
              resolve(null);
            }
            return true;
          }
          const parsed = parseHead(head.subarray(0, end).toString('latin1'));
          const leftover = head.subarray(end + 4);
          head = null;
          const length = Number(parsed?.headers.get('content-length') ?? Number.NaN);
          if (
            parsed === null ||
            (parsed.status !== 200 && parsed.status !== 206) ||
            parsed.headers.has('transfer-encoding') ||
            !Number.isSafeInteger(length) ||
            length < 0 ||
            leftover.length > length
          ) {
            socket.destroy();
            resolve(null);
            return false;
          }
          body = new SocketBody(socket, length, Buffer.from(leftover));
          resolve({ status: parsed.status, headers: parsed.headers, body });
          // Paused until the body is consumed one way or the other.
          return false;
        },
      },
    } as net.NetConnectOpts);
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs, () => socket.destroy(new RegistryError('STORAGE_FAILURE', `the connection to the store was idle for ${idleTimeoutMs / 1000} s`)));
    socket.once('connect', () => {
      const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', 'User-Agent: artifactstore'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    socket.on('error', (error) => {
      if (body === undefined) fail(error);
    });
    socket.once('close', () => {
      if (body === undefined && head !== null) fail(new Error('the store closed the connection before answering'));
    });
  });
}

/** Status and headers of an HTTP/1.x response head, or null when it is not one. */
function parseHead(text: string): { status: number; headers: Map<string, string> } | null {
  const [statusLine, ...lines] = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine ?? '');
  if (!status) return null;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    // Repeated headers we act on (length, encoding) make the answer ambiguous: not ours to serve.
    if (headers.has(name) && (name === 'content-length' || name === 'transfer-encoding')) return null;
    headers.set(name, value);
  }
  return { status: Number(status[1]), headers };
}

/**
 * The body of a {@link socketGet} response. Read as a stream, each socket
 * read becomes a chunk of its own (a copy); through {@link writeInto} the
 * bytes are copied into {@link RECYCLED_BUFFERS} recycled buffers, each
 * written when full, or earlier when the response has nothing else in
 * flight. Ends after exactly the announced length; the connection closing
 * earlier is an error. Owns the socket.
 */
export class SocketBody extends Readable implements RecyclingBody {
  private remaining: number;
  /** Where socket reads go: set by `_read` (stream) or `writeInto`. */
  private sink: ((bytes: Buffer) => boolean) | undefined;
  private ended = false;

  constructor(private readonly socket: net.Socket, private readonly length: number, private leftover: Buffer) {
    super({ highWaterMark: READ_BUFFER_BYTES });
    this.remaining = length - leftover.length;
    socket.on('error', (error) => this.fail(error));
    socket.on('end', () => this.fail(this.cutShort()));
    socket.on('close', () => this.fail(this.cutShort()));
  }

  /** The socket's read callback: false pauses the socket. */
  received(bytes: Buffer): boolean {
    if (bytes.length > this.remaining) {
      this.fail(new RegistryError('STORAGE_FAILURE', `the store sent more than the ${this.length} bytes it announced`));
      return false;
    }
    this.remaining -= bytes.length;
    const more = this.sink === undefined ? false : this.sink(bytes);
    if (this.remaining === 0) {
      this.ended = true;
      this.socket.destroy();
      return false;
    }
    return more;
  }

  override _read(): void {
    if (this.sink === undefined) {
      this.sink = (bytes) => {
        const more = this.push(Buffer.from(bytes));
        if (this.remaining === 0) this.push(null);
        return more;
      };
      if (this.leftover.length > 0) this.push(this.leftover);
      this.leftover = Buffer.alloc(0);
      if (this.remaining === 0) {
        this.ended = true;
        this.socket.destroy();
        this.push(null);
        return;
      }
    }
    this.socket.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }

  async writeInto(out: Writable): Promise<void> {
    // Claims the stream: nothing may read it from here on.
    this.pause();
    this.sink = () => false;
    let onFailure: ((error: Error) => void) | undefined;
    try {
      await writeThroughTarget(out, async (target) => {
        const free: Buffer[] = [];
        let allocated = 0;
        let current: Buffer | undefined;
        let filled = 0;
        let inFlight = 0;
        let paused = true;
        const room = (): number => (current === undefined ? 0 : current.length - filled) + (free.length + RECYCLED_BUFFERS - allocated) * READ_BUFFER_BYTES;
        const send = (): void => {
          const buffer = current!;
          const bytes = filled;
          current = undefined;
          filled = 0;
          inFlight += 1;
          out.write(bytes === buffer.length ? buffer : buffer.subarray(0, bytes), (error) => {
            inFlight -= 1;
            // A buffer whose write failed is dropped: the socket may still point at it.
            if (error) return;
            free.push(buffer);
            // Bytes that came in while this write was out go now: nothing else would send them before the next read.
            if (inFlight === 0 && filled > 0) send();
            if (paused && !this.ended && room() >= READ_BUFFER_BYTES) {
              paused = false;
              this.socket.resume();
            }
            target.signal();
          });
        };
        const take = (bytes: Buffer): void => {
          let offset = 0;
          while (offset < bytes.length) {
            if (current === undefined) {
              current = free.pop();
              if (current === undefined) {
                allocated += 1;
                current = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
              }
            }
            const copied = bytes.copy(current, filled, offset);
            filled += copied;
            offset += copied;
            if (filled === current.length) send();
          }
        };
        onFailure = (error: Error): void => target.fail(error);
        this.on('failure', onFailure);
        take(this.leftover);
        this.leftover = Buffer.alloc(0);
        // Coalescing only pays while writes are queued: when none is, the destination waits for bytes.
        if (filled > 0 && inFlight === 0) send();
        this.sink = (bytes) => {
          take(bytes);
          if (filled > 0 && inFlight === 0) send();
          if (this.remaining === 0) target.signal();
          paused = room() < READ_BUFFER_BYTES;
          return !paused;
        };
        if (this.remaining > 0) {
          paused = false;
          this.socket.resume();
        }
        while (this.remaining > 0) {
          target.throwIfStopped();
          await target.wait();
        }
        target.throwIfStopped();
        if (filled > 0) send();
      });
    } finally {
      if (onFailure) this.off('failure', onFailure);
      this.destroy();
    }
  }

  /** Ends the body with `error` unless every byte arrived. */
  private fail(error: Error): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.socket.destroy();
    // writeInto listens for this; a stream reader gets the error itself. A
    // body nobody reads yet is just closed: an 'error' event without a
    // listener would take the process down (a later reader sees it closed).
    if (this.listenerCount('failure') > 0) this.emit('failure', error);
    else if (this.listenerCount('error') > 0) this.destroy(error);
    else this.destroy();
  }

  private cutShort(): RegistryError {
    return new RegistryError('STORAGE_FAILURE', `the store closed the connection ${this.remaining} bytes before the end of the object`);
  }
}
