import { strict as assert } from 'node:assert';
import { describeEachDatabase } from '../../support/databases.js';
import { ociClient } from '../../support/oci-client.js';
import { FilesCreatedSchema } from '../../../src/http/native/schemas.js';
import { assertProblem, binary, blake3Of, createPackage, multipartBody, openNative, patternBytes, sha256Of, type NativeHarness } from './helpers.js';

describeEachDatabase('native API: objects', (target) => {
  let native: NativeHarness;
  const content = patternBytes(50_000, 5);
  before(async () => {
    native = await openNative(target);
    const pkg = await createPackage(native.agent);
    const form = multipartBody([{ file: 'f', filename: 'object.bin', contentType: 'application/octet-stream', content }]);
    const response = await native.agent.post(`/packages/${pkg.id}/files`).set('Content-Type', form.contentType).send(form.body).expect(201);
    const [file] = FilesCreatedSchema.parse(response.body).files;
    assert.equal(file!.content_address, blake3Of(content));
  });
  after(async () => {
    await native.close();
  });

  for (const [algorithm, addressOf] of [
    ['blake3', blake3Of],
    ['sha256', sha256Of],
  ] as const) {
    it(`serves an object by its ${algorithm} address with both digests and an ETag`, async () => {
      const address = addressOf(content);
      const response = await native.agent.get(`/objects/${address}`).buffer(true).parse(binary).expect(200);
      assert.ok((response.body as Buffer).equals(content));
      assert.equal(response.headers['content-type'], 'application/octet-stream');
      assert.equal(response.headers['content-length'], String(content.length));
      assert.equal(response.headers['artifactstore-content-address'], blake3Of(content));
      assert.equal(response.headers['artifactstore-digest-sha256'], sha256Of(content));
      assert.equal(response.headers.etag, `"${blake3Of(content)}"`);
      assert.equal(response.headers['accept-ranges'], 'bytes');

      const head = await native.agent.head(`/objects/${address}`).expect(200);
      assert.equal(head.headers['content-length'], String(content.length));
      assert.equal(head.headers['artifactstore-digest-sha256'], sha256Of(content));
      assert.equal(head.headers.etag, `"${blake3Of(content)}"`);

      const range = await native.agent.get(`/objects/${address}`).set('Range', 'bytes=100-199').buffer(true).parse(binary).expect(206);
      assert.ok((range.body as Buffer).equals(content.subarray(100, 200)));
      assert.equal(range.headers['content-range'], `bytes 100-199/${content.length}`);

      await native.agent.get(`/objects/${address}`).set('If-None-Match', `"${blake3Of(content)}"`).expect(304);
      await native.agent.head(`/objects/${address}`).set('If-None-Match', `"${blake3Of(content)}"`).expect(304);
    });
  }

  it('reaches bytes pushed over OCI by their sha256 digest', async () => {
    const layer = 'a layer pushed over /v2/';
    const digest = await ociClient(native.app).pushBlob('team/app', layer);
    const response = await native.agent.get(`/objects/${digest}`).buffer(true).parse(binary).expect(200);
    assert.equal((response.body as Buffer).toString(), layer);
    assert.equal(response.headers['artifactstore-content-address'], blake3Of(layer));
  });

  it('416 with Content-Range: bytes */size for an unsatisfiable range', async () => {
    const response = await native.agent.get(`/objects/${blake3Of(content)}`).set('Range', `bytes=${content.length}-`);
    assert.equal(assertProblem(response, 416, 'RANGE_NOT_SATISFIABLE').size, content.length);
    assert.equal(response.headers['content-range'], `bytes */${content.length}`);
  });

  it('404 OBJECT_NOT_FOUND for an unknown address; 400 FIELD_INVALID for a malformed one', async () => {
    assertProblem(await native.agent.get(`/objects/blake3:${'0'.repeat(64)}`), 404, 'OBJECT_NOT_FOUND');
    assertProblem(await native.agent.get(`/objects/sha256:${'0'.repeat(64)}`), 404, 'OBJECT_NOT_FOUND');
    await native.agent.head(`/objects/sha256:${'0'.repeat(64)}`).expect(404);
    const problem = assertProblem(await native.agent.get('/objects/md5:abc'), 400, 'FIELD_INVALID');
    assert.deepEqual((problem.violations as Array<{ pointer: string }>).map((violation) => violation.pointer), ['/content-address']);
  });

  it('leaves a store that verifies, objects included', async () => {
    const report = await native.instance.registry.verify({ objects: true });
    assert.equal(report.ok, true, JSON.stringify(report));
  });
});
