import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { isRegistryError, type ErrorCode } from '../../src/errors/index.js';
import { decodeManifest, fromJcs, jcsToCbor } from '../../src/manifest/index.js';
import { blake3Hex } from '../../src/identity/index.js';

const actor = 'local:tester';
const rejects = (promise: Promise<unknown>, code: ErrorCode) => assert.rejects(promise, (error) => isRegistryError(error, code));

describeEachDatabase('registry use cases', (target) => {
  let instance: TestRegistry;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
  });
  afterEach(async () => {
    await instance.dispose();
  });

  const newPackage = (overrides: Record<string, unknown> = {}) =>
    instance.registry.createPackage({ name: 'run-1', producer: 'ci', retentionClass: 'raw-evidence', metadata: { run: 7, ok: true }, ...overrides }, actor);

  it('creates a package with the retention class default applied', async () => {
    const before = Date.now();
    const pkg = await newPackage();
    assert.equal(pkg.status, 'created');
    assert.equal(pkg.retentionClass, 'raw-evidence');
    assert.deepEqual(pkg.metadata, { run: 7, ok: true });
    assert.equal(pkg.createdBy, actor);
    const expires = Date.parse(pkg.expiresAt!);
    assert.ok(Math.abs(expires - (before + 90 * 86_400_000)) < 60_000, `expiry ${pkg.expiresAt} is about 90 days out`);
    const events = await instance.registry.fetchEvents(0, 10);
    assert.deepEqual(events.map((event) => event.event_type), ['v1.package.created', 'v1.retention.default_applied']);
    assert.deepEqual(events.map((event) => event.actor), [actor, actor]);
  });

  it('gives permanent-record packages no expiry', async () => {
    const pkg = await newPackage({ retentionClass: 'permanent-record' });
    assert.equal(pkg.expiresAt, null);
  });

  it('rejects unknown retention classes, bad fields and float metadata without writing anything', async () => {
    await rejects(newPackage({ retentionClass: 'forever' }), 'RETENTION_CLASS_UNKNOWN');
    await rejects(newPackage({ name: '' }), 'FIELD_INVALID');
    await rejects(newPackage({ producer: 'a\u0000b' }), 'FIELD_INVALID');
    await rejects(newPackage({ metadata: { ratio: 0.5 } }), 'METADATA_INVALID');
    await rejects(newPackage({ metadata: ['list'] }), 'METADATA_INVALID');
    assert.equal(await instance.log.count(), 0);
  });

  it('ingests files with both digests, deduplicates identical content, and finalizes into a canonical manifest', async () => {
    const pkg = await newPackage();
    const a = await instance.registry.ingestFile(pkg.id, { relativePath: 'reports/a.txt', mediaType: 'text/plain' }, bytes('hello ', 'world'), actor);
    const b = await instance.registry.ingestFile(pkg.id, { relativePath: 'copy/a.txt', mediaType: 'text/plain' }, bytes('hello world'), actor);
    await instance.registry.ingestFile(pkg.id, { relativePath: 'empty.bin', mediaType: 'application/octet-stream' }, bytes(), actor);
    assert.equal(a.contentAddress, `blake3:${blake3Hex(Buffer.from('hello world'))}`);
    assert.equal(a.digestSha256, `sha256:${createHash('sha256').update('hello world').digest('hex')}`);
    assert.equal(b.contentAddress, a.contentAddress);
    const objects = await instance.db.knex('objects').count({ n: '*' }).first();
    assert.equal(Number(objects!.n), 2, 'identical content is stored once');
    const view = await instance.registry.getPackage(pkg.id);
    assert.equal(view.fileCount, 3);
    assert.equal(view.totalSize, 11, 'shared content counts once');

    const finalized = await instance.registry.finalizePackage(pkg.id, actor);
    const cbor = await instance.registry.getManifestBytes(pkg.id, 'cbor');
    assert.equal(finalized.manifestDigest, `blake3:${blake3Hex(cbor.bytes)}`);
    assert.equal(cbor.digest, finalized.manifestDigest);
    const manifest = decodeManifest(cbor.bytes);
    assert.deepEqual(manifest.files.map((file) => file.relative_path), ['copy/a.txt', 'empty.bin', 'reports/a.txt']);
    assert.equal(manifest.package.id, pkg.id);
    assert.equal(manifest.storage_receipts.length, 2);
    assert.equal(manifest.layers.length, 3);
    assert.equal(manifest.layers[2]!.digest, a.digestSha256);
    const json = await instance.registry.getManifestBytes(pkg.id, 'json');
    assert.ok(Buffer.from(jcsToCbor(Buffer.from(json.bytes).toString('utf8'))).equals(Buffer.from(cbor.bytes)), 'JCS view converts back to the same CBOR');
    assert.equal((fromJcs(Buffer.from(json.bytes).toString('utf8')) as { manifest_version: number }).manifest_version, 1);

    const after = await instance.registry.getPackage(pkg.id);
    assert.equal(after.status, 'finalized');
    assert.equal(after.manifestDigest, finalized.manifestDigest);
    const [sealed] = await instance.registry.fetchEvents(0, 100, { eventType: 'v1.package.finalized' });
    assert.equal(sealed!.subject_id, pkg.id);
    assert.equal(sealed!.payload_digest, finalized.manifestDigest, 'manifest digest = payload digest');

    // The same package through /v2/: an OCI artifact tagged with its id, whose layers are the files.
    const oci = await instance.registry.statManifest('packages', pkg.id);
    assert.equal(oci.digest, finalized.oci.digest);
    const { stream } = await instance.registry.openManifest('packages', pkg.id);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const ociManifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { layers: Array<{ digest: string; annotations: Record<string, string> }>; annotations: Record<string, string> };
    assert.deepEqual(ociManifest.layers.map((layer) => layer.annotations['org.opencontainers.image.title']), ['copy/a.txt', 'empty.bin', 'reports/a.txt']);
    assert.equal(ociManifest.annotations['dev.artifactstore.manifest.digest'], finalized.manifestDigest);
    const blob = await instance.registry.statBlob('packages', a.digestSha256);
    assert.equal(blob.contentAddress, a.contentAddress);
  });

  const unsafePaths = ['/etc/passwd', '../up', 'a/../../b', 'a\\b', 'a\u0000b', 'a//b', 'a/', '', './a', 'C:/x'];
  for (const relativePath of unsafePaths) {
    it(`refuses the unsafe path ${JSON.stringify(relativePath)} and stores nothing`, async () => {
      const pkg = await newPackage();
      const sequence = await instance.log.lastSequence();
      await rejects(instance.registry.ingestFile(pkg.id, { relativePath, mediaType: 'text/plain' }, bytes('x'), actor), 'FILE_PATH_INVALID');
      assert.equal(await instance.log.lastSequence(), sequence);
      const objects = await instance.db.knex('objects').count({ n: '*' }).first();
      assert.equal(Number(objects!.n), 0);
      const stored: string[] = [];
      for await (const address of instance.dataPlane.listObjects()) stored.push(address);
      assert.deepEqual(stored, []);
    });
  }

  it('refuses duplicate paths, unknown packages and ingest into a finalized package', async () => {
    const pkg = await newPackage();
    await instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('1'), actor);
    await rejects(instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('2'), actor), 'FILE_PATH_DUPLICATE');
    await rejects(instance.registry.ingestFile('0190f7a0-0000-7000-8000-000000000000', { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('2'), actor), 'PACKAGE_NOT_FOUND');
    await rejects(instance.registry.ingestFile(pkg.id, { relativePath: 'b.txt', mediaType: 'not a type' }, bytes('2'), actor), 'FIELD_INVALID');
    const objects = await instance.db.knex('objects').count({ n: '*' }).first();
    assert.equal(Number(objects!.n), 1, 'rejected ingests stored no object');
    await instance.registry.finalizePackage(pkg.id, actor);
    const sealed = await instance.db.knex('objects').count({ n: '*' }).first();
    await rejects(instance.registry.ingestFile(pkg.id, { relativePath: 'b.txt', mediaType: 'text/plain' }, bytes('3'), actor), 'PACKAGE_FINALIZED');
    await rejects(instance.registry.finalizePackage(pkg.id, actor), 'PACKAGE_FINALIZED');
    const after = await instance.db.knex('objects').count({ n: '*' }).first();
    assert.equal(Number(after!.n), Number(sealed!.n), 'ingest into a finalized package stored no object');
  });

  it('checks expected digests before recording, keeping nothing on mismatch', async () => {
    const pkg = await newPackage();
    const wrong = `sha256:${'0'.repeat(64)}`;
    await rejects(instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain', expect: { sha256: wrong } }, bytes('abc'), actor), 'DIGEST_MISMATCH');
    await rejects(instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain', expect: { size: 4 } }, bytes('abc'), actor), 'SIZE_MISMATCH');
    assert.equal((await instance.registry.getPackage(pkg.id)).fileCount, 0);
    const stored: string[] = [];
    for await (const address of instance.dataPlane.listObjects()) stored.push(address);
    assert.deepEqual(stored, []);
  });

  it('reads files back, whole and by range', async () => {
    const pkg = await newPackage();
    const file = await instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('0123456789'), actor);
    assert.deepEqual(await instance.registry.getFile(file.id), file);
    const opened = await instance.registry.openFile(file.id, { start: 2, end: 4 });
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), '234');
    await rejects(instance.registry.getFile('nope'), 'FILE_NOT_FOUND');
    await rejects(instance.registry.getManifestBytes(pkg.id, 'cbor'), 'PACKAGE_NOT_FINALIZED');
  });
});
