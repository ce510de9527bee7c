import { strict as assert } from 'node:assert';
import http from 'node:http';
import { describeEachDatabase } from '../../support/databases.js';
import { FileListSchema, FileSchema, UploadSchema } from '../../../src/http/native/schemas.js';
import { assertProblem, binary, blake3Of, createPackage, openNative, patternBytes, sha256Of, type NativeHarness } from './helpers.js';

describeEachDatabase('native API: resumable uploads', (target) => {
  let native: NativeHarness;
  before(async () => {
    native = await openNative(target);
  });
  after(async () => {
    await native.close();
  });

  async function start(packageId: string, body: Record<string, unknown>) {
    const response = await native.agent.post(`/packages/${packageId}/uploads`).send({ media_type: 'application/octet-stream', ...body });
    assert.equal(response.status, 201, response.text);
    const session = UploadSchema.parse(response.body);
    assert.equal(response.headers.location, `/uploads/${session.id}`);
    assert.equal(session.location, `/uploads/${session.id}`);
    return session;
  }

  /** A PATCH whose body the test writes itself (`request.write`/`end`), over plain node:http. */
  function rawPatch(url: string, contentRange: string, length: number): { request: http.ClientRequest; answer: Promise<{ status: number; offset: string | undefined }> } {
    const request = http.request(url, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-range': contentRange, 'content-length': String(length) } });
    const answer = new Promise<{ status: number; offset: string | undefined }>((resolve, reject) => {
      request.once('error', reject);
      request.once('response', (response) => {
        response.resume();
        response.once('end', () => resolve({ status: response.statusCode ?? 0, offset: response.headers['upload-offset'] as string | undefined }));
      });
    });
    return { request, answer };
  }

  function patch(uid: string, chunk: Buffer, headers: Record<string, string>) {
    const call = native.agent.patch(`/uploads/${uid}`).set('Content-Type', 'application/octet-stream');
    for (const [name, value] of Object.entries(headers)) call.set(name, value);
    return call.send(chunk);
  }

  it('takes chunks by Content-Range and by Upload-Offset, then completes into a file', async () => {
    const pkg = await createPackage(native.agent);
    const content = patternBytes(300_000, 3);
    const session = await start(pkg.id, { relative_path: 'big/data.bin', size: content.length, blake3: blake3Of(content), sha256: sha256Of(content) });
    assert.equal(session.offset, 0);
    assert.equal(session.size, content.length);
    assert.equal(session.blake3, blake3Of(content));

    const first = await patch(session.id, content.subarray(0, 100_000), { 'Content-Range': `bytes 0-99999/${content.length}` }).expect(200);
    assert.equal(first.headers['upload-offset'], '100000');
    assert.equal(UploadSchema.parse(first.body).offset, 100_000);

    const second = await patch(session.id, content.subarray(100_000, 200_000), { 'Content-Range': 'bytes 100000-199999/*' }).expect(200);
    assert.equal(second.headers['upload-offset'], '200000');

    const third = await patch(session.id, content.subarray(200_000), { 'Upload-Offset': '200000' }).expect(200);
    assert.equal(third.headers['upload-offset'], String(content.length));

    const status = await native.agent.get(`/uploads/${session.id}`).expect(200);
    assert.equal(UploadSchema.parse(status.body).offset, content.length);

    const complete = await native.agent.post(`/uploads/${session.id}/complete`).expect(201);
    const file = FileSchema.parse(complete.body);
    assert.equal(complete.headers.location, `/files/${file.id}`);
    assert.equal(file.relative_path, 'big/data.bin');
    assert.equal(file.size, content.length);
    assert.equal(file.content_address, blake3Of(content));
    assert.equal(file.digest_sha256, sha256Of(content));

    const download = await native.agent.get(`/files/${file.id}/download`).buffer(true).parse(binary).expect(200);
    assert.ok((download.body as Buffer).equals(content));
    // The session is gone once completed.
    assertProblem(await native.agent.get(`/uploads/${session.id}`), 404, 'UPLOAD_NOT_FOUND');
  });

  it('appends a chunk sent while the previous one is still arriving after it, instead of refusing it', async () => {
    const pkg = await createPackage(native.agent);
    const content = patternBytes(200_000, 9);
    const session = await start(pkg.id, { relative_path: 'pipelined.bin', size: content.length, sha256: sha256Of(content) });
    // The first chunk's body is held open halfway: its append holds the upload.
    const first = rawPatch(native.url(`/uploads/${session.id}`), 'bytes 0-99999/200000', 100_000);
    first.request.write(content.subarray(0, 50_000));
    while ((await native.agent.head(`/uploads/${session.id}`).expect(200)).headers['upload-offset'] !== '50000') {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const second = patch(session.id, content.subarray(100_000), { 'Content-Range': 'bytes 100000-199999/200000' }).then((response) => response);
    await new Promise((resolve) => setImmediate(resolve));
    first.request.end(content.subarray(50_000, 100_000));
    const [firstAnswer, secondAnswer] = await Promise.all([first.answer, second]);
    assert.equal(firstAnswer.status, 200);
    assert.equal(firstAnswer.offset, '100000');
    assert.equal(secondAnswer.status, 200, secondAnswer.text);
    assert.equal(secondAnswer.headers['upload-offset'], '200000');
    const file = FileSchema.parse((await native.agent.post(`/uploads/${session.id}/complete`).expect(201)).body);
    assert.equal(file.digest_sha256, sha256Of(content));
    assert.equal(file.content_address, blake3Of(content));
  });

  it('refuses out-of-order and overlapping chunks with 416 and the current offset', async () => {
    const pkg = await createPackage(native.agent);
    const session = await start(pkg.id, { relative_path: 'ordered.bin' });
    await patch(session.id, Buffer.from('abcd'), { 'Upload-Offset': '0' }).expect(200);

    const ahead = await patch(session.id, Buffer.from('zz'), { 'Content-Range': 'bytes 10-11/*' });
    const problem = assertProblem(ahead, 416, 'UPLOAD_OFFSET_MISMATCH');
    assert.equal(problem.size, 4);
    assert.equal(ahead.headers['upload-offset'], '4');

    const overlap = await patch(session.id, Buffer.from('cdef'), { 'Content-Range': 'bytes 2-5/*' });
    assert.equal(assertProblem(overlap, 416, 'UPLOAD_OFFSET_MISMATCH').size, 4);
    assert.equal(overlap.headers['upload-offset'], '4');

    const replay = await patch(session.id, Buffer.from('abcd'), { 'Upload-Offset': '0' });
    assertProblem(replay, 416, 'UPLOAD_OFFSET_MISMATCH');

    const head = await native.agent.head(`/uploads/${session.id}`).expect(200);
    assert.equal(head.headers['upload-offset'], '4');
    assert.equal(head.headers['upload-length'], undefined);
  });

  it('refuses a chunk past the declared size with 400 SIZE_MISMATCH before storing any of it', async () => {
    const pkg = await createPackage(native.agent);
    const session = await start(pkg.id, { relative_path: 'bounded.bin', size: 10 });
    await patch(session.id, Buffer.from('12345'), { 'Content-Range': 'bytes 0-4/10' }).expect(200);
    assertProblem(await patch(session.id, Buffer.from('6789012'), { 'Content-Range': 'bytes 5-11/12' }), 400, 'SIZE_MISMATCH');
    assertProblem(await patch(session.id, Buffer.from('6789012'), { 'Upload-Offset': '5' }), 400, 'SIZE_MISMATCH');
    const head = await native.agent.head(`/uploads/${session.id}`).expect(200);
    assert.equal(head.headers['upload-offset'], '5');
    assert.equal(head.headers['upload-length'], '10');
    await patch(session.id, Buffer.from('67890'), { 'Upload-Offset': '5' }).expect(200);
    const file = FileSchema.parse((await native.agent.post(`/uploads/${session.id}/complete`).send({}).expect(201)).body);
    assert.equal(file.size, 10);
  });

  it('refuses to complete on a digest mismatch (400, no file, session still open)', async () => {
    const pkg = await createPackage(native.agent);
    const session = await start(pkg.id, { relative_path: 'checked.bin', sha256: sha256Of('what the client meant') });
    await patch(session.id, Buffer.from('what the client sent'), { 'Upload-Offset': '0' }).expect(200);
    assertProblem(await native.agent.post(`/uploads/${session.id}/complete`), 400, 'DIGEST_MISMATCH');
    const listed = FileListSchema.parse((await native.agent.get(`/packages/${pkg.id}/files`).expect(200)).body);
    assert.deepEqual(listed.items, []);
    await native.agent.get(`/uploads/${session.id}`).expect(200);

    const short = await start(pkg.id, { relative_path: 'short.bin', size: 8 });
    await patch(short.id, Buffer.from('1234'), { 'Upload-Offset': '0' }).expect(200);
    assertProblem(await native.agent.post(`/uploads/${short.id}/complete`), 400, 'SIZE_MISMATCH');
  });

  it('resumes after reading Upload-Offset with HEAD', async () => {
    const pkg = await createPackage(native.agent);
    const content = patternBytes(64 * 1024, 11);
    const session = await start(pkg.id, { relative_path: 'resumed.bin', size: content.length });
    await patch(session.id, content.subarray(0, 20_000), { 'Upload-Offset': '0' }).expect(200);
    // A client that lost track: ask, then continue from there.
    const head = await native.agent.head(`/uploads/${session.id}`).expect(200);
    const offset = Number(head.headers['upload-offset']);
    assert.equal(offset, 20_000);
    assert.equal(head.headers['upload-length'], String(content.length));
    assert.equal(head.headers['cache-control'], 'no-store');
    await patch(session.id, content.subarray(offset), { 'Content-Range': `bytes ${offset}-${content.length - 1}/${content.length}` }).expect(200);
    const file = FileSchema.parse((await native.agent.post(`/uploads/${session.id}/complete`).expect(201)).body);
    assert.equal(file.digest_sha256, sha256Of(content));
  });

  it('cancels a session: 204, then 404 UPLOAD_NOT_FOUND; the path is free again', async () => {
    const pkg = await createPackage(native.agent);
    const session = await start(pkg.id, { relative_path: 'cancelled.bin' });
    await patch(session.id, Buffer.from('partial'), { 'Upload-Offset': '0' }).expect(200);
    assertProblem(await native.agent.post(`/packages/${pkg.id}/uploads`).send({ relative_path: 'cancelled.bin', media_type: 'text/plain' }), 409, 'FILE_PATH_DUPLICATE');
    await native.agent.delete(`/uploads/${session.id}`).expect(204);
    assertProblem(await native.agent.get(`/uploads/${session.id}`), 404, 'UPLOAD_NOT_FOUND');
    assertProblem(await native.agent.delete(`/uploads/${session.id}`), 404, 'UPLOAD_NOT_FOUND');
    await native.agent.head(`/uploads/${session.id}`).expect(404);
    await start(pkg.id, { relative_path: 'cancelled.bin' });
  });

  describe('problems', () => {
    it('400 FIELD_INVALID for a chunk without position headers or with malformed ones', async () => {
      const pkg = await createPackage(native.agent);
      const session = await start(pkg.id, { relative_path: 'headers.bin' });
      assertProblem(await patch(session.id, Buffer.from('x'), {}), 400, 'FIELD_INVALID');
      assertProblem(await patch(session.id, Buffer.from('x'), { 'Content-Range': 'bytes=0-0' }), 400, 'FIELD_INVALID');
      assertProblem(await patch(session.id, Buffer.from('xy'), { 'Content-Range': 'bytes 1-0/*' }), 400, 'FIELD_INVALID');
      assertProblem(await patch(session.id, Buffer.from('x'), { 'Content-Range': 'bytes 0-0/0' }), 400, 'FIELD_INVALID');
      assertProblem(await patch(session.id, Buffer.from('x'), { 'Upload-Offset': '-1' }), 400, 'FIELD_INVALID');
      assertProblem(await patch(session.id, Buffer.from('x'), { 'Upload-Offset': '1', 'Content-Range': 'bytes 0-0/*' }), 400, 'FIELD_INVALID');
      const head = await native.agent.head(`/uploads/${session.id}`).expect(200);
      assert.equal(head.headers['upload-offset'], '0');
    });

    it('400 for invalid session requests: bad digests, unsafe paths, unknown fields', async () => {
      const pkg = await createPackage(native.agent);
      const problem = assertProblem(
        await native.agent.post(`/packages/${pkg.id}/uploads`).send({ relative_path: 'x', media_type: 'text/plain', size: -1, blake3: 'blake3:xyz', sha256: 'nope', extra: true }),
        400,
        'FIELD_INVALID',
      );
      assert.deepEqual((problem.violations as Array<{ pointer: string }>).map((violation) => violation.pointer).sort(), ['/blake3', '/extra', '/sha256', '/size']);
      assertProblem(await native.agent.post(`/packages/${pkg.id}/uploads`).send({ relative_path: '../x', media_type: 'text/plain' }), 400, 'FILE_PATH_INVALID');
      assertProblem(await native.agent.post(`/uploads/01900000-0000-7000-8000-000000000000/complete`).send({ unexpected: 1 }), 400, 'FIELD_INVALID');
    });

    it('404 for unknown packages and sessions', async () => {
      assertProblem(await native.agent.post('/packages/01900000-0000-7000-8000-000000000000/uploads').send({ relative_path: 'x', media_type: 'text/plain' }), 404, 'PACKAGE_NOT_FOUND');
      assertProblem(await patch('01900000-0000-7000-8000-000000000000', Buffer.from('x'), { 'Upload-Offset': '0' }), 404, 'UPLOAD_NOT_FOUND');
      assertProblem(await native.agent.post('/uploads/not-a-session/complete'), 404, 'UPLOAD_NOT_FOUND');
    });
  });

  it('leaves a store that verifies, objects included', async () => {
    const report = await native.instance.registry.verify({ objects: true });
    assert.equal(report.ok, true, JSON.stringify(report));
  });
});
