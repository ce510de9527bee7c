/**
 * Online GC under fire (docs/adr/0020), on every database: for
 * ARTIFACTSTORE_GC_STRESS_SECONDS (default 60) native and OCI clients push
 * over loopback HTTP — re-pushing the same small pool of blobs again and
 * again, plus some unique content — finalize and delete packages, delete
 * manifests and unlink blobs, while GC workers (two on PostgreSQL) run
 * back to back with a zero grace period. Then: every object still
 * referenced is stored and re-hashes to both recorded digests (also fetched
 * over OCI), every object GC deleted and nobody re-pushed is gone from the
 * backend, no bytes are left that no row knows, and the views equal a
 * replay of the log.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { describeEachDatabase } from '../support/databases.js';
import { serveNative, multipartBody, type NativeHarness } from '../http/native/helpers.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';

const SECONDS = Number(process.env.ARTIFACTSTORE_GC_STRESS_SECONDS ?? 60);
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (content: Uint8Array): string => `sha256:${createHash('sha256').update(content).digest('hex')}`;

/** A fixed pool of contents every client keeps re-pushing (1–48 KiB). */
function contentPool(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const content = Buffer.alloc(1024 * (1 + ((i * 7) % 48)));
    for (let j = 0; j < content.length; j++) content[j] = (i * 31 + j * 17) & 0xff;
    return content;
  });
}

interface Tally {
  nativeFiles: number;
  nativePackages: number;
  finalized: number;
  packageDeletes: number;
  ociBlobs: number;
  ociManifests: number;
  manifestDeletes: number;
  blobDeletes: number;
  retries: number;
  gcRuns: number;
  reclaimed: number;
  reclaimedBytes: number;
  gcMs: number;
}

describeEachDatabase('GC stress: pushes, deletes and GC racing with a zero grace period', (target) => {
  let instance: TestRegistry;
  let harness: NativeHarness;

  before(async () => {
    instance = await openTestRegistry(target);
    harness = await serveNative(instance);
  });
  after(async () => {
    await harness.close();
    await instance.dispose();
  });

  it(`loses no referenced object and leaves no deleted one behind (${SECONDS} s)`, async function () {
    this.timeout((SECONDS + 120) * 1000);
    const pool = contentPool(24);
    const tally: Tally = { nativeFiles: 0, nativePackages: 0, finalized: 0, packageDeletes: 0, ociBlobs: 0, ociManifests: 0, manifestDeletes: 0, blobDeletes: 0, retries: 0, gcRuns: 0, reclaimed: 0, reclaimedBytes: 0, gcMs: 0 };
    const failures: string[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    const running = () => Date.now() < deadline && failures.length === 0;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

    /** Sends until the answer is not 503 (GC removed bytes the request relied on); fails on anything but `ok`. */
    async function send(what: string, ok: readonly number[], init: () => { url: string; method: string; body?: Uint8Array; headers?: Record<string, string> }): Promise<Response> {
      for (let attempt = 0; ; attempt++) {
        const request = init();
        const response = await fetch(harness.url(request.url), { method: request.method, ...(request.body ? { body: request.body } : {}), headers: request.headers ?? {} });
        if (response.status === 503 && attempt < 20) {
          const problem = await response.text();
          assert.match(problem, /garbage-collected|UNAVAILABLE/, `${what}: a 503 only ever means the bytes were collected: ${problem}`);
          tally.retries += 1;
          continue;
        }
        if (!ok.includes(response.status)) {
          failures.push(`${what}: ${response.status} ${await response.text()}`);
          throw new Error(failures.at(-1));
        }
        return response;
      }
    }

    // Each native client keeps its last two packages and deletes older ones;
    // each OCI client keeps one manifest per tag (three tags) and deletes the
    // one a tag moved away from: every pool blob is referenced only for a
    // while, so GC keeps deleting content that is being re-pushed.
    async function nativeClient(n: number): Promise<void> {
      const kept: string[] = [];
      while (running()) {
        const created = await send('create package', [201], () => ({
          url: '/packages', method: 'POST', headers: { 'content-type': 'application/json' },
          body: Buffer.from(JSON.stringify({ name: `stress-${n}`, producer: 'gc-stress', retention_class: 'transient' })),
        }));
        const id = ((await created.json()) as { id: string }).id;
        tally.nativePackages += 1;
        const files = [pick(pool), pick(pool), randomBytes(2048 + Math.floor(Math.random() * 8192))];
        for (const [index, content] of files.entries()) {
          await send('upload file', [201], () => {
            const form = multipartBody([{ file: 'file', filename: `f${index}.bin`, contentType: 'application/octet-stream', content }]);
            return { url: `/packages/${id}/files`, method: 'POST', body: form.body, headers: { 'content-type': form.contentType } };
          });
          tally.nativeFiles += 1;
        }
        if (Math.random() < 0.4) {
          await send('finalize', [200, 201], () => ({ url: `/packages/${id}/finalize`, method: 'POST' }));
          tally.finalized += 1;
        }
        kept.push(id);
        while (kept.length > 2) {
          const oldest = kept.shift()!;
          // Deleting needs eligibility: sweep as if the class had expired.
          await instance.registry.sweepRetention(new Date(Date.now() + 8 * 86_400_000));
          await send('delete package', [204], () => ({
            url: `/packages/${oldest}`, method: 'DELETE', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ reason: 'gc stress' })),
          }));
          tally.packageDeletes += 1;
        }
      }
    }

    async function ociClient(n: number): Promise<void> {
      const repository = `stress/oci-${n}`;
      const tagged = new Map<string, string>();
      for (let round = 0; running(); round++) {
        const config = Buffer.from(JSON.stringify({ round: round % 5, client: n }));
        const layers = [pick(pool), pick(pool), ...(Math.random() < 0.5 ? [randomBytes(4096)] : [])];
        for (const blob of [config, ...layers]) {
          await send('push blob', [201], () => ({ url: `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, method: 'POST', body: blob, headers: { 'content-type': 'application/octet-stream' } }));
          tally.ociBlobs += 1;
        }
        const manifest = Buffer.from(JSON.stringify({
          schemaVersion: 2,
          mediaType: MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
          layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length })),
        }));
        const tag = `t${round % 3}`;
        await send('put manifest', [201], () => ({ url: `/v2/${repository}/manifests/${tag}`, method: 'PUT', body: manifest, headers: { 'content-type': MANIFEST } }));
        tally.ociManifests += 1;
        const previous = tagged.get(tag);
        tagged.set(tag, sha256(manifest));
        if (previous !== undefined && previous !== sha256(manifest)) {
          await send('delete manifest', [202, 404], () => ({ url: `/v2/${repository}/manifests/${previous}`, method: 'DELETE' }));
          tally.manifestDeletes += 1;
        }
        // Unlinking a layer the manifest names keeps it; a later push links it again.
        for (const blob of [config, ...layers]) {
          if (Math.random() < 0.5) {
            await send('delete blob', [202, 404], () => ({ url: `/v2/${repository}/blobs/${sha256(blob)}`, method: 'DELETE' }));
            tally.blobDeletes += 1;
          }
        }
      }
    }

    async function gcWorker(n: number): Promise<void> {
      while (running()) {
        const started = Date.now();
        const report = await instance.registry.collectGarbage({ graceSeconds: 0, batchSize: 8, workerId: `stress-${n}` });
        tally.gcMs += Date.now() - started;
        tally.gcRuns += 1;
        tally.reclaimed += report.deleted;
        tally.reclaimedBytes += report.bytes;
        if (report.problems.length > 0) failures.push(...report.problems);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    const gcWorkers = target.name === 'postgres' ? 2 : 1;
    const results = await Promise.allSettled([
      nativeClient(1), nativeClient(2), ociClient(1), ociClient(2),
      ...Array.from({ length: gcWorkers }, (_, i) => gcWorker(i + 1)),
    ]);
    for (const result of results) if (result.status === 'rejected' && !failures.includes(String((result.reason as Error).message))) failures.push(String(result.reason));
    assert.deepEqual(failures, []);

    // A last pass, then the checks.
    const last = await instance.registry.collectGarbage({ graceSeconds: 0 });
    tally.reclaimed += last.deleted;
    const knex = instance.db.knex;
    const referenced = new Set<string>([
      ...(await knex('artifact_files').distinct('content_address').pluck('content_address')),
      ...(await knex('oci_blob_links').distinct('content_address').pluck('content_address')),
      ...(await knex('oci_manifests').distinct('content_address').pluck('content_address')),
    ] as string[]);
    let lost = 0;
    for (const address of referenced) {
      const row = await knex('objects').where('content_address', address).first('digest_sha256', 'size');
      const verified = await instance.dataPlane.verifyObject(address, { sha256: row.digest_sha256, size: Number(row.size) });
      if (!verified.ok) lost += 1;
    }
    assert.equal(lost, 0, 'every referenced object is stored and re-hashes to both digests');
    for (const link of await knex('oci_blob_links').select('repository', 'digest')) {
      const response = await fetch(harness.url(`/v2/${link.repository}/blobs/${link.digest}`));
      assert.equal(response.status, 200);
      assert.equal(sha256(Buffer.from(await response.arrayBuffer())), link.digest);
    }
    const deletedEvents = await instance.registry.fetchEvents(0, 1_000_000, { eventType: 'v1.object.deleted' });
    const deleted = new Set(deletedEvents.map((event) => event.subject_id));
    const poolReclaims = deletedEvents.filter((event) => pool.some((content) => {
      const payload = event.payload as { digest_sha256?: string };
      return payload.digest_sha256 === sha256(content);
    })).length;
    let gone = 0;
    for (const address of deleted) {
      if (await knex('objects').where('content_address', address).first('content_address')) continue; // pushed again since
      assert.equal(await instance.dataPlane.statObject(address), null, `${address} was deleted and must be gone from the backend`);
      gone += 1;
    }
    const verify = await instance.registry.verify({ objects: true });
    assert.ok(verify.ok, JSON.stringify({ views: verify.viewDifferences.slice(0, 5), objects: verify.objects?.problems.slice(0, 5) }));
    assert.deepEqual(verify.objects?.unreferenced, [], 'no bytes are left that no row knows');
    assert.equal(deletedEvents.length, tally.reclaimed, 'one v1.object.deleted per reclaimed object');
    assert.ok(tally.reclaimed > 0 && tally.packageDeletes > 0 && tally.manifestDeletes > 0, JSON.stringify(tally));

    const seconds = tally.gcMs / 1000;
    process.stdout.write(
      `      [${target.name}] ${SECONDS}s: native ${tally.nativePackages} packages / ${tally.nativeFiles} files / ${tally.finalized} finalized / ${tally.packageDeletes} deleted; ` +
        `OCI ${tally.ociBlobs} blob pushes / ${tally.ociManifests} manifests / ${tally.manifestDeletes} manifest deletes / ${tally.blobDeletes} blob deletes; ` +
        `${tally.retries} retried after OBJECT_COLLECTED; GC ${tally.gcRuns} runs reclaimed ${tally.reclaimed} objects (${(tally.reclaimedBytes / 1_048_576).toFixed(1)} MiB), ` +
        `${deleted.size} distinct (pool blobs deleted ${poolReclaims} times), ${gone} still gone, ${referenced.size} referenced, lost 0; GC passes took ${((seconds * 1000) / Math.max(tally.gcRuns, 1)).toFixed(0)} ms on average (${seconds.toFixed(1)} s in all)\n`,
    );
  });
});
