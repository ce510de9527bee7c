/**
 * Retrieval tiers (ADR 0022), on every database, with a local hot backend
 * and a local cold backend: `moveToColdTier` (dry run, threshold, verified
 * copy, events, hot bytes gone, OCI manifests kept hot), reads that stream
 * from a `cold` tier, and an `archive` tier that refuses reads
 * (`OBJECT_ARCHIVED`) until a restore has copied the object back; replay
 * and verify stay exact throughout.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { loadSettings } from '../../src/config.js';
import { coldBackendSettings } from '../../src/app.js';
import { isRegistryError } from '../../src/errors/index.js';
import { restoresSettled, restoreFailures } from '../../src/registry/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { ensureRgw, type S3TestEnv } from '../support/rgw.js';
import { freshS3Prefix, purgeS3Prefix, s3KeysUnder, s3AdminClient, s3StorageSettings } from '../support/s3.js';

const actor = 'tier-tester';

/** A registry whose cold tier is a second local root; `streamable` false makes it an archive. */
async function openTiered(target: Parameters<typeof openTestRegistry>[0], streamable: boolean): Promise<TestRegistry> {
  const probe = await openTestRegistry(target);
  const { workDir } = probe;
  await probe.dispose();
  return openTestRegistry(target, {
    storage: { backend: 'local', localRoot: path.join(workDir, 'hot'), cold: { backend: 'local', localRoot: path.join(workDir, 'cold'), streamable } },
  });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** A finalized package of two files with fresh content; returns the files. */
async function ingest(instance: TestRegistry): Promise<{ id: string; contentAddress: string; content: string }[]> {
  const pkg = await instance.registry.createPackage({ name: `tiers-${randomBytes(3).toString('hex')}`, producer: 'ci', retentionClass: 'transient' }, actor);
  const files = [];
  for (const name of ['a.txt', 'b.txt']) {
    const content = `${name} ${randomBytes(16).toString('hex')}\n`.repeat(50);
    const file = await instance.registry.ingestFile(pkg.id, { relativePath: name, mediaType: 'text/plain' }, bytes(content), actor);
    files.push({ id: file.id, contentAddress: file.contentAddress, content });
  }
  await instance.registry.finalizePackage(pkg.id, actor);
  return files;
}

const objectFile = (root: string, address: string): string => {
  const hex = address.slice('blake3:'.length);
  return path.join(root, 'blake3', hex.slice(0, 2), hex.slice(2, 4), hex);
};

async function assertExact(instance: TestRegistry): Promise<void> {
  const verified = await instance.registry.verify({ objects: true });
  assert.ok(verified.ok, JSON.stringify(verified, null, 2).slice(0, 2000));
  await instance.registry.replay();
  assert.ok((await instance.registry.verify()).ok, 'replay lands on the same views');
}

describeEachDatabase('retrieval tiers: cold (streamable)', (target) => {
  let instance: TestRegistry;
  before(async () => {
    instance = await openTiered(target, true);
  });
  after(async () => instance?.dispose());

  it('a dry run reports the candidates and changes nothing; a threshold spares young copies', async () => {
    await ingest(instance);
    const before = await instance.registry.fetchEvents(0, 10_000);
    const young = await instance.registry.moveToColdTier({ olderThanSeconds: 3600, actor });
    assert.equal(young.candidates, 0);
    assert.equal(young.moved, 0);
    const dry = await instance.registry.moveToColdTier({ olderThanSeconds: 0, actor, dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.ok(dry.candidates >= 3, `file objects and the OCI config are candidates, got ${dry.candidates}`);
    assert.equal(dry.moved, dry.candidates);
    assert.equal((await instance.registry.fetchEvents(0, 10_000)).length, before.length);
  });

  it('moves verified copies to the cold tier, drops the hot bytes, records the tier, and still serves the bytes', async () => {
    const files = await ingest(instance);
    const hotRoot = instance.settings.storage.localRoot;
    const coldRoot = instance.settings.storage.cold?.localRoot as string;
    const report = await instance.registry.moveToColdTier({ olderThanSeconds: 0, actor });
    assert.ok(report.ok, JSON.stringify(report.problems));
    assert.equal(report.to, 'cold-local');
    assert.equal(report.tier, 'cold');
    assert.ok(report.moved >= 4, `both packages' files moved, got ${report.moved}`);
    for (const file of files) {
      assert.equal(await exists(objectFile(hotRoot, file.contentAddress)), false, 'hot bytes removed');
      assert.equal(await exists(objectFile(coldRoot, file.contentAddress)), true, 'cold bytes present');
      const tiers = await instance.registry.objectTiers(file.contentAddress);
      assert.equal(tiers.retrievalTier, 'cold');
      assert.deepEqual(tiers.locations.map((l) => [l.backendId, l.retrievalTier, l.restoreStatus]), [['cold-local', 'cold', 'none']]);
      const opened = await instance.registry.openFile(file.id);
      assert.equal(await text(opened.stream), file.content, 'streamed from the cold tier');
    }
    // OCI manifests stay hot: every pull fetches them.
    const manifests = await instance.db.knex('oci_manifests as m').join('storage_locations as l', 'l.content_address', 'm.content_address').distinct('l.backend_id').pluck('l.backend_id');
    assert.deepEqual(manifests, ['local']);
    const added = await instance.registry.fetchEvents(0, 10_000, { eventType: 'v1.storage.location_added' });
    const removed = await instance.registry.fetchEvents(0, 10_000, { eventType: 'v1.storage.location_removed' });
    assert.equal(added.length, report.moved);
    assert.equal(removed.length, report.moved);
    assert.deepEqual(added[0]?.payload, { content_address: added[0]?.subject_id, backend_id: 'cold-local', object_key: (added[0]?.payload as { object_key: string }).object_key, retrieval_tier: 'cold' });
    assert.deepEqual(removed[0]?.payload, { content_address: removed[0]?.subject_id, backend_id: 'local' });
    // Moving again finds nothing: the copies left the hot backend.
    assert.equal((await instance.registry.moveToColdTier({ olderThanSeconds: 0, actor })).candidates, 0);
    // Storage usage counts what the cold tier holds: nothing referenced is missing.
    const usage = await instance.registry.storageUsage();
    assert.equal(usage.totals.backend.id, 'local+cold-local');
    assert.deepEqual(usage.totals.missing, { objects: 0, bytes: 0 });
    assert.equal(usage.totals.backend.objects, usage.totals.referenced.objects + usage.totals.unreferenced.objects);
    await assertExact(instance);
  });
});

describeEachDatabase('retrieval tiers: archive (not streamable) and restore', (target) => {
  let instance: TestRegistry;
  before(async () => {
    instance = await openTiered(target, false);
  });
  after(async () => instance?.dispose());

  it('refuses reads of archived objects with OBJECT_ARCHIVED until a restore copies them back', async () => {
    const [file] = await ingest(instance);
    assert.ok(file);
    const report = await instance.registry.moveToColdTier({ olderThanSeconds: 0, actor });
    assert.ok(report.ok);
    assert.equal(report.tier, 'archive');
    await assert.rejects(instance.registry.openFile(file.id), (error: unknown) => {
      assert.ok(isRegistryError(error, 'OBJECT_ARCHIVED'), String(error));
      assert.equal(error.status, 409);
      assert.equal(error.extra?.['restore_status'], 'none');
      assert.equal(error.extra?.['restore'], `/objects/${file.contentAddress}/restore`);
      return true;
    });

    const requested = await instance.registry.requestRestore(file.contentAddress, actor);
    assert.equal(requested.scheduled, true);
    await restoresSettled();
    assert.equal(restoreFailures.get(file.contentAddress), undefined);
    const after = await instance.registry.objectTiers(file.contentAddress);
    assert.equal(after.retrievalTier, 'hot');
    assert.equal(after.restoreStatus, 'completed');
    assert.deepEqual(after.locations.map((l) => [l.backendId, l.retrievalTier, l.restoreStatus]), [['cold-local', 'archive', 'completed'], ['local', 'hot', 'none']]);
    assert.equal(await text((await instance.registry.openFile(file.id)).stream), file.content, 'identical bytes after the restore');

    const types = (await instance.registry.fetchEvents(0, 10_000, { eventType: 'v1.storage.' })).map((event) => event.event_type);
    const tail = types.slice(types.lastIndexOf('v1.storage.restore_requested'));
    assert.deepEqual(tail, ['v1.storage.restore_requested', 'v1.storage.location_added', 'v1.storage.restore_completed']);
    const restored = (await instance.registry.fetchEvents(0, 10_000, { eventType: 'v1.storage.location_added' })).at(-1);
    assert.equal((restored?.payload as { retrieval_tier: string }).retrieval_tier, 'hot');

    // A second request has nothing to do: the object is hot.
    const again = await instance.registry.requestRestore(file.contentAddress, actor);
    assert.equal(again.scheduled, false);
    assert.equal(again.retrievalTier, 'hot');
    await assertExact(instance);
  });

  it('refuses a restore of an unknown object; without a cold tier a restore has nothing to do and a move is refused', async () => {
    await assert.rejects(instance.registry.requestRestore(`blake3:${'0'.repeat(64)}`, actor), (error: unknown) => isRegistryError(error, 'OBJECT_NOT_FOUND'));
    const plain = await openTestRegistry(target);
    try {
      const [file] = await ingest(plain);
      const view = await plain.registry.requestRestore(file!.contentAddress, actor);
      assert.equal(view.scheduled, false);
      assert.equal(view.retrievalTier, 'hot');
      await assert.rejects(plain.registry.moveToColdTier({ olderThanSeconds: 0, actor }), (error: unknown) => isRegistryError(error, 'CONFIG_INVALID'));
    } finally {
      await plain.dispose();
    }
  });
});

describe('cold tier settings (ARTIFACTSTORE_COLD_*)', () => {
  it('reads a local cold tier, and an S3 one on the S3 connection with its own prefix and class', () => {
    const local = loadSettings({ ARTIFACTSTORE_COLD_STORAGE_BACKEND: 'local', ARTIFACTSTORE_COLD_STORAGE_LOCAL_ROOT: 'cold' }, '/srv');
    assert.deepEqual(local.storage.cold, { backend: 'local', localRoot: '/srv/cold', streamable: true });
    assert.deepEqual(coldBackendSettings(local), { kind: 'local', root: '/srv/cold', id: 'cold-local' });
    const s3 = loadSettings(
      {
        ARTIFACTSTORE_S3_BUCKET: 'artifacts',
        ARTIFACTSTORE_S3_KEY_PREFIX: 'hot',
        ARTIFACTSTORE_S3_SECRET_ACCESS_KEY: 'very-secret',
        ARTIFACTSTORE_S3_ACCESS_KEY_ID: 'AKID',
        ARTIFACTSTORE_COLD_STORAGE_BACKEND: 's3',
        ARTIFACTSTORE_COLD_S3_KEY_PREFIX: 'glacier',
        ARTIFACTSTORE_COLD_S3_STORAGE_CLASS: 'GLACIER',
        ARTIFACTSTORE_COLD_STORAGE_STREAMABLE: 'false',
      },
      '/srv',
    );
    const cold = coldBackendSettings(s3) as unknown as Record<string, unknown>;
    assert.equal(cold['kind'], 's3');
    assert.equal(cold['id'], 'cold-s3');
    assert.equal(cold['bucket'], 'artifacts');
    assert.equal(cold['keyPrefix'], 'glacier');
    assert.equal(cold['storageClass'], 'GLACIER');
    assert.equal(s3.storage.cold?.streamable, false);
    assert.ok(!JSON.stringify(s3.storage).includes('very-secret'));
  });

  it('refuses a cold tier that would share keys with the serving backend, or lacks its settings', () => {
    const problems = (env: NodeJS.ProcessEnv): string => {
      try {
        loadSettings(env, '/srv');
      } catch (error) {
        assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
        return error.message;
      }
      return '';
    };
    assert.match(problems({ ARTIFACTSTORE_COLD_STORAGE_BACKEND: 'local' }), /ARTIFACTSTORE_COLD_STORAGE_LOCAL_ROOT is required/);
    assert.match(problems({ ARTIFACTSTORE_COLD_STORAGE_BACKEND: 'local', ARTIFACTSTORE_COLD_STORAGE_LOCAL_ROOT: './var/storage' }), /must differ/);
    assert.match(problems({ ARTIFACTSTORE_COLD_STORAGE_BACKEND: 's3' }), /needs the ARTIFACTSTORE_S3_\* connection settings/);
    assert.match(problems({ ARTIFACTSTORE_S3_BUCKET: 'artifacts', ARTIFACTSTORE_COLD_STORAGE_BACKEND: 's3' }), /must not share bucket and key prefix/);
    assert.match(problems({ ARTIFACTSTORE_COLD_STORAGE_BACKEND: 'tape' }), /must be local or s3/);
    assert.match(problems({ ARTIFACTSTORE_COLD_STORAGE_STREAMABLE: 'maybe' }), /ARTIFACTSTORE_COLD_STORAGE_STREAMABLE must be true or false/);
  });
});

describeEachDatabase('retrieval tiers: S3 cold tier (real RGW)', (target) => {
  let env: S3TestEnv;
  let prefix: string;
  let instance: TestRegistry;
  before(async function () {
    this.timeout(15 * 60 * 1000);
    env = await ensureRgw();
    prefix = freshS3Prefix('cold-tier');
    const probe = await openTestRegistry(target);
    const { workDir } = probe;
    await probe.dispose();
    instance = await openTestRegistry(target, {
      storage: { backend: 'local', localRoot: path.join(workDir, 'hot'), cold: { backend: 's3', s3: s3StorageSettings(env, prefix), streamable: true } },
    });
  });
  after(async () => {
    await instance?.dispose();
    if (env) await purgeS3Prefix(env, prefix);
  });

  it('moves objects into the bucket and streams them from there', async () => {
    const files = await ingest(instance);
    const report = await instance.registry.moveToColdTier({ olderThanSeconds: 0, actor });
    assert.ok(report.ok, JSON.stringify(report.problems));
    assert.equal(report.to, 'cold-s3');
    const admin = s3AdminClient(env);
    try {
      const keys = await s3KeysUnder(admin, env.bucket, prefix);
      for (const file of files) {
        const hex = file.contentAddress.slice('blake3:'.length);
        assert.ok(keys.includes(`${prefix}/blake3/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`), 'the copy is in the bucket');
        assert.equal(await exists(objectFile(instance.settings.storage.localRoot, file.contentAddress)), false);
        assert.equal(await text((await instance.registry.openFile(file.id)).stream), file.content);
      }
    } finally {
      admin.destroy();
    }
    await assertExact(instance);
  });
});
