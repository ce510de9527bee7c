/**
 * `socketGet` / `SocketBody` (the S3 backend's large reads, ADR 0033) against
 * real HTTP servers over loopback that answer the ways a store may: sized
 * bodies fast or in trickles, error statuses, chunked bodies, connections
 * cut short. The RGW runs of the shared backend suite cover a real store.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { socketGet, type SocketResponse } from '../../src/storage/backends/s3/socket-read.js';
import { isRecyclingBody, writeBody } from '../../src/storage/index.js';
import { SlowSink } from './support.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('storage/s3 socket reads', () => {
  const content = randomBytes(9 * 1024 * 1024 + 777);
  let server: net.Server | undefined;
  const requests: string[] = [];

  afterEach(async () => {
    (server as Partial<http.Server> | undefined)?.closeAllConnections?.();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    requests.length = 0;
  });

  async function listen(created: net.Server): Promise<URL> {
    server = created;
    await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
    return new URL(`http://127.0.0.1:${(created.address() as AddressInfo).port}/bucket/key?X-Amz-Signature=abc`);
  }

  /** An HTTP server answering every GET with `content` (or the asked range), in pieces of `piece` bytes. */
  function sizedServer(piece = 256 * 1024): Promise<URL> {
    return listen(http.createServer((request, response) => {
      requests.push(`${request.method} ${request.url} range=${request.headers.range ?? ''}`);
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
      const body = range ? content.subarray(Number(range[1]), Number(range[2]) + 1) : content;
      response.writeHead(range ? 206 : 200, {
        'content-length': String(body.length),
        ...(range ? { 'content-range': `bytes ${range[1]}-${range[2]}/${content.length}` } : {}),
      });
      let offset = 0;
      const next = (): void => {
        while (offset < body.length) {
          const more = response.write(body.subarray(offset, offset + piece));
          offset += piece;
          if (!more) return void response.once('drain', next);
        }
        response.end();
      };
      next();
    }));
  }

  async function opened(url: URL, headers: Record<string, string> = {}): Promise<SocketResponse> {
    const response = await socketGet(url, headers);
    assert.ok(response !== null, 'the answer is served on the socket');
    return response;
  }

  it('sends the GET with its query and headers and reads a sized body exactly, as a stream', async () => {
    const url = await sizedServer();
    const response = await opened(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(content.length));
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    assert.equal(sha256(Buffer.concat(chunks)), sha256(content));
    assert.deepEqual(requests, ['GET /bucket/key?X-Amz-Signature=abc range=']);
    assert.ok(!isRecyclingBody(response.body), 'a body already read is not written again');
  });

  it('writes a body into a slow writable with at most four recycled buffers, byte for byte', async () => {
    const url = await sizedServer();
    const response = await opened(url);
    assert.ok(isRecyclingBody(response.body));
    const sink = new SlowSink();
    await writeBody(response.body, sink);
    assert.equal(sha256(Buffer.concat(sink.chunks)), sha256(content), 'no buffer was refilled before its bytes were taken');
    assert.ok(sink.backingBuffers.size <= 4, `${sink.backingBuffers.size} distinct buffers`);
    assert.ok(sink.chunks.length > 4, 'the body took more writes than there are buffers');
    assert.ok(sink.writableFinished);
  });

  it('reads a range answer (206) with its Content-Range', async () => {
    const url = await sizedServer();
    const response = await opened(url, { range: 'bytes=100-2000199' });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), `bytes 100-2000199/${content.length}`);
    const sink = new SlowSink();
    await writeBody(response.body, sink);
    assert.ok(Buffer.concat(sink.chunks).equals(content.subarray(100, 2_000_200)));
    assert.deepEqual(requests, ['GET /bucket/key?X-Amz-Signature=abc range=bytes=100-2000199']);
  });

  it('passes bytes on as they trickle in, without waiting to fill a buffer', async () => {
    // The server sends a first piece and the rest only once the client has written that piece out.
    let firstWritten!: () => void;
    const written = new Promise<void>((resolve) => { firstWritten = resolve; });
    const url = await listen(http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': '15' });
      response.write('first');
      void written.then(() => response.end('-and the rest'.slice(0, 10)));
    }));
    const response = await opened(url);
    const sink = new (class extends SlowSink {
      override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
        super._write(chunk, encoding, callback);
        firstWritten();
      }
    })();
    await writeBody(response.body, sink);
    assert.equal(Buffer.concat(sink.chunks).toString(), 'first-and the r');
    assert.equal(sink.chunks[0]!.toString(), 'first');
  });

  it('serves a body that arrived whole with the head, in both modes', async () => {
    const url = await listen(http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': '5' });
      response.end('small');
    }));
    const streamed = await opened(url);
    const chunks: Buffer[] = [];
    for await (const chunk of streamed.body) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'small');
    const written = await opened(url);
    const sink = new SlowSink();
    await writeBody(written.body, sink);
    assert.equal(Buffer.concat(sink.chunks).toString(), 'small');
  });

  it('leaves error statuses, chunked and unsized bodies and malformed heads to the regular client (null)', async () => {
    const answers: Array<(socket: net.Socket) => void> = [
      (socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNoSuchKey'),
      (socket) => socket.end('HTTP/1.1 416 Requested Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n'),
      (socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
      (socket) => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nunsized body'),
      (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'),
      (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ntoo long'),
      (socket) => socket.end('SSH-2.0-OpenSSH\r\n\r\n'),
      (socket) => socket.end(`HTTP/1.1 200 OK\r\nX-Padding: ${'a'.repeat(70_000)}\r\n`),
    ];
    let next = 0;
    const url = await listen(net.createServer((socket) => {
      socket.once('data', () => answers[next++]!(socket));
      socket.on('error', () => undefined);
    }));
    for (let i = 0; i < answers.length; i += 1) assert.equal(await socketGet(url, {}), null, `answer ${i} is not served on the socket`);
  });

  it('fails with STORAGE_FAILURE when the store closes the connection before the end, in both modes', async () => {
    const url = await listen(net.createServer((socket) => {
      socket.once('data', () => socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n${'x'.repeat(100_000)}`));
    }));
    const streamed = await opened(url);
    await assert.rejects(async () => {
      for await (const _chunk of streamed.body) void _chunk;
    }, (error: Error & { code?: string }) => error.code === 'STORAGE_FAILURE' && /2900000 bytes before the end/.test(error.message));
    const written = await opened(url);
    const sink = new SlowSink();
    await assert.rejects(writeBody(written.body, sink), (error: Error & { code?: string }) => error.code === 'STORAGE_FAILURE');
    assert.ok(sink.destroyed, 'the destination is destroyed, so a client sees a cut response');
  });

  it('fails a read whose connection goes idle, and closes a body nobody reads without an unhandled error', async () => {
    const url = await listen(net.createServer((socket) => {
      // A head and the first bytes, then silence.
      socket.once('data', () => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`));
      socket.on('error', () => undefined);
    }));
    const written = await socketGet(url, {}, { idleTimeoutMs: 200 });
    const sink = new SlowSink();
    await assert.rejects(written!.body.writeInto(sink), (error: Error & { code?: string }) => error.code === 'STORAGE_FAILURE' && /idle/.test(error.message));
    assert.ok(sink.destroyed);
    const abandoned = await socketGet(url, {}, { idleTimeoutMs: 200 });
    await new Promise<void>((resolve) => abandoned!.body.once('close', () => resolve()));
    assert.ok(abandoned!.body.destroyed, 'closed once idle, and the process is still running (no uncaught error)');
    await assert.rejects(async () => {
      for await (const _chunk of abandoned!.body) void _chunk;
    });
  });

  it('stops reading and closes its connection when the destination goes away', async () => {
    let storeSocketClosed!: () => void;
    const closed = new Promise<void>((resolve) => { storeSocketClosed = resolve; });
    const url = await listen(http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': String(content.length) });
      response.write(content.subarray(0, 1024 * 1024));
      response.on('close', storeSocketClosed);
    }));
    const response = await opened(url);
    const sink = new (class extends SlowSink {
      override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
        super._write(chunk, encoding, callback);
        this.destroy();
      }
    })();
    await assert.rejects(response.body.writeInto(sink), (error: Error & { code?: string }) => error.code === 'ERR_STREAM_PREMATURE_CLOSE');
    await closed;
  });

  it('rejects when the store cannot be reached, and refuses URLs that are not plain HTTP', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await assert.rejects(socketGet(new URL(`http://127.0.0.1:${port}/bucket/key`), {}), (error: Error & { code?: string }) => error.code === 'ECONNREFUSED');
    await assert.rejects(socketGet(new URL('https://127.0.0.1/bucket/key'), {}), (error: Error & { code?: string }) => error.code === 'INTERNAL');
  });
});
