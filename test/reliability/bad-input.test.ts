/**
 * Bad input over HTTP, one kind at a time: each request gets a clear RFC
 * 7807 problem (status, code, type, title, detail, instance,
 * `application/problem+json`), records no event, publishes no object and
 * leaves no staging file behind; `verify({objects: true})` is ok at the end.
 */
import { strict as assert } from 'node:assert';
import type { Response } from 'supertest';
import { newId } from '../../src/registry/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { assertProblem, blake3Of, createPackage, multipartBody, openNative, patternBytes, sha256Of, type NativeHarness } from '../http/native/helpers.js';
import { snapshot, stagingLeftovers } from './helpers.js';

describeEachDatabase('reliability: bad input over HTTP', (target) => {
  let native: NativeHarness;
  before(async () => {
    native = await openNative(target);
  });
  after(async () => {
    await native?.close();
  });

  /**
   * Sends one bad request and checks the problem it gets and that it left
   * no trace: the same last event, the same published objects, no staging file.
   */
  async function refused(send: () => PromiseLike<Response>, status: number, code: string, detail?: RegExp): Promise<Record<string, unknown>> {
    const before = await snapshot(native.instance);
    const response = await send();
    const body = assertProblem(response, status, code);
    assert.ok(String(body.detail).length > 0, 'the problem explains itself');
    if (detail) assert.match(String(body.detail), detail);
    assert.deepEqual(await snapshot(native.instance), before, `${code}: no event recorded, no object stored`);
    assert.deepEqual(await stagingLeftovers(native.instance.storageRoot), [], `${code}: no staging file left behind`);
    return body;
  }

  function post(path: string, body: unknown) {
    return () => native.agent.post(path).send(body as object);
  }
  function postRaw(path: string, text: string, contentType = 'application/json') {
    return () => native.agent.post(path).set('Content-Type', contentType).send(text);
  }
  function patch(uid: string, chunk: Buffer, headers: Record<string, string>) {
    return () => {
      const call = native.agent.patch(`/uploads/${uid}`).set('Content-Type', 'application/octet-stream');
      for (const [name, value] of Object.entries(headers)) call.set(name, value);
      return call.send(chunk);
    };
  }
  function form(packageId: string, parts: Parameters<typeof multipartBody>[0]) {
    return () => {
      const { body, contentType } = multipartBody(parts);
      return native.agent.post(`/packages/${packageId}/files`).set('Content-Type', contentType).send(body);
    };
  }
  async function openSession(packageId: string, body: Record<string, unknown>): Promise<string> {
    const response = await native.agent.post(`/packages/${packageId}/uploads`).send({ relative_path: `s/${newId()}.bin`, media_type: 'application/octet-stream', ...body });
    assert.equal(response.status, 201, response.text);
    return (response.body as { id: string }).id;
  }
  async function offsetOf(uid: string): Promise<number> {
    const response = await native.agent.head(`/uploads/${uid}`).expect(200);
    return Number(response.headers['upload-offset']);
  }

  it('unknown package, upload session or file: 404 on every route', async () => {
    const ghost = newId();
    await refused(() => native.agent.get(`/packages/${ghost}`), 404, 'PACKAGE_NOT_FOUND');
    await refused(() => native.agent.get('/packages/not-an-id'), 404, 'PACKAGE_NOT_FOUND');
    await refused(() => native.agent.get(`/packages/${ghost}/files`), 404, 'PACKAGE_NOT_FOUND');
    await refused(() => native.agent.get(`/packages/${ghost}/manifest`), 404, 'PACKAGE_NOT_FOUND');
    await refused(() => native.agent.post(`/packages/${ghost}/finalize`), 404, 'PACKAGE_NOT_FOUND');
    await refused(post(`/packages/${ghost}/uploads`, { relative_path: 'a.bin', media_type: 'application/octet-stream' }), 404, 'PACKAGE_NOT_FOUND');
    await refused(form(ghost, [{ file: 'f', filename: 'a.txt', contentType: 'text/plain', content: `never stored ${ghost}` }]), 404, 'PACKAGE_NOT_FOUND');
    await refused(patch(newId(), Buffer.from('x'), { 'Upload-Offset': '0' }), 404, 'UPLOAD_NOT_FOUND');
    await refused(() => native.agent.post(`/uploads/${newId()}/complete`), 404, 'UPLOAD_NOT_FOUND');
    await refused(() => native.agent.delete(`/uploads/${newId()}`), 404, 'UPLOAD_NOT_FOUND');
    await refused(() => native.agent.get(`/files/${newId()}/download`), 404, 'FILE_NOT_FOUND');
  });

  it('finalize twice: 409 PACKAGE_FINALIZED, and the finalized package takes no more files', async () => {
    const pkg = await createPackage(native.agent, { name: 'finalize-twice' });
    await form(pkg.id, [{ file: 'f', filename: 'kept.txt', contentType: 'text/plain', content: 'kept' }])().then((response) => assert.equal(response.status, 201, response.text));
    // A session opened while the package is open, completed after it is finalized.
    const late = await openSession(pkg.id, { relative_path: 'late.bin' });
    await patch(late, Buffer.from('too late'), { 'Upload-Offset': '0' })().then((response) => assert.equal(response.status, 200, response.text));
    await native.agent.post(`/packages/${pkg.id}/finalize`).expect(200);

    await refused(() => native.agent.post(`/packages/${pkg.id}/finalize`), 409, 'PACKAGE_FINALIZED');
    await refused(post(`/packages/${pkg.id}/uploads`, { relative_path: 'more.bin', media_type: 'application/octet-stream' }), 409, 'PACKAGE_FINALIZED');
    await refused(form(pkg.id, [{ file: 'f', filename: 'more.txt', contentType: 'text/plain', content: `after finalize ${newId()}` }]), 409, 'PACKAGE_FINALIZED');
    await refused(() => native.agent.post(`/uploads/${late}/complete`), 409, 'PACKAGE_FINALIZED');
  });

  it('upload past the declared size: 400 SIZE_MISMATCH before anything is stored', async () => {
    const pkg = await createPackage(native.agent, { name: 'past-size' });
    const uid = await openSession(pkg.id, { size: 10 });
    const fifteen = patternBytes(15, 5);
    await refused(patch(uid, patternBytes(20, 5), { 'Content-Range': 'bytes 0-19/20' }), 400, 'SIZE_MISMATCH');
    await refused(patch(uid, fifteen, { 'Content-Range': 'bytes 0-14/*' }), 400, 'SIZE_MISMATCH');
    await refused(patch(uid, fifteen, { 'Upload-Offset': '0' }), 400, 'SIZE_MISMATCH');
    assert.equal(await offsetOf(uid), 0, 'nothing was stored');

    // Without a length up front (chunked transfer encoding) the body is cut off at the declared size.
    const streamed = await openSession(pkg.id, { size: 10 });
    const before = await snapshot(native.instance);
    const response = await fetch(native.url(`/uploads/${streamed}`), {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'upload-offset': '0' },
      body: new ReadableStream({ start: (controller) => { controller.enqueue(fifteen); controller.close(); } }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await response.json()) as { code: string }).code, 'SIZE_MISMATCH');
    assert.deepEqual(await snapshot(native.instance), before);
    assert.ok((await offsetOf(streamed)) <= 10, 'never more than the declared size is stored');

    // Full, then one byte more.
    await patch(uid, patternBytes(10, 5), { 'Content-Range': 'bytes 0-9/10' })().then((done) => assert.equal(done.status, 200, done.text));
    await refused(patch(uid, Buffer.from('!'), { 'Upload-Offset': '10' }), 400, 'SIZE_MISMATCH');
    assert.equal(await offsetOf(uid), 10);

    // Completing short of the declared size.
    const short = await openSession(pkg.id, { size: 10 });
    await patch(short, patternBytes(5, 6), { 'Upload-Offset': '0' })().then((done) => assert.equal(done.status, 200, done.text));
    await refused(() => native.agent.post(`/uploads/${short}/complete`), 400, 'SIZE_MISMATCH');
  });

  it('overlapping or out-of-order chunks: 416 UPLOAD_OFFSET_MISMATCH with the current offset; malformed positions: 400', async () => {
    const pkg = await createPackage(native.agent, { name: 'chunk-order' });
    const content = patternBytes(30, 7);
    const uid = await openSession(pkg.id, { size: 30, sha256: sha256Of(content) });
    await patch(uid, content.subarray(0, 10), { 'Content-Range': 'bytes 0-9/30' })().then((done) => assert.equal(done.status, 200, done.text));

    const cases: Array<[string, Buffer, Record<string, string>]> = [
      ['overlapping', content.subarray(5, 15), { 'Content-Range': 'bytes 5-14/30' }],
      ['the same chunk again', content.subarray(0, 10), { 'Content-Range': 'bytes 0-9/30' }],
      ['past a gap', content.subarray(20, 30), { 'Content-Range': 'bytes 20-29/30' }],
      ['behind, by Upload-Offset', content.subarray(3, 13), { 'Upload-Offset': '3' }],
      ['ahead, by Upload-Offset', content.subarray(12, 22), { 'Upload-Offset': '12' }],
    ];
    for (const [what, chunk, headers] of cases) {
      const body = await refused(patch(uid, chunk, headers), 416, 'UPLOAD_OFFSET_MISMATCH');
      assert.equal(body.size, 10, `${what}: the problem carries the current offset`);
    }
    const gap = await patch(uid, content.subarray(20, 30), { 'Content-Range': 'bytes 20-29/30' })();
    assert.equal(gap.status, 416);
    assert.equal(gap.headers['upload-offset'], '10', 'and so does the Upload-Offset header');

    await refused(patch(uid, content.subarray(10, 20), { 'Content-Range': 'bytes 19-10/30' }), 400, 'FIELD_INVALID');
    await refused(patch(uid, content.subarray(10, 20), { 'Content-Range': 'bytes=10-19' }), 400, 'FIELD_INVALID');
    await refused(patch(uid, content.subarray(10, 20), {}), 400, 'FIELD_INVALID');
    await refused(patch(uid, content.subarray(10, 20), { 'Content-Range': 'bytes 10-19/30', 'Upload-Offset': '11' }), 400, 'FIELD_INVALID');
    await refused(patch(uid, content.subarray(10, 15), { 'Content-Range': 'bytes 10-19/30' }), 400, 'SIZE_MISMATCH');
    assert.equal(await offsetOf(uid), 10, 'no refused chunk moved the offset');

    await patch(uid, content.subarray(10, 30), { 'Content-Range': 'bytes 10-29/30' })().then((done) => assert.equal(done.status, 200, done.text));
    const file = await native.agent.post(`/uploads/${uid}/complete`).expect(201);
    assert.equal((file.body as { digest_sha256: string }).digest_sha256, sha256Of(content), 'the bytes are exactly the accepted chunks');
  });

  it('digest mismatch on complete: 400 DIGEST_MISMATCH, nothing published, the session stays open', async () => {
    const pkg = await createPackage(native.agent, { name: 'digest-mismatch' });
    const content = patternBytes(64 * 1024, 9);
    const other = patternBytes(64 * 1024, 10);
    for (const declared of [{ sha256: sha256Of(other) }, { blake3: blake3Of(other), sha256: sha256Of(content) }]) {
      const uid = await openSession(pkg.id, { size: content.length, ...declared });
      await patch(uid, content, { 'Upload-Offset': '0' })().then((done) => assert.equal(done.status, 200, done.text));
      await refused(() => native.agent.post(`/uploads/${uid}/complete`), 400, 'DIGEST_MISMATCH');
      assert.equal(await offsetOf(uid), content.length, 'the session and its bytes are still there');
      await native.agent.delete(`/uploads/${uid}`).expect(204);
    }
    await refused(post(`/packages/${pkg.id}/uploads`, { relative_path: 'bad-digest.bin', media_type: 'application/octet-stream', blake3: 'blake3:xyz' }), 400, 'FIELD_INVALID');
    await refused(post(`/packages/${pkg.id}/uploads`, { relative_path: 'bad-digest.bin', media_type: 'application/octet-stream', sha256: `sha256:${'0'.repeat(63)}` }), 400, 'FIELD_INVALID');
  });

  it('unsafe relative paths: 400 FILE_PATH_INVALID on uploads and multipart, nothing stored', async () => {
    const pkg = await createPackage(native.agent, { name: 'unsafe-paths' });
    const unsafe = ['/etc/passwd', '../escape', 'a/../../b', 'a/./b', '..', 'a\\b', '..\\..\\windows', 'nul\u0000byte', 'bell\u0007', 'a//b', 'trailing/', 'C:/windows/x'];
    for (const relativePath of unsafe) {
      await refused(post(`/packages/${pkg.id}/uploads`, { relative_path: relativePath, media_type: 'application/octet-stream' }), 400, 'FILE_PATH_INVALID');
      await refused(form(pkg.id, [{ field: 'relative_path', value: relativePath }, { file: 'f', filename: 'ok.txt', contentType: 'text/plain', content: `unsafe ${newId()}` }]), 400, 'FILE_PATH_INVALID');
    }
    // The empty path: refused by the request schema on uploads, by the path rule in forms.
    await refused(post(`/packages/${pkg.id}/uploads`, { relative_path: '', media_type: 'application/octet-stream' }), 400, 'FIELD_INVALID');
    await refused(form(pkg.id, [{ field: 'relative_path', value: '' }, { file: 'f', filename: 'ok.txt', content: `empty ${newId()}` }]), 400, 'FILE_PATH_INVALID');
    // As the part's own filename.
    for (const filename of ['/etc/passwd', '../escape', 'a//b', 'dir/../../x', 'a\\\\b']) {
      await refused(form(pkg.id, [{ file: 'f', filename, contentType: 'text/plain', content: `unsafe ${newId()}` }]), 400, 'FILE_PATH_INVALID');
    }
    // A safe file before an unsafe one stays (documented: files before a failing part are kept).
    const before = await snapshot(native.instance);
    const mixed = await form(pkg.id, [
      { file: 'f', filename: 'safe.txt', contentType: 'text/plain', content: 'safe' },
      { file: 'f', filename: '../unsafe.txt', contentType: 'text/plain', content: `unsafe ${newId()}` },
    ])();
    assertProblem(mixed, 400, 'FILE_PATH_INVALID');
    const after = await snapshot(native.instance);
    assert.equal(after.lastSequence, before.lastSequence + 1, 'only the safe file was recorded');
    assert.equal(after.objects.length, before.objects.length + 1, 'only the safe file was stored');
    const files = await native.agent.get(`/packages/${pkg.id}/files`).expect(200);
    assert.deepEqual((files.body as { items: Array<{ relative_path: string }> }).items.map((file) => file.relative_path), ['safe.txt']);
  });

  it('malformed JSON: 400 JSON_INVALID; not JSON at all: 415; JSON of the wrong shape: 400 FIELD_INVALID', async () => {
    const pkg = await createPackage(native.agent, { name: 'malformed-json' });
    const uid = await openSession(pkg.id, {});
    await refused(postRaw('/packages', '{"name": "x", "producer": "ci",'), 400, 'JSON_INVALID');
    await refused(postRaw('/packages', "{'name': 'single quotes'}"), 400, 'JSON_INVALID');
    await refused(postRaw(`/packages/${pkg.id}/uploads`, '{"relative_path": "a.bin", "media_type": }'), 400, 'JSON_INVALID');
    await refused(postRaw(`/uploads/${uid}/complete`, 'nope'), 400, 'JSON_INVALID');
    await refused(postRaw('/packages', 'name=x&producer=ci', 'application/x-www-form-urlencoded'), 415, 'MEDIA_TYPE_UNSUPPORTED');
    await refused(postRaw('/packages', '[]'), 400, 'FIELD_INVALID');
    await refused(postRaw('/packages', 'null'), 400, 'FIELD_INVALID');
    const unknownField = await refused(post('/packages', { name: 'x', producer: 'ci', retention_class: 'transient', colour: 'blue' }), 400, 'FIELD_INVALID');
    assert.deepEqual(unknownField.violations, [{ pointer: '/colour', message: 'unknown field' }]);
    const missing = await refused(post('/packages', { producer: 'ci', retention_class: 'transient' }), 400, 'FIELD_INVALID');
    assert.ok((missing.violations as Array<{ pointer: string }>).some((violation) => violation.pointer === '/name'));
    await refused(postRaw(`/uploads/${uid}/complete`, '{"extra": 1}'), 400, 'FIELD_INVALID');
  });

  it('unknown retention class: 400 RETENTION_CLASS_UNKNOWN', async () => {
    await refused(post('/packages', { name: 'x', producer: 'ci', retention_class: 'forever-and-a-day' }), 400, 'RETENTION_CLASS_UNKNOWN', /forever-and-a-day/);
    await refused(post('/packages', { name: 'x', producer: 'ci', retention_class: 'Transient' }), 400, 'RETENTION_CLASS_UNKNOWN');
  });

  it('oversized metadata: 400 METADATA_INVALID past 64 KiB of canonical CBOR, 413 BODY_TOO_LARGE past the JSON limit', async () => {
    const base = { name: 'meta', producer: 'ci', retention_class: 'transient' };
    await refused(post('/packages', { ...base, metadata: { blob: 'x'.repeat(65 * 1024) } }), 400, 'METADATA_INVALID', /65536/);
    const manyKeys = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`key-${i}`, 'v'.repeat(32)]));
    await refused(post('/packages', { ...base, metadata: manyKeys }), 400, 'METADATA_INVALID');
    await refused(post('/packages', { ...base, metadata: { nested: { deeper: Array.from({ length: 5_000 }, (_, i) => `item-${i}-padding`) } } }), 400, 'METADATA_INVALID');
    await refused(post('/packages', { ...base, metadata: { blob: 'x'.repeat(2 * 1024 * 1024) } }), 413, 'BODY_TOO_LARGE');
    // Just under the limit is fine.
    await native.agent.post('/packages').send({ ...base, metadata: { blob: 'x'.repeat(60 * 1024) } }).expect(201);
  });

  it('leaves a store that verifies, objects included', async function () {
    this.timeout(60_000);
    const report = await native.instance.registry.verify({ objects: true });
    assert.ok(report.ok, JSON.stringify({ differences: report.viewDifferences.slice(0, 5), objects: report.objects?.problems.slice(0, 5) }));
    assert.deepEqual(report.objects?.unreferenced, [], 'no object was stored without being recorded');
    assert.deepEqual(await stagingLeftovers(native.instance.storageRoot), []);
  });
});
