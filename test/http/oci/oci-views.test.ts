import { strict as assert } from 'node:assert';
import pino from 'pino';
import { describeEachDatabase } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';
import { ociClient, sha256 } from '../../support/oci-client.js';
import { createHttpApp } from '../../../src/http/app.js';
import { openRegistry } from '../../../src/app.js';

describeEachDatabase('OCI over the event log', (target) => {
  let instance: TestRegistry;
  let client: ReturnType<typeof ociClient>;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
    client = ociClient(createHttpApp(instance.registry, pino({ level: 'silent' })));
  });
  afterEach(async () => {
    await instance.dispose();
  });

  it('records every OCI change as an event, and replay rebuilds the OCI views exactly', async () => {
    const one = await client.pushImage('team/app', 'v1', ['layer-a', 'layer-b']);
    await client.pushImage('team/app', 'v2', ['layer-a', 'layer-c']);
    await client.pushImage('other/app', 'latest', ['layer-a']);
    const referrer = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: await client.pushBlob('team/app', '{}'), size: 2 },
      layers: [],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: one.digest, size: one.body.length },
      annotations: { 'org.example.signed-by': 'ci' },
    };
    const put = await client.putManifest('team/app', sha256(JSON.stringify(referrer)), referrer);
    assert.equal(put.status, 201);
    assert.equal(put.headers['oci-subject'], one.digest);
    await client.agent.delete('/v2/team/app/manifests/v2').expect(202);
    await client.agent.delete(`/v2/other/app/manifests/${(await client.agent.head('/v2/other/app/manifests/latest')).headers['docker-content-digest']}`).expect(202);
    await client.agent.delete(`/v2/team/app/blobs/${sha256('layer-c')}`).expect(202);

    const types = (await instance.registry.fetchEvents(0, 1000)).map((event) => event.event_type);
    for (const type of ['v1.oci.blob.linked', 'v1.oci.manifest.put', 'v1.oci.tag.set', 'v1.oci.tag.deleted', 'v1.oci.manifest.deleted', 'v1.oci.blob.unlinked']) {
      assert.ok(types.includes(type), `${type} recorded`);
    }
    const before = await snapshot(instance);
    assert.ok(before.oci_manifests!.length >= 3);
    assert.equal((await instance.registry.verify({ objects: true })).ok, true);
    await instance.registry.replay();
    assert.deepEqual(await snapshot(instance), before);
    const referrers = await client.agent.get(`/v2/team/app/referrers/${one.digest}`).expect(200);
    assert.equal(JSON.parse(referrers.text).manifests[0].annotations['org.example.signed-by'], 'ci');
  });

  it('lets a second process continue an upload another one started', async () => {
    const second = await openRegistry(instance.settings, { ...instance.openOptions, migrate: false });
    try {
      const otherClient = ociClient(createHttpApp(second.registry, pino({ level: 'silent' })));
      const started = await client.agent.post('/v2/team/app/blobs/uploads/').expect(202);
      const location = started.headers.location!;
      await client.agent.patch(location).set('Content-Range', '0-4').set('Content-Type', 'application/octet-stream').send(Buffer.from('hello')).expect(202);
      const status = await otherClient.agent.get(location).expect(204);
      assert.equal(status.headers.range, '0-4');
      await otherClient.agent.patch(location).set('Content-Range', '5-10').set('Content-Type', 'application/octet-stream').send(Buffer.from(' world')).expect(202);
      const digest = sha256('hello world');
      await otherClient.agent.put(`${location}?digest=${digest}`).expect(201);
      const pulled = await client.agent.get(`/v2/team/app/blobs/${digest}`).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      }).expect(200);
      assert.equal((pulled.body as Buffer).toString(), 'hello world');
    } finally {
      await second.close();
    }
  });

  it('purges sessions idle past their expiry together with their staged bytes', async () => {
    const started = await client.agent.post('/v2/team/app/blobs/uploads/').expect(202);
    await client.agent.patch(started.headers.location!).set('Content-Type', 'application/octet-stream').send(Buffer.from('partial')).expect(202);
    const purged = await instance.registry.purgeExpiredUploads(new Date(Date.now() + 2 * 86_400_000));
    assert.equal(purged.sessions, 1);
    await client.agent.get(started.headers.location!).expect(404);
    const uploads = [];
    for await (const upload of instance.dataPlane.listUploads()) uploads.push(upload);
    assert.deepEqual(uploads, []);
  });
});

async function snapshot(instance: TestRegistry): Promise<Record<string, unknown[]>> {
  const result: Record<string, unknown[]> = {};
  for (const [table, order] of [['oci_repositories', ['name']], ['oci_blob_links', ['repository', 'digest']], ['oci_manifests', ['repository', 'digest']], ['oci_manifest_references', ['repository', 'manifest_digest', 'position']], ['oci_tags', ['repository', 'tag']], ['objects', ['content_address']]] as const) {
    result[table] = (await instance.db.knex(table).select('*').orderBy([...order])).map((row: Record<string, unknown>) => ({ ...row }));
  }
  return result;
}
