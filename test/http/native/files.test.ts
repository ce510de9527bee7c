import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { describeEachDatabase } from '../../support/databases.js';
import { FileListSchema, FileSchema, FilesCreatedSchema } from '../../../src/http/native/schemas.js';
import { contentDisposition } from '../../../src/http/native/render.js';
import { assertProblem, binary, createPackage, multipartBody, openNative, patternBytes, sha256Of, type NativeHarness } from './helpers.js';

describeEachDatabase('native API: files', (target) => {
  let native: NativeHarness;
  before(async () => {
    native = await openNative(target);
  });
  after(async () => {
    await native.close();
  });

  async function upload(packageId: string, parts: Parameters<typeof multipartBody>[0]) {
    const form = multipartBody(parts);
    return native.agent.post(`/packages/${packageId}/files`).set('Content-Type', form.contentType).send(form.body);
  }

  it('ingests several files from one form, in order, with a relative_path override', async () => {
    const pkg = await createPackage(native.agent);
    const big = patternBytes(3 * 1024 * 1024 + 17);
    const response = await upload(pkg.id, [
      { file: 'file', filename: 'reports/a.html', contentType: 'text/html', content: '<h1>a</h1>' },
      { field: 'relative_path', value: 'logs/build output.txt' },
      { file: 'file', filename: 'ignored-name.txt', contentType: 'text/plain', content: 'log line\n' },
      { file: 'file', filename: 'data/big.bin', contentType: 'application/octet-stream', content: big },
    ]);
    assert.equal(response.status, 201, response.text);
    const { files } = FilesCreatedSchema.parse(response.body);
    assert.deepEqual(
      files.map((file) => [file.relative_path, file.media_type, file.size]),
      [
        ['reports/a.html', 'text/html', 10],
        ['logs/build output.txt', 'text/plain', 9],
        ['data/big.bin', 'application/octet-stream', big.length],
      ],
    );
    for (const file of files) {
      assert.equal(file.package_id, pkg.id);
      assert.equal(file.digests.blake3, file.content_address);
      assert.equal(file.digests.sha256, file.digest_sha256);
    }
    assert.equal(files[2]!.digest_sha256, sha256Of(big));

    const listed = FileListSchema.parse((await native.agent.get(`/packages/${pkg.id}/files`).expect(200)).body);
    assert.deepEqual(listed.items.map((file) => file.relative_path), ['data/big.bin', 'logs/build output.txt', 'reports/a.html']);
    const one = FileSchema.parse((await native.agent.get(`/files/${files[0]!.id}`).expect(200)).body);
    assert.deepEqual(one, files[0]);

    const download = await native.agent.get(`/files/${files[2]!.id}/download`).buffer(true).parse(binary).expect(200);
    assert.ok((download.body as Buffer).equals(big));
    assert.equal(download.headers['content-length'], String(big.length));
    assert.equal(download.headers['content-type'], 'application/octet-stream');
    assert.equal(download.headers.etag, `"${files[2]!.content_address}"`);
    assert.equal(download.headers['content-disposition'], 'attachment; filename="big.bin"');
    assert.equal(download.headers['accept-ranges'], 'bytes');
    assert.equal(download.headers['docker-content-digest'], undefined);

    const pkgView = (await native.agent.get(`/packages/${pkg.id}`).expect(200)).body as { file_count: number; total_size: number };
    assert.equal(pkgView.file_count, 3);
    assert.equal(pkgView.total_size, 10 + 9 + big.length);
  });

  it('streams a file part sent in small pieces over real HTTP', async () => {
    const pkg = await createPackage(native.agent);
    const content = patternBytes(2 * 1024 * 1024, 7);
    const form = multipartBody([{ file: 'file', filename: 'streamed.bin', contentType: 'application/octet-stream', content }]);
    const pieces = function* () {
      for (let offset = 0; offset < form.body.length; offset += 64 * 1024) yield form.body.subarray(offset, offset + 64 * 1024);
    };
    const response = await fetch(native.url(`/packages/${pkg.id}/files`), {
      method: 'POST',
      headers: { 'Content-Type': form.contentType },
      body: Readable.toWeb(Readable.from(pieces())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(response.status, 201);
    const { files } = FilesCreatedSchema.parse(await response.json());
    assert.equal(files[0]!.size, content.length);
    assert.equal(files[0]!.digest_sha256, sha256Of(content));
  });

  it('downloads single ranges (206), suffix and open-ended ones, and refuses unsatisfiable ones (416)', async () => {
    const pkg = await createPackage(native.agent);
    const content = Buffer.from('0123456789abcdefghij');
    const { files } = FilesCreatedSchema.parse((await upload(pkg.id, [{ file: 'f', filename: 'r.txt', contentType: 'text/plain', content }])).body);
    const url = `/files/${files[0]!.id}/download`;

    const middle = await native.agent.get(url).set('Range', 'bytes=2-5').buffer(true).parse(binary).expect(206);
    assert.equal((middle.body as Buffer).toString(), '2345');
    assert.equal(middle.headers['content-range'], 'bytes 2-5/20');
    assert.equal(middle.headers['content-length'], '4');
    assert.equal(middle.headers.etag, `"${files[0]!.content_address}"`);

    const open = await native.agent.get(url).set('Range', 'bytes=15-').buffer(true).parse(binary).expect(206);
    assert.equal((open.body as Buffer).toString(), 'fghij');
    assert.equal(open.headers['content-range'], 'bytes 15-19/20');

    const suffix = await native.agent.get(url).set('Range', 'bytes=-3').buffer(true).parse(binary).expect(206);
    assert.equal((suffix.body as Buffer).toString(), 'hij');
    assert.equal(suffix.headers['content-range'], 'bytes 17-19/20');

    const clamped = await native.agent.get(url).set('Range', 'bytes=18-99').buffer(true).parse(binary).expect(206);
    assert.equal((clamped.body as Buffer).toString(), 'ij');

    const unsatisfiable = await native.agent.get(url).set('Range', 'bytes=20-30');
    const problem = assertProblem(unsatisfiable, 416, 'RANGE_NOT_SATISFIABLE');
    assert.equal(unsatisfiable.headers['content-range'], 'bytes */20');
    assert.equal(problem.size, 20);

    // Several ranges are ignored: the whole file.
    const whole = await native.agent.get(url).set('Range', 'bytes=0-1,4-5').buffer(true).parse(binary).expect(200);
    assert.ok((whole.body as Buffer).equals(content));

    const head = await native.agent.head(url).expect(200);
    assert.equal(head.headers['content-length'], '20');
    assert.equal(head.headers.etag, `"${files[0]!.content_address}"`);
  });

  it('answers If-None-Match with 304 (also with W/ and *) and serves other tags in full', async () => {
    const pkg = await createPackage(native.agent);
    const { files } = FilesCreatedSchema.parse((await upload(pkg.id, [{ file: 'f', filename: 'c.txt', contentType: 'text/plain', content: 'cached' }])).body);
    const url = `/files/${files[0]!.id}/download`;
    const etag = `"${files[0]!.content_address}"`;
    const notModified = await native.agent.get(url).set('If-None-Match', etag).expect(304);
    assert.equal(notModified.headers.etag, etag);
    assert.equal(notModified.text, '');
    await native.agent.get(url).set('If-None-Match', `W/${etag}`).expect(304);
    await native.agent.get(url).set('If-None-Match', '*').expect(304);
    await native.agent.get(url).set('If-None-Match', `"blake3:${'0'.repeat(64)}"`).expect(200);
  });

  it('names downloads by basename, with RFC 6266 filename* for non-ASCII names', async () => {
    const pkg = await createPackage(native.agent);
    const response = await upload(pkg.id, [{ file: 'f', filename: 'docs/résumé €.txt', contentType: 'text/plain', content: 'unicode' }]);
    assert.equal(response.status, 201, response.text);
    const { files } = FilesCreatedSchema.parse(response.body);
    assert.equal(files[0]!.relative_path, 'docs/résumé €.txt');
    const download = await native.agent.get(`/files/${files[0]!.id}/download`).expect(200);
    assert.equal(download.headers['content-disposition'], `attachment; filename="r_sum_ _.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.txt`);

    assert.equal(contentDisposition('a/b/plain.txt'), 'attachment; filename="plain.txt"');
    assert.equal(contentDisposition('quote"d.txt'), `attachment; filename="quote_d.txt"; filename*=UTF-8''quote%22d.txt`);
    assert.equal(contentDisposition("it's (1).txt"), `attachment; filename="it's (1).txt"`);
  });

  describe('problems', () => {
    it('400 FILE_PATH_INVALID for unsafe relative paths, from a filename or a relative_path field', async () => {
      const pkg = await createPackage(native.agent);
      for (const unsafe of ['../escape.txt', '/etc/passwd', 'a/../../b', 'a//b', 'C:\\windows\\x', 'a/./b']) {
        const viaFilename = await upload(pkg.id, [{ file: 'f', filename: unsafe.replaceAll('\\', '\\\\'), contentType: 'text/plain', content: 'x' }]);
        assertProblem(viaFilename, 400, 'FILE_PATH_INVALID');
        const viaField = await upload(pkg.id, [{ field: 'relative_path', value: unsafe }, { file: 'f', filename: 'fine.txt', contentType: 'text/plain', content: 'x' }]);
        assertProblem(viaField, 400, 'FILE_PATH_INVALID');
      }
      const listed = FileListSchema.parse((await native.agent.get(`/packages/${pkg.id}/files`).expect(200)).body);
      assert.deepEqual(listed.items, []);
    });

    it('409 FILE_PATH_DUPLICATE for a path the package already has; earlier parts stay', async () => {
      const pkg = await createPackage(native.agent);
      const response = await upload(pkg.id, [
        { file: 'f', filename: 'one.txt', contentType: 'text/plain', content: '1' },
        { file: 'f', filename: 'one.txt', contentType: 'text/plain', content: '2' },
        { file: 'f', filename: 'three.txt', contentType: 'text/plain', content: '3' },
      ]);
      assertProblem(response, 409, 'FILE_PATH_DUPLICATE');
      const listed = FileListSchema.parse((await native.agent.get(`/packages/${pkg.id}/files`).expect(200)).body);
      assert.deepEqual(listed.items.map((file) => file.relative_path), ['one.txt']);
    });

    it('404 PACKAGE_NOT_FOUND for an unknown package, 404 FILE_NOT_FOUND for an unknown file', async () => {
      assertProblem(await upload('01900000-0000-7000-8000-000000000000', [{ file: 'f', filename: 'x.txt', content: 'x' }]), 404, 'PACKAGE_NOT_FOUND');
      assertProblem(await native.agent.get('/files/01900000-0000-7000-8000-000000000000'), 404, 'FILE_NOT_FOUND');
      assertProblem(await native.agent.get('/files/nope/download'), 404, 'FILE_NOT_FOUND');
    });

    it('400 FIELD_INVALID for forms without files, unknown fields, a dangling relative_path or a nameless file', async () => {
      const pkg = await createPackage(native.agent);
      assertProblem(await upload(pkg.id, []), 400, 'FIELD_INVALID');
      assertProblem(await upload(pkg.id, [{ field: 'colour', value: 'red' }]), 400, 'FIELD_INVALID');
      assertProblem(await upload(pkg.id, [{ file: 'f', filename: 'ok.txt', content: 'x' }, { field: 'relative_path', value: 'dangling.txt' }]), 400, 'FIELD_INVALID');
      assertProblem(await upload(pkg.id, [{ file: 'f', contentType: 'application/octet-stream', content: 'x' }]), 400, 'FIELD_INVALID');
      const truncated = await native.agent
        .post(`/packages/${pkg.id}/files`)
        .set('Content-Type', 'multipart/form-data; boundary=xyz')
        .send('--xyz\r\nContent-Disposition: form-data; name="f"; filename="t.txt"\r\n\r\nno end');
      assertProblem(truncated, 400, 'FIELD_INVALID');
    });

    it('415 MEDIA_TYPE_UNSUPPORTED for a body that is not multipart/form-data', async () => {
      const pkg = await createPackage(native.agent);
      assertProblem(await native.agent.post(`/packages/${pkg.id}/files`).send({ files: [] }), 415, 'MEDIA_TYPE_UNSUPPORTED');
    });
  });

  it('leaves a store that verifies, objects included', async () => {
    const report = await native.instance.registry.verify({ objects: true });
    assert.equal(report.ok, true, JSON.stringify(report));
  });
});
