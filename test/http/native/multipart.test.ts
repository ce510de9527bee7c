import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import type { Request } from 'express';
import { multipartParts, type FilePart, type Part } from '../../../src/http/native/multipart.js';
import { isRegistryError } from '../../../src/errors/index.js';
import { multipartBody, patternBytes } from './helpers.js';

/** A stand-in for an incoming request: a byte stream with headers. */
function fakeRequest(contentType: string): PassThrough & Request {
  const request = Object.assign(new PassThrough(), { headers: { 'content-type': contentType }, complete: false });
  request.once('end', () => (request.complete = true));
  return request as unknown as PassThrough & Request;
}

async function readAll(content: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of content) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Lets pending I/O callbacks and ticks run (a turn of the event loop, not a delay). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('http/native/multipart', () => {
  it('yields fields and files in order and does not read ahead of an unread file', async () => {
    const first = patternBytes(4 * 1024 * 1024, 21);
    const form = multipartBody([
      { field: 'relative_path', value: 'x/first.bin' },
      { file: 'f', filename: 'ignored', contentType: 'application/x-first', content: first },
      { file: 'f', filename: 'dir/second.txt', contentType: 'text/plain', content: 'second' },
    ]);
    // Fed in 64 KiB pieces, as a socket would; count how many were pulled.
    const request = fakeRequest(form.contentType);
    const piece = 64 * 1024;
    let pulled = 0;
    Readable.from(
      (function* () {
        for (let offset = 0; offset < form.body.length; offset += piece) {
          pulled += 1;
          yield form.body.subarray(offset, offset + piece);
        }
      })(),
    ).pipe(request);
    const parts = multipartParts(request);

    const field = (await parts.next()).value as Part;
    assert.deepEqual(field, { kind: 'field', name: 'relative_path', value: 'x/first.bin' });
    const file = (await parts.next()).value as FilePart;
    assert.equal(file.kind, 'file');
    assert.equal(file.filename, 'ignored');
    assert.equal(file.mediaType, 'application/x-first');

    // Nobody reads the first file: backpressure stops reading the body.
    for (let index = 0; index < 50; index += 1) await turn();
    assert.ok(pulled * piece < 1024 * 1024, `read ${pulled} pieces of ${Math.ceil(form.body.length / piece)} while the file was not consumed`);

    assert.ok((await readAll(file.content)).equals(first));
    const second = (await parts.next()).value as FilePart;
    assert.equal(second.filename, 'dir/second.txt');
    assert.equal((await readAll(second.content)).toString(), 'second');
    assert.equal((await parts.next()).done, true);
  });

  it('reports a body cut off mid-file as FIELD_INVALID, even when the file is read only afterwards', async () => {
    const request = fakeRequest('multipart/form-data; boundary=xyz');
    request.end('--xyz\r\nContent-Disposition: form-data; name="f"; filename="t.txt"\r\n\r\nno end');
    const parts = multipartParts(request);
    const file = (await parts.next()).value as FilePart;
    if (!request.readableEnded) await once(request, 'end');
    await turn();
    await assert.rejects(readAll(file.content), (error: unknown) => isRegistryError(error, 'FIELD_INVALID'));
    await assert.rejects(parts.next(), (error: unknown) => isRegistryError(error, 'FIELD_INVALID'));
  });

  it('refuses a body that is not multipart/form-data with MEDIA_TYPE_UNSUPPORTED', async () => {
    const request = fakeRequest('application/json');
    request.end('{}');
    await assert.rejects(multipartParts(request).next(), (error: unknown) => isRegistryError(error, 'MEDIA_TYPE_UNSUPPORTED'));
  });

  it('stops parsing and drains the body when the consumer gives up', async () => {
    const form = multipartBody([
      { file: 'f', filename: 'a.bin', content: patternBytes(1024 * 1024) },
      { file: 'f', filename: 'b.bin', content: 'b' },
    ]);
    const request = fakeRequest(form.contentType);
    request.end(form.body);
    const parts = multipartParts(request);
    await parts.next();
    await parts.return(undefined);
    if (!request.readableEnded) await once(request, 'end');
    assert.equal(request.readableLength, 0);
  });
});
