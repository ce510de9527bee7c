import { strict as assert } from 'node:assert';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { ociClient } from '../support/oci-client.js';
import { createHttpApp } from '../../src/http/app.js';
import { PACKAGES_REPOSITORY } from '../../src/registry/index.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ensureRgw, type S3TestEnv } from '../support/rgw.js';
import { freshS3Prefix, purgeS3Prefix, s3AdminClient, s3StorageSettings } from '../support/s3.js';

const actor = 'local:tester';

/** Every object file under the local backend's `blake3/` folder, with its size: what is really stored. */
async function filesOnDisk(root: string): Promise<{ objects: number; bytes: number }> {
  const totals = { objects: 0, bytes: 0 };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else {
        totals.objects += 1;
        totals.bytes += (await stat(full)).size;
      }
    }
  };
  await walk(path.join(root, 'blake3'));
  return totals;
}

describeEachDatabase('accounting', (target) => {
  let instance: TestRegistry;
  let client: ReturnType<typeof ociClient>;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
    client = ociClient(createHttpApp(instance.registry, pino({ level: 'silent' })));
  });
  afterEach(async () => {
    await instance.dispose();
  });

  async function packageOf(producer: string, files: Record<string, string>): Promise<string> {
    const pkg = await instance.registry.createPackage({ name: `${producer}-run`, producer, retentionClass: 'transient' }, actor);
    for (const [relativePath, content] of Object.entries(files)) {
      await instance.registry.ingestFile(pkg.id, { relativePath, mediaType: 'text/plain' }, bytes(content), actor);
    }
    await instance.registry.finalizePackage(pkg.id, actor);
    return pkg.id;
  }

  it('reports a package\'s logical size and its deduplicated stored size', async () => {
    const id = await packageOf('ci', { 'a.txt': 'same', 'b.txt': 'same', 'c.txt': 'other' });
    const view = await instance.registry.getPackage(id);
    assert.equal(view.logicalSize, 4 + 4 + 5);
    assert.equal(view.storedSize, 4 + 5, 'the same bytes twice are stored once');
    assert.equal(view.totalSize, view.storedSize);
  });

  it('reports an OCI repository\'s counts, logical and stored size; a shared layer is stored once', async () => {
    const one = await client.pushImage('team/app', 'v1', ['shared-layer']);
    const two = await client.pushImage('team/app', 'v2', ['shared-layer']);
    await client.agent.put('/v2/team/app/manifests/latest').set('Content-Type', 'application/vnd.oci.image.manifest.v1+json').send(two.body.toString()).expect(201);
    const usage = await instance.registry.repositoryUsage('team/app');
    const configs = ['v1', 'v2'].map((tag) => Buffer.byteLength(`{"architecture":"amd64","os":"linux","tag":"${tag}"}`));
    const layer = Buffer.byteLength('shared-layer');
    assert.equal(usage.manifests, 2);
    assert.equal(usage.tags, 3);
    assert.equal(usage.blobs, 3, 'two configs and one layer');
    assert.equal(usage.logicalSize, one.body.length + two.body.length + configs[0]! + configs[1]! + 2 * layer);
    assert.deepEqual(usage.stored, { objects: 5, bytes: one.body.length + two.body.length + configs[0]! + configs[1]! + layer });
    await assert.rejects(instance.registry.repositoryUsage('no/such'), (error: { code?: string }) => error.code === 'NAME_UNKNOWN');
    await assert.rejects(instance.registry.repositoryUsage('Not A Name'), (error: { code?: string }) => error.code === 'NAME_INVALID');
  });

  it('storage usage: per producer and repository, totals that match the files really in the backend, unreferenced bytes included', async () => {
    await packageOf('ci', { 'a.txt': 'same', 'b.txt': 'same', 'c.txt': 'other' });
    await packageOf('lab', { 'x.txt': 'same' });
    await client.pushImage('team/app', 'v1', ['layer-one']);
    const doomed = await client.pushImage('team/app', 'v2', ['layer-two']);
    // A manifest deleted through /v2/ leaves its bytes unreferenced (awaiting GC); so does an object no event recorded.
    await client.agent.delete(`/v2/team/app/manifests/${doomed.digest}`).expect(202);
    const orphan = await instance.dataPlane.ingestStream(bytes('bytes of a write that never committed'), {});

    const usage = await instance.registry.storageUsage();
    const ci = usage.producers.find((row) => row.producer === 'ci')!;
    assert.deepEqual({ packages: ci.packages, files: ci.files, logical: ci.logicalSize, stored: ci.stored }, { packages: 1, files: 3, logical: 13, stored: { objects: 2, bytes: 9 } });
    const lab = usage.producers.find((row) => row.producer === 'lab')!;
    assert.deepEqual(lab.stored, { objects: 1, bytes: 4 });
    assert.deepEqual(usage.repositories.map((row) => row.repository), [PACKAGES_REPOSITORY, 'team/app']);
    assert.equal(usage.repositories.find((row) => row.repository === 'team/app')!.manifests, 1);

    const disk = await filesOnDisk(instance.storageRoot);
    const { referenced, backend, unreferenced, missing } = usage.totals;
    assert.deepEqual({ objects: backend.objects, bytes: backend.bytes }, disk, 'the backend totals are what is on disk');
    assert.equal(backend.id, 'local');
    assert.deepEqual(missing, { objects: 0, bytes: 0 });
    assert.equal(referenced.objects + unreferenced.objects, backend.objects);
    assert.equal(referenced.bytes + unreferenced.bytes, backend.bytes);
    assert.deepEqual(unreferenced, { objects: 2, bytes: doomed.body.length + orphan.size }, 'the deleted manifest and the orphan await GC');
    // Each object counts once in the totals, however many packages and repositories share it.
    const perOwner = usage.producers.reduce((sum, row) => sum + row.stored.bytes, 0) + usage.repositories.reduce((sum, row) => sum + row.stored.bytes, 0);
    assert.ok(referenced.bytes < perOwner, `shared objects count once in the totals (${referenced.bytes} < ${perOwner})`);
  });
});

describeEachDatabase('accounting on S3 (Ceph RGW)', (target) => {
  let s3: S3TestEnv;
  let prefix: string;
  let instance: TestRegistry;

  before(async function () {
    this.timeout(15 * 60_000);
    s3 = await ensureRgw();
  });
  beforeEach(async () => {
    prefix = freshS3Prefix('accounting');
    instance = await openTestRegistry(target, { storage: { backend: 's3', localRoot: '/nonexistent-unused', s3: s3StorageSettings(s3, prefix) } });
  });
  afterEach(async () => {
    await instance.dispose();
    await purgeS3Prefix(s3, prefix);
  });

  it('storage usage totals equal what the bucket lists under the key prefix', async () => {
    const client = ociClient(createHttpApp(instance.registry, pino({ level: 'silent' })));
    await client.pushImage('team/app', 'v1', ['s3-layer']);
    const doomed = await client.pushImage('team/app', 'v2', ['s3-layer']);
    await client.agent.delete(`/v2/team/app/manifests/${doomed.digest}`).expect(202);
    const usage = await instance.registry.storageUsage();

    const admin = s3AdminClient(s3);
    const listed = { objects: 0, bytes: 0 };
    try {
      let token: string | undefined;
      do {
        const page = await admin.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/blake3/`, ContinuationToken: token }));
        for (const entry of page.Contents ?? []) {
          listed.objects += 1;
          listed.bytes += entry.Size ?? 0;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } finally {
      admin.destroy();
    }
    const { backend, referenced, unreferenced, missing } = usage.totals;
    assert.equal(backend.id, 's3');
    assert.deepEqual({ objects: backend.objects, bytes: backend.bytes }, listed);
    assert.deepEqual(missing, { objects: 0, bytes: 0 });
    assert.deepEqual(unreferenced, { objects: 1, bytes: doomed.body.length });
    assert.equal(referenced.bytes + unreferenced.bytes, listed.bytes);
  });
});
