import { strict as assert } from 'node:assert';
import { describeEachDatabase } from '../../support/databases.js';
import { ociClient } from '../../support/oci-client.js';
import { bytes } from '../../support/registry.js';
import { basic, serveWithAuth } from '../auth/support.js';
import { assertProblem, createPackage, openNative, type NativeHarness } from './helpers.js';

describeEachDatabase('native API: GET /repositories/{name} and stored sizes', (target) => {
  let native: NativeHarness;

  beforeEach(async () => {
    native = await openNative(target);
  });
  afterEach(async () => {
    await native.close();
  });

  it('reports counts and the logical and deduplicated stored size of a repository', async () => {
    const client = ociClient(native.app);
    const one = await client.pushImage('team/app', 'v1', ['shared']);
    const two = await client.pushImage('team/app', 'v2', ['shared']);
    const response = await fetch(native.url('/repositories/team%2Fapp'));
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await response.json()) as Record<string, number | string>;
    const configs = ['v1', 'v2'].reduce((sum, tag) => sum + Buffer.byteLength(`{"architecture":"amd64","os":"linux","tag":"${tag}"}`), 0);
    assert.deepEqual(body, {
      name: 'team/app',
      manifests: 2,
      tags: 2,
      blobs: 3,
      logical_size: one.body.length + two.body.length + configs + 2 * 'shared'.length,
      stored_size: one.body.length + two.body.length + configs + 'shared'.length,
      stored_objects: 5,
    });
  });

  it('answers problems for unknown and invalid names', async () => {
    assertProblem(await native.agent.get('/repositories/no%2Fsuch'), 404, 'NAME_UNKNOWN');
    assertProblem(await native.agent.get('/repositories/Not%20Valid'), 400, 'NAME_INVALID');
  });

  it('reports logical_size and stored_size on GET /packages/{id}', async () => {
    const pkg = await createPackage(native.agent);
    const registry = native.instance.registry;
    for (const [file, content] of [['a.txt', 'twice'], ['b.txt', 'twice'], ['c.txt', 'once']] as const) {
      await registry.ingestFile(pkg.id, { relativePath: file, mediaType: 'text/plain' }, bytes(content), 'local:tester');
    }
    const response = await fetch(native.url(`/packages/${pkg.id}`));
    assert.equal(response.status, 200);
    const body = (await response.json()) as { logical_size: number; stored_size: number; total_size: number };
    assert.equal(body.logical_size, 5 + 5 + 4);
    assert.equal(body.stored_size, 5 + 4);
    assert.equal(body.total_size, body.stored_size);
  });

  it('authorizes like a pull of the repository', async () => {
    await ociClient(native.app).pushImage('team/app', 'v1', ['layer']);
    const auth = await serveWithAuth(native.instance.registry, { reader: { grants: ['pull:team/*'] }, stranger: { grants: ['pull:else/*'] } });
    try {
      const as = (name: string) => ({ authorization: basic(name, auth.credentials.get(name)!.password) });
      const allowed = await fetch(`${auth.base}/repositories/team%2Fapp`, { headers: as('reader') });
      assert.equal(allowed.status, 200);
      assert.equal(((await allowed.json()) as { manifests: number }).manifests, 1);
      const denied = await fetch(`${auth.base}/repositories/team%2Fapp`, { headers: as('stranger') });
      assert.equal(denied.status, 403);
      assert.match(denied.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const anonymous = await fetch(`${auth.base}/repositories/team%2Fapp`);
      assert.equal(anonymous.status, 401);
      await anonymous.body?.cancel();
      await denied.body?.cancel();
    } finally {
      await auth.close();
    }
  });
});
