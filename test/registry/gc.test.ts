/**
 * Online garbage collection (docs/adr/0020) on every database: what counts
 * as a reference, the grace period, dry runs, the review re-check, the
 * writers' guard against the dedup race, skipped locations, cancellation,
 * metrics, concurrent workers, replay/verify, and the CLI.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { createCliEnv } from '../support/cli-env.js';
import { loadSettings } from '../../src/config.js';
import { openRegistry } from '../../src/app.js';
import { isRegistryError } from '../../src/errors/index.js';
import { decodeCanonical } from '../../src/manifest/index.js';
import { recordIngestedFile, startGcWorker, type GcReport } from '../../src/registry/index.js';
import { bytesOf, descriptorOf, sha256 } from '../oci/helpers.js';

const actor = 'local:tester';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describeEachDatabase('online garbage collection', (target) => {
  let instance: TestRegistry;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
  });
  afterEach(async () => {
    await instance.dispose();
  });

  const registry = () => instance.registry;
  const gc = (options: Partial<Parameters<TestRegistry['registry']['collectGarbage']>[0]> = {}): Promise<GcReport> =>
    registry().collectGarbage({ graceSeconds: 0, ...options });
  const stored = async (address: string): Promise<boolean> => (await instance.dataPlane.statObject(address)) !== null;
  const objectRow = (address: string) => instance.db.knex('objects').where('content_address', address).first();
  const eventTypes = async () => (await registry().fetchEvents(0, 10_000)).map((event) => event.event_type);

  /** A package holding `files` (path → content), finalized, then made deletable. */
  async function packageWith(files: Record<string, string>): Promise<{ id: string; addresses: Record<string, string> }> {
    const pkg = await registry().createPackage({ name: `gc-${randomBytes(3).toString('hex')}`, producer: 'ci', retentionClass: 'transient', metadata: {} }, actor);
    const addresses: Record<string, string> = {};
    for (const [relativePath, content] of Object.entries(files)) {
      addresses[relativePath] = (await registry().ingestFile(pkg.id, { relativePath, mediaType: 'text/plain' }, bytes(content), actor)).contentAddress;
    }
    return { id: pkg.id, addresses };
  }
  async function deletePackage(id: string): Promise<void> {
    await registry().sweepRetention(new Date(Date.now() + 8 * 86_400_000));
    await registry().deletePackage(id, 'gc test', actor);
  }
  async function pushImage(repository: string, config: string, layers: string[], tag = 'v1'): Promise<string> {
    for (const content of [config, ...layers]) await registry().pushBlob(repository, sha256(content), bytes(content), actor, Buffer.byteLength(content));
    const manifest = bytesOf({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: descriptorOf('application/vnd.oci.image.config.v1+json', config),
      layers: layers.map((layer) => descriptorOf('application/vnd.oci.image.layer.v1.tar', layer)),
    });
    await registry().putManifest(repository, tag, manifest, MANIFEST, [], actor);
    return sha256(manifest);
  }

  it('removes the bytes of files of a deleted package and records v1.object.deleted with both digests, the size and the locations', async () => {
    const kept = await packageWith({ 'shared.txt': 'shared content' });
    const doomed = await packageWith({ 'only.txt': 'only in the doomed package', 'shared.txt': 'shared content' });
    const only = doomed.addresses['only.txt']!;
    await deletePackage(doomed.id);
    assert.ok(await stored(only), 'deleting a package leaves its bytes to GC');

    const report = await gc();
    assert.equal(report.deleted, 1);
    assert.deepEqual(report.objects.map((object) => object.contentAddress), [only]);
    assert.equal(report.bytes, Buffer.byteLength('only in the doomed package'));
    assert.equal(await stored(only), false, 'bytes are gone from the backend');
    assert.equal(await objectRow(only), undefined, 'the object row is gone');
    assert.equal(await instance.db.knex('storage_locations').where('content_address', only).first(), undefined);
    assert.ok(await stored(kept.addresses['shared.txt']!), 'content another package references stays');

    const [event] = await registry().fetchEvents(0, 10, { eventType: 'v1.object.deleted' });
    assert.ok(event);
    assert.equal(event.subject_kind, 'storage');
    assert.equal(event.subject_id, only);
    assert.equal(event.actor, 'system:gc');
    const payload = decodeCanonical(Buffer.from(event.payload_cbor, 'base64')) as Record<string, unknown>;
    assert.equal(payload.content_address, only);
    assert.equal(payload.digest_sha256, report.objects[0]!.digestSha256);
    assert.equal(payload.size, report.bytes);
    assert.deepEqual(payload.locations, [{ backend_id: 'local', object_key: `blake3/${only.slice(7, 9)}/${only.slice(9, 11)}/${only.slice(7)}` }]);

    assert.equal((await gc()).deleted, 0, 'a second pass finds nothing');
    const verified = await registry().verify({ objects: true });
    assert.ok(verified.ok, JSON.stringify(verified.viewDifferences));
    assert.deepEqual(verified.objects?.unreferenced, []);
    await registry().replay();
    assert.ok((await registry().verify()).ok, 'replay lands on the same views');
    assert.equal(await objectRow(only), undefined);
  });

  it('counts OCI links, manifests and the blobs manifests reference by digest as references', async () => {
    const manifestDigest = await pushImage('team/app', 'config-1', ['layer-a', 'layer-b']);
    const layerA = await registry().statObject(sha256('layer-a'));
    // Unlinking a layer a manifest still names keeps its bytes.
    await registry().deleteBlob('team/app', sha256('layer-a'), actor);
    assert.equal((await gc()).deleted, 0);
    assert.ok(await stored(layerA.contentAddress));

    const manifestObject = await registry().statObject(manifestDigest);
    await registry().deleteManifest('team/app', manifestDigest, actor);
    const report = await gc();
    // Layer A (unlinked, now unnamed) and the manifest bytes go; config and layer B stay linked.
    assert.deepEqual(new Set(report.objects.map((object) => object.contentAddress)), new Set([layerA.contentAddress, manifestObject.contentAddress]));
    assert.equal(await stored(layerA.contentAddress), false);
    assert.ok(await stored((await registry().statObject(sha256('layer-b'))).contentAddress));
    await assert.rejects(registry().statObject(manifestDigest), (error) => isRegistryError(error, 'OBJECT_NOT_FOUND'));

    // Pushing the same content again stores it afresh.
    await pushImage('team/app', 'config-1', ['layer-a', 'layer-b'], 'v2');
    assert.ok(await stored(layerA.contentAddress));
    const verified = await registry().verify({ objects: true });
    assert.ok(verified.ok, JSON.stringify(verified.objects?.problems));
  });

  it('waits out the grace period, and a dry run lists what a run would delete and changes nothing', async () => {
    const doomed = await packageWith({ 'a.txt': 'grace a', 'b.txt': 'grace b' });
    await deletePackage(doomed.id);
    const first = await gc({ graceSeconds: 3600 });
    assert.equal(first.queued, 2);
    assert.equal(first.deleted, 0);
    assert.equal(first.queueSize, 2);

    const events = await instance.log.count();
    const candidates = await instance.db.knex('gc_candidates').orderBy('content_address');
    const later = () => new Date(Date.now() + 3601_000);
    const dry = await gc({ graceSeconds: 3600, dryRun: true, now: later });
    assert.equal(dry.dryRun, true);
    assert.equal(dry.deleted, 2);
    assert.deepEqual(dry.objects.map((object) => object.contentAddress).sort(), Object.values(doomed.addresses).sort());
    assert.ok(dry.objects.every((object) => object.unreferencedSince !== null));
    assert.equal((await gc({ graceSeconds: 3600, dryRun: true })).deleted, 0, 'not yet due now');
    assert.equal(await instance.log.count(), events, 'a dry run records nothing');
    assert.deepEqual(await instance.db.knex('gc_candidates').orderBy('content_address'), candidates, 'nor touches the queue');
    for (const address of Object.values(doomed.addresses)) assert.ok(await stored(address), 'nor removes bytes');

    const limited = await gc({ graceSeconds: 3600, now: later, limit: 1 });
    assert.equal(limited.deleted, 1);
    const rest = await gc({ graceSeconds: 3600, now: later });
    assert.equal(rest.deleted, 1);
    assert.equal(rest.queueSize, 0);
  });

  it('drops a candidate that gained a reference', async () => {
    const doomed = await packageWith({ 'x.txt': 'comes back' });
    await deletePackage(doomed.id);
    assert.equal((await gc({ graceSeconds: 3600 })).queueSize, 1);
    await registry().pushBlob('again/repo', sha256('comes back'), bytes('comes back'), actor);
    const report = await gc({ graceSeconds: 0 });
    assert.equal(report.deleted, 0);
    assert.equal(report.dropped, 1);
    assert.equal(report.queueSize, 0);
    assert.ok(await stored(doomed.addresses['x.txt']!));
  });

  it('keeps content a native upload session expects', async () => {
    const doomed = await packageWith({ 'x.txt': 'expected by a session' });
    await deletePackage(doomed.id);
    const open = await registry().createPackage({ name: 'uploader', producer: 'ci', retentionClass: 'transient', metadata: {} }, actor);
    await registry().startFileUpload(open.id, { relativePath: 'x.txt', mediaType: 'text/plain', blake3: doomed.addresses['x.txt']! }, actor);
    assert.equal((await gc()).deleted, 0);
    assert.ok(await stored(doomed.addresses['x.txt']!));
  });

  it('refuses to record a reference to bytes GC removed after a dedup put found them, and a fresh ingest stores them again', async () => {
    const doomed = await packageWith({ 'x.txt': 'raced content' });
    await deletePackage(doomed.id);
    const pkg = await registry().createPackage({ name: 'racer', producer: 'ci', retentionClass: 'transient', metadata: {} }, actor);
    // The writer's data plane finds the bytes stored (dedup) …
    const receipt = await instance.dataPlane.ingestStream(bytes('raced content'));
    assert.equal(receipt.created, false);
    // … GC removes them before the writer's transaction …
    assert.equal((await gc()).deleted, 1);
    // … and the writer's transaction refuses, retryably.
    await assert.rejects(
      recordIngestedFile(registry().context, pkg.id, 'x.txt', 'text/plain', receipt, actor),
      (error) => isRegistryError(error, 'OBJECT_COLLECTED') && error.status === 503,
    );
    assert.equal((await registry().listFiles(pkg.id)).length, 0);
    const file = await registry().ingestFile(pkg.id, { relativePath: 'x.txt', mediaType: 'text/plain' }, bytes('raced content'), actor);
    assert.ok(await stored(file.contentAddress));
    assert.ok((await registry().verify({ objects: true })).ok);
  });

  it('makes writers look at the bytes of a claimed candidate (a review that died midway)', async () => {
    const doomed = await packageWith({ 'x.txt': 'half collected' });
    const address = doomed.addresses['x.txt']!;
    await deletePackage(doomed.id);
    await gc({ graceSeconds: 3600 });
    // A worker claimed it, removed the bytes and died before committing.
    await instance.db.knex('gc_candidates').where('content_address', address).update({ claimed_by: 'dead-worker', claim_expires: new Date(Date.now() - 1000).toISOString() });
    await instance.dataPlane.deleteObject(address);
    const pkg = await registry().createPackage({ name: 'writer', producer: 'ci', retentionClass: 'transient', metadata: {} }, actor);
    const stale = { contentAddress: address, digestSha256: (await registry().statObject(address)).digestSha256, size: 14, backend: 'local', objectKey: 'unused', retrievalTier: 'hot' as const, created: false };
    await assert.rejects(recordIngestedFile(registry().context, pkg.id, 'x.txt', 'text/plain', stale, actor), (error) => isRegistryError(error, 'OBJECT_COLLECTED'));
    await registry().ingestFile(pkg.id, { relativePath: 'x.txt', mediaType: 'text/plain' }, bytes('half collected'), actor);
    const report = await gc();
    assert.equal(report.deleted, 0);
    assert.equal(report.dropped, 1, 'the expired claim is reviewed again and dropped: referenced');
    assert.ok((await registry().verify({ objects: true })).ok);
  });

  it('skips an object with a location on a backend this run cannot reach, and releases its claim', async () => {
    const doomed = await packageWith({ 'x.txt': 'copied elsewhere' });
    const address = doomed.addresses['x.txt']!;
    await instance.registry.context.journal.transact(async (tx) => {
      await tx.record({ type: 'v1.storage.location_added', subjectId: address, actor, payload: { content_address: address, backend_id: 'elsewhere', object_key: 'k', retrieval_tier: 'hot' } });
    });
    await deletePackage(doomed.id);
    const report = await gc();
    assert.equal(report.deleted, 0);
    assert.equal(report.skipped, 1);
    assert.ok(await stored(address));
    const candidate = await instance.db.knex('gc_candidates').where('content_address', address).first();
    assert.equal(candidate.claimed_by, null);
    assert.equal((await eventTypes()).includes('v1.object.deleted'), false);
  });

  it('stops between objects when aborted, keeping what was done', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`f${i}.txt`] = `cancel ${i}`;
    const doomed = await packageWith(files);
    await deletePackage(doomed.id);
    const controller = new AbortController();
    const report = await gc({ batchSize: 2, signal: controller.signal, onProgress: () => controller.abort() });
    assert.equal(report.cancelled, true);
    assert.equal(report.deleted, 2);
    const claimed = await instance.db.knex('gc_candidates').whereNotNull('claimed_by');
    assert.equal(claimed.length, 0, 'no claim outlives a clean stop');
    assert.equal((await gc()).deleted, 4);
  });

  it('counts reclaimed objects and bytes and the queue size in the metrics', async () => {
    const doomed = await packageWith({ 'a.txt': 'metric a', 'b.txt': 'metric bb' });
    await deletePackage(doomed.id);
    const observer = instance.metrics.gcObserver();
    await gc({ observer });
    const { body } = await instance.metrics.exposition();
    assert.match(body, /^gc_objects_reclaimed_total 2$/m);
    assert.match(body, /^gc_bytes_reclaimed_total 17$/m);
    assert.match(body, /^gc_queue_size 0$/m);
  });

  it('runs passes periodically as serve does, and stops cleanly', async () => {
    const doomed = await packageWith({ 'w.txt': 'worker content' });
    const address = doomed.addresses['w.txt']!;
    await deletePackage(doomed.id);
    const reports: GcReport[] = [];
    const worker = startGcWorker(registry().context, { intervalSeconds: 0.1, graceSeconds: 0, onReport: (report) => reports.push(report) });
    const deadline = Date.now() + 30_000;
    while ((await stored(address)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await worker.stop();
    assert.equal(await stored(address), false);
    assert.equal(reports.reduce((sum, report) => sum + report.deleted, 0), 1);
    const passes = reports.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(reports.length, passes, 'no pass runs after stop');
  });

  it('lets concurrent workers share the queue without deleting anything twice', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`f${i}.txt`] = `shared queue ${i}`;
    const doomed = await packageWith(files);
    await deletePackage(doomed.id);
    await gc({ graceSeconds: 3600 });
    const reports = await Promise.all([1, 2, 3].map((n) => gc({ batchSize: 4, workerId: `w${n}` })));
    assert.equal(reports.reduce((sum, report) => sum + report.deleted, 0), 40);
    const deletions = (await eventTypes()).filter((type) => type === 'v1.object.deleted');
    assert.equal(deletions.length, 40);
    for (const address of Object.values(doomed.addresses)) assert.equal(await stored(address), false);
  });
});

describeEachDatabase('artifactstore gc', (target) => {
  it('lists in a dry run without changing anything, then removes, printing a summary', async () => {
    const env = await createCliEnv(target);
    try {
      // Set the store up in-process on the CLI's database and storage root.
      const instance = await openRegistry(loadSettings(env.env, env.workDir));
      let address: string;
      try {
        const pkg = await instance.registry.createPackage({ name: 'cli', producer: 'ci', retentionClass: 'transient', metadata: {} }, actor);
        address = (await instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('cli gc content'), actor)).contentAddress;
        await instance.registry.sweepRetention(new Date(Date.now() + 8 * 86_400_000));
        await instance.registry.deletePackage(pkg.id, 'cli test', actor);
      } finally {
        await instance.close();
      }
      const dry = await env.cli(['gc', '--dry-run', '--grace', '0s']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`^WOULD DELETE ${address} sha256:[0-9a-f]{64} 14$`, 'm'));
      assert.match(dry.stdout, /would delete 1 objects \(14 bytes.*nothing changed/);
      const waiting = await env.cli(['gc', '--json']);
      assert.equal(waiting.code, 0, waiting.stderr);
      const queued = JSON.parse(waiting.stdout) as GcReport;
      assert.equal(queued.graceSeconds, 86_400, 'the default grace is ARTIFACTSTORE_GC_GRACE, 24h');
      assert.equal(queued.deleted, 0);
      assert.equal(queued.queueSize, 1);
      const run = await env.cli(['gc', '--grace', '0s']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^DELETED ${address} `, 'm'));
      assert.match(run.stdout, /deleted 1 objects \(14 bytes/);
      const bad = await env.cli(['gc', '--grace', 'soon']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--grace must be a duration/);
    } finally {
      await env.dispose();
    }
  });
});

describe('GC settings', () => {
  it('reads ARTIFACTSTORE_GC_GRACE and ARTIFACTSTORE_GC_INTERVAL, zero included, and refuses nonsense', () => {
    assert.deepEqual(loadSettings({}, '/tmp').gc, { graceSeconds: 86_400, intervalSeconds: 600 });
    assert.deepEqual(loadSettings({ ARTIFACTSTORE_GC_GRACE: '0s', ARTIFACTSTORE_GC_INTERVAL: '0' }, '/tmp').gc, { graceSeconds: 0, intervalSeconds: 0 });
    assert.deepEqual(loadSettings({ ARTIFACTSTORE_GC_GRACE: '30s', ARTIFACTSTORE_GC_INTERVAL: '2h' }, '/tmp').gc, { graceSeconds: 30, intervalSeconds: 7200 });
    assert.throws(() => loadSettings({ ARTIFACTSTORE_GC_GRACE: 'soon' }, '/tmp'), /ARTIFACTSTORE_GC_GRACE must be a duration/);
    assert.throws(() => loadSettings({ ARTIFACTSTORE_GC_INTERVAL: '-1s' }, '/tmp'), /ARTIFACTSTORE_GC_INTERVAL must be a duration/);
  });
});
