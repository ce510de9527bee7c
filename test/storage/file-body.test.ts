import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { FileBody } from '../../src/storage/backends/local/file-body.js';
import { isRecyclingBody, writeBody } from '../../src/storage/index.js';
import { SlowSink } from './support.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('storage/local FileBody', () => {
  let dir: string;
  let file: string;
  let content: Buffer;
  let server: http.Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'file-body-'));
    file = path.join(dir, 'object');
    content = randomBytes(5 * 1024 * 1024 + 12_345);
    await writeFile(file, content);
  });
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** Serves one FileBody per request over loopback; returns the port and what each writeInto ended with. */
  async function serve(start: number, end: number): Promise<{ port: number; outcomes: Array<Promise<unknown>>; handles: Array<{ fd: number }> }> {
    const outcomes: Array<Promise<unknown>> = [];
    const handles: Array<{ fd: number }> = [];
    server = http.createServer((_request, response) => {
      void open(file, 'r').then((handle) => {
        handles.push(handle);
        response.setHeader('Content-Length', String(end - start));
        const body = new FileBody(handle, start, end);
        assert.ok(isRecyclingBody(body));
        outcomes.push(writeBody(body, response).then(() => 'ok', (error: Error & { code?: string }) => error));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { port: (server!.address() as AddressInfo).port, outcomes, handles };
  }

  function get(port: number, onResponse?: (response: http.IncomingMessage) => void): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (response) => {
        onResponse?.(response);
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks)));
        response.on('error', reject);
      }).on('error', reject);
    });
  }

  it('writes a whole file and a byte range into an HTTP response, exactly, and closes the file', async () => {
    for (const [start, end] of [[0, content.length], [1_000_001, 3_500_000]] as const) {
      const { port, outcomes, handles } = await serve(start, end);
      const received = await get(port);
      assert.equal(received.length, end - start);
      assert.equal(sha256(received), sha256(content.subarray(start, end)));
      assert.equal(await outcomes[0], 'ok');
      assert.equal(handles[0]!.fd, -1, 'the file handle is closed');
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    }
  });

  it('keeps at most four buffers in flight and reuses them only after the write called back', async () => {
    const handle = await open(file, 'r');
    const sink = new SlowSink();
    await new FileBody(handle, 0, content.length).writeInto(sink);
    assert.ok(sink.backingBuffers.size <= 4, `${sink.backingBuffers.size} distinct buffers`);
    assert.ok(sink.chunks.length > 4, 'the file took more writes than there are buffers');
    assert.equal(sha256(Buffer.concat(sink.chunks)), sha256(content), 'no buffer was refilled before its bytes were taken');
    assert.equal(handle.fd, -1);
  });

  it('reads as an ordinary stream too, with the same bytes', async () => {
    const handle = await open(file, 'r');
    const body = new FileBody(handle, 10, content.length - 10);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    assert.equal(sha256(Buffer.concat(chunks)), sha256(content.subarray(10, content.length - 10)));
    assert.ok(!isRecyclingBody(body), 'a stream already read is not written again');
  });

  it('stops, rejects with a premature close and closes the file when the client goes away', async () => {
    const { port, outcomes, handles } = await serve(0, content.length);
    await new Promise<void>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (response) => {
        response.once('data', () => {
          response.destroy();
          resolve();
        });
      });
    });
    while (outcomes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const outcome = (await outcomes[0]) as Error & { code?: string };
    assert.equal(outcome.code, 'ERR_STREAM_PREMATURE_CLOSE');
    assert.equal(handles[0]!.fd, -1);
  });

  it('reports a file shorter than promised as damage in both modes, instead of a short body', async () => {
    await truncate(file, 2 * 1024 * 1024);
    const sink = new SlowSink();
    await assert.rejects(new FileBody(await open(file, 'r'), 0, content.length).writeInto(sink), (error: Error & { code?: string }) => error.code === 'STORAGE_FAILURE' && /damaged/.test(error.message));
    assert.ok(sink.destroyed, 'the destination is destroyed, so a client sees a cut response');
    const reading = new FileBody(await open(file, 'r'), 0, content.length);
    await assert.rejects(async () => {
      for await (const _chunk of reading) void _chunk;
    }, (error: Error & { code?: string }) => error.code === 'STORAGE_FAILURE');
  });

  it('writeBody pipes streams that cannot recycle', async () => {
    const source = new PassThrough();
    const sink = new SlowSink();
    const done = writeBody(source, sink);
    source.end(Buffer.from('plain'));
    await done;
    assert.equal(Buffer.concat(sink.chunks).toString(), 'plain');
  });
});
