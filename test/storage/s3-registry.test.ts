/**
 * The registry on the S3 backend, against a real Ceph RGW (test/support/rgw.ts),
 * on every database:
 * - the OCI conformance runner over HTTP against a server storing in S3, after
 *   which `verify --objects` re-hashes every object from the bucket, and
 *   `/health` reports the bucket (503 once it is gone);
 * - downloads redirected to presigned URLs (`ARTIFACTSTORE_S3_REDIRECT`), which
 *   the RGW refuses once tampered with or expired;
 * - `storage migrate` local → S3 through the CLI (a partial run, then the rest),
 *   `verify --objects` with the S3 backend configured, and back to local;
 *   and the use case itself: resumable, one location event per object, reads
 *   untouched meanwhile, finalizing after a migration.
 * Every registry keeps its objects under its own key prefix, removed afterwards.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import type { Settings } from '../../src/config.js';
import { loadSettings } from '../../src/config.js';
import { backendSettingsFor, openDataPlane, openRegistry } from '../../src/app.js';
import { isRegistryError } from '../../src/errors/index.js';
import { createDataPlane } from '../../src/dataplane/index.js';
import { openLocalBackend } from '../../src/storage/backends/local/index.js';
import { blake3Hex } from '../../src/identity/index.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { allChecks, runConformance, type ConformanceReport } from '../../conformance/runner.js';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { createCliEnv, type CliEnv } from '../support/cli-env.js';
import { ensureRgw, type S3TestEnv } from '../support/rgw.js';
import { freshS3Prefix, purgeS3Prefix, s3AdminClient, s3EnvVars, s3KeysUnder, s3StorageSettings } from '../support/s3.js';

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blake3 = (data: Uint8Array): string => `blake3:${blake3Hex(data)}`;
const silent = pino({ level: 'silent' });

/** Settings overrides of a registry storing in S3 under `prefix`. */
function onS3(env: S3TestEnv, prefix: string, workDir: string, redirect = false): Partial<Settings> {
  return { storage: { backend: 's3', localRoot: path.join(workDir, 'unused-local'), s3: s3StorageSettings(env, prefix, { redirect }) } };
}

/** Pushes `data` as a blob of `repository` (monolithic upload); returns its digest. */
async function pushBlob(base: string, repository: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const response = await fetch(`${base}/v2/${repository}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(response.status, 201, await response.text());
  return digest;
}

describe('storage settings (ARTIFACTSTORE_STORAGE_BACKEND, ARTIFACTSTORE_S3_*)', () => {
  const problemsOf = (env: NodeJS.ProcessEnv, cwd = '/srv'): string[] => {
    try {
      loadSettings(env, cwd);
    } catch (error) {
      assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
      return (error.extra?.problems as string[]) ?? [];
    }
    return [];
  };

  it('defaults to the local backend without S3 settings', () => {
    const settings = loadSettings({}, '/srv');
    assert.deepEqual(settings.storage, { backend: 'local', localRoot: '/srv/var/storage', stagingCleanup: { mode: 'pid', maxAgeSeconds: 86_400 } });
    assert.deepEqual(backendSettingsFor(settings), { kind: 'local', root: '/srv/var/storage', stagingCleanup: 'pid', stagingMaxAgeSeconds: 86_400 });
    assert.throws(() => backendSettingsFor(settings, 's3'), /ARTIFACTSTORE_S3_BUCKET/);
  });

  it('reads the S3 backend with its defaults, and hands the factory everything but the redirect flag', () => {
    const settings = loadSettings({
      ARTIFACTSTORE_STORAGE_BACKEND: 'S3',
      ARTIFACTSTORE_S3_BUCKET: 'artifacts',
      ARTIFACTSTORE_S3_ENDPOINT_URL: 'http://127.0.0.1:7480',
      ARTIFACTSTORE_S3_KEY_PREFIX: '/prod/registry/',
      ARTIFACTSTORE_S3_ACCESS_KEY_ID: 'AKID',
      ARTIFACTSTORE_S3_SECRET_ACCESS_KEY: 'very-secret',
      ARTIFACTSTORE_S3_FORCE_PATH_STYLE: 'true',
      ARTIFACTSTORE_S3_STORAGE_CLASS: 'STANDARD_IA',
      ARTIFACTSTORE_S3_SSE: 'aws:kms',
      ARTIFACTSTORE_S3_SSE_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:1:key/k',
      ARTIFACTSTORE_S3_REDIRECT: 'yes',
    }, '/srv');
    assert.equal(settings.storage.backend, 's3');
    assert.deepEqual({ ...settings.storage.s3 }, {
      endpointUrl: 'http://127.0.0.1:7480', region: 'us-east-1', bucket: 'artifacts', keyPrefix: 'prod/registry', accessKeyId: 'AKID', secretAccessKey: 'very-secret',
      forcePathStyle: true, storageClass: 'STANDARD_IA', sse: { algorithm: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/k' },
      multipartThresholdBytes: 16 * 1024 * 1024, multipartChunkBytes: 8 * 1024 * 1024, redirect: true,
    });
    const factory = backendSettingsFor(settings);
    assert.equal(factory.kind, 's3');
    assert.ok(!('redirect' in factory));
    // Staging cleanup follows the serving backend (on s3: by age only; docs/operator.md).
    assert.deepEqual(backendSettingsFor(settings, 'local'), { kind: 'local', root: '/srv/var/storage', stagingCleanup: 'age', stagingMaxAgeSeconds: 86_400 });
    // The settings are logged at start: never the secret.
    assert.ok(!JSON.stringify(settings).includes('very-secret'));
    assert.match(JSON.stringify(settings.storage), /"secretAccessKey":"\[Redacted\]"/);
  });

  it('reads S3 settings beside the local backend (for storage migrate), credentials from mounted files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-secrets-'));
    try {
      await writeFile(path.join(dir, 'id'), 'AKID-FROM-FILE\n');
      await writeFile(path.join(dir, 'secret'), '  secret-from-file\n');
      const settings = loadSettings({ ARTIFACTSTORE_S3_BUCKET: 'b-1', ARTIFACTSTORE_S3_ACCESS_KEY_ID_FILE: 'id', ARTIFACTSTORE_S3_SECRET_ACCESS_KEY_FILE: path.join(dir, 'secret') }, dir);
      assert.equal(settings.storage.backend, 'local');
      assert.equal(settings.storage.s3?.accessKeyId, 'AKID-FROM-FILE');
      assert.equal(settings.storage.s3?.secretAccessKey, 'secret-from-file');
      assert.equal(settings.storage.s3?.redirect, false);
      assert.deepEqual(problemsOf({ ARTIFACTSTORE_S3_BUCKET: 'b-1', ARTIFACTSTORE_S3_ACCESS_KEY_ID: 'x', ARTIFACTSTORE_S3_ACCESS_KEY_ID_FILE: 'id', ARTIFACTSTORE_S3_SECRET_ACCESS_KEY: 'y' }, dir), [
        'ARTIFACTSTORE_S3_ACCESS_KEY_ID and ARTIFACTSTORE_S3_ACCESS_KEY_ID_FILE are both set; set one',
      ]);
      const missing = problemsOf({ ARTIFACTSTORE_S3_BUCKET: 'b-1', ARTIFACTSTORE_S3_ACCESS_KEY_ID: 'x', ARTIFACTSTORE_S3_SECRET_ACCESS_KEY_FILE: 'nope' }, dir);
      assert.equal(missing.length, 1);
      assert.match(missing[0]!, /^ARTIFACTSTORE_S3_SECRET_ACCESS_KEY_FILE \(.*nope\) cannot be read/);
      assert.deepEqual(problemsOf({ ARTIFACTSTORE_S3_BUCKET: 'b-1', ARTIFACTSTORE_S3_ACCESS_KEY_ID: 'x' }, dir).length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports every bad storage variable at once, one message each, by name', () => {
    const problems = problemsOf({
      ARTIFACTSTORE_STORAGE_BACKEND: 'gcs',
      ARTIFACTSTORE_S3_ENDPOINT_URL: 'ftp://x',
      ARTIFACTSTORE_S3_REGION: 'us east',
      ARTIFACTSTORE_S3_BUCKET: 'a',
      ARTIFACTSTORE_S3_KEY_PREFIX: 'a/../b',
      ARTIFACTSTORE_S3_FORCE_PATH_STYLE: 'maybe',
      ARTIFACTSTORE_S3_STORAGE_CLASS: 'cold storage',
      ARTIFACTSTORE_S3_SSE: 'rot13',
      ARTIFACTSTORE_S3_MULTIPART_THRESHOLD_BYTES: '16MiB',
      ARTIFACTSTORE_S3_MULTIPART_CHUNK_BYTES: '1024',
      ARTIFACTSTORE_S3_REDIRECT: 'sometimes',
    });
    const named = problems.map((problem) => /^(ARTIFACTSTORE_[A-Z0-9_]+)/.exec(problem)?.[1]);
    assert.deepEqual(named, [
      'ARTIFACTSTORE_STORAGE_BACKEND', 'ARTIFACTSTORE_S3_ENDPOINT_URL', 'ARTIFACTSTORE_S3_REGION', 'ARTIFACTSTORE_S3_BUCKET', 'ARTIFACTSTORE_S3_KEY_PREFIX',
      'ARTIFACTSTORE_S3_FORCE_PATH_STYLE', 'ARTIFACTSTORE_S3_STORAGE_CLASS', 'ARTIFACTSTORE_S3_SSE', 'ARTIFACTSTORE_S3_MULTIPART_THRESHOLD_BYTES',
      'ARTIFACTSTORE_S3_MULTIPART_CHUNK_BYTES', 'ARTIFACTSTORE_S3_REDIRECT',
    ], problems.join('\n'));
    assert.deepEqual(problemsOf({ ARTIFACTSTORE_STORAGE_BACKEND: 's3' }), ['ARTIFACTSTORE_S3_BUCKET is required when ARTIFACTSTORE_STORAGE_BACKEND is s3']);
    assert.deepEqual(problemsOf({ ARTIFACTSTORE_S3_BUCKET: 'b-1', ARTIFACTSTORE_S3_SSE: 'AES256', ARTIFACTSTORE_S3_SSE_KMS_KEY_ID: 'k' }), [
      'ARTIFACTSTORE_S3_SSE_KMS_KEY_ID needs ARTIFACTSTORE_S3_SSE=aws:kms or aws:kms:dsse',
    ]);
  });
});

let s3: S3TestEnv;
before(async function () {
  // The first start installs Ceph from apt.
  this.timeout(16 * 60 * 1000);
  s3 = await ensureRgw();
});

// Streamed through the registry, and redirected to presigned URLs: a client
// following the redirect gets the same bytes, the registry's digest header on
// its 307 (the bucket cannot set it).
for (const redirect of [false, true]) {
  describeEachDatabase(`S3-backed registry${redirect ? ' with ARTIFACTSTORE_S3_REDIRECT' : ''}: OCI conformance, then verify --objects from the bucket`, (target) => {
    const prefix = freshS3Prefix(`conformance-${redirect ? 'redirect-' : ''}${target.name}`);
    let instance: TestRegistry;
    let server: RunningServer;
    let base: string;
    let report: ConformanceReport;

    before(async function () {
      this.timeout(110_000);
      const workDir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-s3-'));
      instance = await openTestRegistry(target, onS3(s3, prefix, workDir, redirect));
      await rm(workDir, { recursive: true, force: true });
      server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, silent);
      base = `http://127.0.0.1:${server.address.port}`;
      report = await runConformance({ url: base });
    });
    after(async function () {
      this.timeout(60_000);
      await server?.close();
      await instance?.dispose();
      await purgeS3Prefix(s3, prefix);
    });

    it('serves from the S3 backend', () => {
      assert.equal(instance.dataPlane.backendId, 's3');
      assert.equal(instance.settings.storage.backend, 's3');
    });

    for (const check of allChecks) {
      it(`${check.workflow}: ${check.name}`, () => {
        const result = report.results.find((entry) => entry.workflow === check.workflow && entry.name === check.name);
        assert.ok(result, 'the check ran');
        assert.ok(result.ok || result.optional, result.detail);
      });
    }

    it('leaves a log that verifies, every object re-hashed from the bucket', async function () {
      this.timeout(60_000);
      const verification = await instance.registry.verify({ objects: true });
      assert.equal(verification.ok, true, JSON.stringify({ views: verification.viewDifferences.slice(0, 5), objects: verification.objects?.problems.slice(0, 5) }));
      assert.ok(verification.objects!.checked > 10, `checked ${verification.objects!.checked}`);
      const locations = await instance.db.knex('storage_locations').distinct('backend_id').pluck('backend_id');
      assert.deepEqual(locations, ['s3']);
      const keys = await s3KeysUnder(s3AdminClient(s3), s3.bucket, `${prefix}/blake3`);
      assert.equal(keys.length, verification.objects!.checked + verification.objects!.unreferenced.length, 'every object is in the bucket under the prefix');
    });

    // The rest concerns the registry itself, checked once: streaming, and health.
    if (!redirect) {
      it('streams blobs when redirects are off (the default)', async () => {
        const digest = await pushBlob(base, 'streamed/repo', randomBytes(1000));
        const response = await fetch(`${base}/v2/streamed/repo/blobs/${digest}`, { redirect: 'manual' });
        assert.equal(response.status, 200);
        assert.equal(sha256(Buffer.from(await response.arrayBuffer())), digest);
      });

      it('streams a large blob whole and by range, byte for byte (read on the backend\'s own socket)', async function () {
        this.timeout(60_000);
        const content = randomBytes(9 * 1024 * 1024 + 5);
        const digest = await pushBlob(base, 'streamed/large', content);
        const whole = await fetch(`${base}/v2/streamed/large/blobs/${digest}`);
        assert.equal(whole.status, 200);
        assert.equal(whole.headers.get('content-length'), String(content.length));
        assert.equal(sha256(Buffer.from(await whole.arrayBuffer())), digest);
        const ranged = await fetch(`${base}/v2/streamed/large/blobs/${digest}`, { headers: { range: 'bytes=4194000-8388999' } });
        assert.equal(ranged.status, 206);
        assert.equal(ranged.headers.get('content-range'), `bytes 4194000-8388999/${content.length}`);
        assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(content.subarray(4_194_000, 8_389_000)));
      });

      it('reports the bucket in GET /health, and 503 once it cannot be reached', async function () {
        this.timeout(60_000);
        const healthy = await fetch(`${base}/health`);
        assert.equal(healthy.status, 200);
        const report = (await healthy.json()) as { status: string; storage: { ok: boolean; backend: string } };
        assert.equal(report.status, 'ok');
        assert.deepEqual([report.storage.backend, report.storage.ok], ['s3', true]);

        // A registry on a bucket of its own, removed under it.
        const admin = s3AdminClient(s3);
        const bucket = `artifactstore-health-${randomBytes(4).toString('hex')}`;
        await admin.send(new CreateBucketCommand({ Bucket: bucket }));
        const workDir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-s3-'));
        const doomed = await openTestRegistry(target, { storage: { backend: 's3', localRoot: workDir, s3: { ...s3StorageSettings(s3, 'health'), bucket } } });
        const doomedServer = await startServer(doomed.registry, { host: '127.0.0.1', port: 0 }, silent);
        try {
          assert.equal((await fetch(`http://127.0.0.1:${doomedServer.address.port}/health`)).status, 200);
          await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
          const broken = await fetch(`http://127.0.0.1:${doomedServer.address.port}/health`);
          assert.equal(broken.status, 503);
          const body = (await broken.json()) as { status: string; storage: { ok: boolean; detail?: string } };
          assert.equal(body.status, 'degraded');
          assert.equal(body.storage.ok, false);
          assert.match(body.storage.detail ?? '', /bucket/);
        } finally {
          await doomedServer.close();
          await doomed.dispose();
          await admin.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
          admin.destroy();
          await rm(workDir, { recursive: true, force: true });
        }
      });
    }
  });
}

describeEachDatabase('S3-backed registry: downloads redirected to presigned URLs', (target) => {
  const prefix = freshS3Prefix(`redirect-${target.name}`);
  let instance: TestRegistry;
  let server: RunningServer;
  let base: string;
  const content = randomBytes(300_000);
  let digest: string;
  let fileId: string;

  before(async function () {
    this.timeout(60_000);
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-s3-'));
    instance = await openTestRegistry(target, onS3(s3, prefix, workDir, true));
    await rm(workDir, { recursive: true, force: true });
    server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, silent);
    base = `http://127.0.0.1:${server.address.port}`;
    digest = await pushBlob(base, 'redirect/repo', content);
    const pkg = await instance.registry.createPackage({ name: 'redirected', producer: 'test', retentionClass: 'transient' }, 'test');
    const file = await instance.registry.ingestFile(pkg.id, { relativePath: 'data/file.bin', mediaType: 'application/octet-stream' }, bytes(content.subarray(0, 100_000)), 'test');
    fileId = file.id;
  });
  after(async function () {
    this.timeout(60_000);
    await server?.close();
    await instance?.dispose();
    await purgeS3Prefix(s3, prefix);
  });

  it('answers a blob GET on /v2/ with 307 to the bucket; following it returns the bytes, ranges included', async () => {
    const redirected = await fetch(`${base}/v2/redirect/repo/blobs/${digest}`, { redirect: 'manual' });
    assert.equal(redirected.status, 307);
    const location = redirected.headers.get('location')!;
    assert.ok(location.startsWith(`${s3.endpointUrl}/`), location);
    assert.match(location, /X-Amz-Signature=/);
    assert.match(location, /X-Amz-Expires=300(&|$)/);
    assert.equal(redirected.headers.get('docker-content-digest'), digest);

    const followed = await fetch(`${base}/v2/redirect/repo/blobs/${digest}`, { redirect: 'follow' });
    assert.equal(followed.status, 200);
    assert.ok(Buffer.from(await followed.arrayBuffer()).equals(content));
    const ranged = await fetch(`${base}/v2/redirect/repo/blobs/${digest}`, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(content.subarray(1000, 2000)));

    // HEAD is answered here, and unknown blobs are still 404 from the registry.
    const head = await fetch(`${base}/v2/redirect/repo/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(content.length));
    const unknown = await fetch(`${base}/v2/redirect/repo/blobs/${sha256(Buffer.from('absent'))}`, { redirect: 'manual' });
    assert.equal(unknown.status, 404);
  });

  it('redirects native file downloads and object GETs (by either digest); If-None-Match still answers 304', async () => {
    const file = content.subarray(0, 100_000);
    const download = await fetch(`${base}/files/${fileId}/download`, { redirect: 'manual' });
    assert.equal(download.status, 307);
    assert.equal(download.headers.get('etag'), `"${blake3(file)}"`);
    const followed = await fetch(`${base}/files/${fileId}/download`);
    assert.equal(followed.status, 200);
    assert.ok(Buffer.from(await followed.arrayBuffer()).equals(file));
    const notModified = await fetch(`${base}/files/${fileId}/download`, { headers: { 'if-none-match': `"${blake3(file)}"` }, redirect: 'manual' });
    assert.equal(notModified.status, 304);

    for (const address of [blake3(content), sha256(content)]) {
      const object = await fetch(`${base}/objects/${address}`, { redirect: 'manual' });
      assert.equal(object.status, 307, address);
      assert.equal(object.headers.get('cache-control'), 'no-store');
      const bytesFollowed = await fetch(`${base}/objects/${address}`, { headers: { range: 'bytes=-10' } });
      assert.equal(bytesFollowed.status, 206);
      assert.ok(Buffer.from(await bytesFollowed.arrayBuffer()).equals(content.subarray(content.length - 10)));
    }
    assert.equal((await fetch(`${base}/objects/${sha256(Buffer.from('absent'))}`, { redirect: 'manual' })).status, 404);
  });

  it('has the RGW refuse a tampered presigned URL (403)', async () => {
    const location = (await fetch(`${base}/v2/redirect/repo/blobs/${digest}`, { redirect: 'manual' })).headers.get('location')!;
    const url = new URL(location);
    const signature = url.searchParams.get('X-Amz-Signature')!;
    const flipped = `${signature.slice(0, 10)}${signature[10] === '0' ? '1' : '0'}${signature.slice(11)}`;
    url.searchParams.set('X-Amz-Signature', flipped);
    const tampered = await fetch(url);
    assert.equal(tampered.status, 403, await tampered.text());
    const genuine = await fetch(location);
    assert.equal(genuine.status, 200);
    await genuine.arrayBuffer();
  });

  it('has the RGW refuse an expired presigned URL (403)', async function () {
    this.timeout(20_000);
    const short = await instance.dataPlane.directUrl(blake3(content), { expiresInSeconds: 1 });
    const long = await instance.dataPlane.directUrl(blake3(content), { expiresInSeconds: 300 });
    assert.ok(short && long);
    // SigV4 dates have second precision: 1 s after the signing second, plus margin.
    await sleep(2_500);
    const expired = await fetch(short);
    assert.equal(expired.status, 403, await expired.text());
    const valid = await fetch(long);
    assert.equal(valid.status, 200);
    assert.ok(Buffer.from(await valid.arrayBuffer()).equals(content));
  });

  it('hands out no URL over a backend that cannot (local): those downloads stream', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-local-'));
    const plane = createDataPlane(await openLocalBackend({ root: dir }));
    try {
      const receipt = await plane.ingestStream(bytes('local bytes'));
      assert.equal(await plane.directUrl(receipt.contentAddress, { expiresInSeconds: 60 }), null);
    } finally {
      await plane.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describeEachDatabase('storage migrate (CLI): local → S3, verify --objects from S3, and back', (target) => {
  const prefix = freshS3Prefix(`cli-migrate-${target.name}`);
  let env: CliEnv;
  let onS3Env: NodeJS.ProcessEnv;

  before(async function () {
    this.timeout(60_000);
    env = await createCliEnv(target);
    Object.assign(env.env, s3EnvVars(s3, prefix));
    onS3Env = { ...env.env, ARTIFACTSTORE_STORAGE_BACKEND: 's3' };
  });
  after(async function () {
    this.timeout(60_000);
    await env?.dispose();
    await purgeS3Prefix(s3, prefix);
  });

  async function ingest(label: string, files: Record<string, string | Buffer>, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
    const dir = path.join(env.workDir, 'in', label);
    for (const [name, data] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), data);
    }
    const child = env.spawnCli(['ingest', dir, '--name', label, '--producer', 'test', '--retention-class', 'transient', '--json'], extraEnv);
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, err);
    return (JSON.parse(out) as { package_id: string }).package_id;
  }

  it('copies a subset, then the rest, then nothing; verify --objects re-hashes from S3', async function () {
    this.timeout(110_000);
    await ingest('first', { 'a.txt': 'alpha', 'b.txt': 'bravo', 'nested/c.bin': randomBytes(200_000), 'd.txt': 'delta' });
    const partial = await env.cli(['storage', 'migrate', '--to', 's3', '--limit', '2', '--json']);
    assert.equal(partial.code, 0, partial.stderr);
    const first = JSON.parse(partial.stdout) as { ok: boolean; source: string; destination: string; objects: number; copied: number; remaining: number; alreadyPresent: number };
    assert.deepEqual([first.ok, first.source, first.destination, first.copied, first.alreadyPresent], [true, 'local', 's3', 2, 0]);
    assert.equal(first.remaining, first.objects - 2);
    assert.ok(first.objects >= 5, 'four files and the manifest at least');

    // Interrupted here; the next run resumes.
    const rest = await env.cli(['storage', 'migrate', '--to', 's3']);
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, new RegExp(`already there 2, copied ${first.objects - 2} \\(\\d+ bytes\\), remaining 0`));
    assert.match(rest.stdout, /storage migrate: ok; every object is on s3/);
    const again = await env.cli(['storage', 'migrate', '--to', 's3', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const third = JSON.parse(again.stdout) as { copied: number; alreadyPresent: number; remaining: number };
    assert.deepEqual([third.copied, third.alreadyPresent, third.remaining], [0, first.objects, 0]);

    const events = await env.cli(['events', '--since', '0', '--limit', '10000']);
    const locationEvents = events.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event_type: string; subject_kind: string }).filter((event) => event.event_type === 'v1.storage.location_added');
    assert.equal(locationEvents.length, first.objects, 'one location event per object');
    assert.ok(locationEvents.every((event) => event.subject_kind === 'storage'));

    // The same command refuses the backend it already uses.
    const same = await env.cli(['storage', 'migrate', '--to', 'local']);
    assert.equal(same.code, 1);
    assert.match(same.stderr, /already uses/);

    // With S3 configured, verify re-hashes every object from the bucket; the local copies can go.
    await rm(env.storageRoot, { recursive: true, force: true });
    const verified = await runWith(onS3Env, ['verify', '--objects']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, new RegExp(`objects checked ${first.objects}, unreferenced 0`));
    assert.match(verified.stdout, /verify: ok/);
  });

  it('migrates what was ingested on S3 back to local', async function () {
    this.timeout(60_000);
    await ingest('second', { 'e.txt': 'echo', 'f.txt': 'foxtrot' }, { ARTIFACTSTORE_STORAGE_BACKEND: 's3' });
    const back = await runWith(onS3Env, ['storage', 'migrate', '--to', 'local', '--json']);
    assert.equal(back.code, 0, back.stderr);
    const report = JSON.parse(back.stdout) as { ok: boolean; source: string; destination: string; copied: number; remaining: number };
    assert.deepEqual([report.ok, report.source, report.destination, report.remaining], [true, 's3', 'local', 0]);
    assert.equal(report.copied, 3, 'the two new files and the new manifest (the rest already had a local location)');
    const settings = loadSettings({ ...env.env });
    const local = await openDataPlane(settings, 'local');
    try {
      const row = await queryObject(settings, blake3(Buffer.from('echo')));
      assert.ok(row, 'echo is indexed');
      const check = await local.verifyObject(blake3(Buffer.from('echo')), { sha256: sha256(Buffer.from('echo')), size: 4 });
      assert.equal(check.ok, true, check.problems.join('; '));
    } finally {
      await local.close();
    }
  });

  async function queryObject(settings: Settings, address: string): Promise<unknown> {
    const instance = await openRegistry(settings, { migrate: false });
    try {
      return await instance.db.knex('objects').where('content_address', address).first('content_address');
    } finally {
      await instance.close();
    }
  }

  function runWith(extra: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = env.spawnCli(args, extra);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  }
});

describeEachDatabase('storage migration (use case): resumable, recorded, reads untouched', (target) => {
  const prefix = freshS3Prefix(`migrate-${target.name}`);
  let instance: TestRegistry;
  let settings: Settings;
  const contents = Array.from({ length: 7 }, (_, i) => randomBytes(1000 + i * 5000));

  before(async function () {
    this.timeout(60_000);
    instance = await openTestRegistry(target);
    settings = { ...instance.settings, storage: { ...instance.settings.storage, s3: s3StorageSettings(s3, prefix) } };
    for (const data of contents) await instance.registry.pushBlob('migrate/repo', sha256(data), bytes(data), 'test', data.length);
  });
  after(async function () {
    this.timeout(60_000);
    await instance?.dispose();
    await purgeS3Prefix(s3, prefix);
  });

  it('copies part, resumes, records one location each, and the S3 registry then serves and finalizes', async function () {
    this.timeout(90_000);
    const destination = await openDataPlane(settings, 's3');
    const seen: number[] = [];
    try {
      const partial = await instance.registry.migrateStorage(instance.dataPlane, destination, { actor: 'test', limit: 3, concurrency: 2, onProgress: ({ done }) => seen.push(done) });
      assert.deepEqual([partial.ok, partial.copied, partial.alreadyPresent, partial.remaining, partial.objects], [true, 3, 0, 4, 7]);
      assert.deepEqual(seen, [1, 2, 3]);
      // Reads keep working through the serving (local) backend.
      const opened = await instance.registry.openBlob('migrate/repo', sha256(contents[0]!));
      const chunks: Buffer[] = [];
      for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
      assert.ok(Buffer.concat(chunks).equals(contents[0]!));

      // An abort stops taking objects; what was copied stays recorded.
      const controller = new AbortController();
      controller.abort();
      const aborted = await instance.registry.migrateStorage(instance.dataPlane, destination, { actor: 'test', signal: controller.signal });
      assert.deepEqual([aborted.copied, aborted.remaining], [0, 4]);

      const rest = await instance.registry.migrateStorage(instance.dataPlane, destination, { actor: 'test' });
      assert.deepEqual([rest.ok, rest.copied, rest.alreadyPresent, rest.remaining], [true, 4, 3, 0]);
      assert.equal(rest.bytes, contents.reduce((sum, data) => sum + data.length, 0) - partial.bytes);
      await assert.rejects(instance.registry.migrateStorage(instance.dataPlane, instance.dataPlane, { actor: 'test' }), /same backend/);
    } finally {
      await destination.close();
    }
    const events = await instance.log.fetchSince(0, 1000, { eventType: 'v1.storage.location_added' });
    assert.equal(events.length, 7);
    assert.ok(events.every((event) => event.subjectKind === 'storage' && event.actor === 'test'));
    const locations = await instance.db.knex('storage_locations').where('backend_id', 's3').count({ n: '*' }).first();
    assert.equal(Number(locations?.n), 7);
    assert.equal((await instance.registry.verify()).ok, true, 'the views equal a replay that includes the location events');

    // The same database, now served from S3.
    const onS3 = await openRegistry({ ...settings, storage: { ...settings.storage, backend: 's3' } }, instance.openOptions);
    try {
      const verification = await onS3.registry.verify({ objects: true });
      assert.equal(verification.ok, true, JSON.stringify(verification.objects?.problems));
      assert.equal(verification.objects!.checked, 7);
      // A package over content that now has two locations finalizes with one receipt per object.
      const pkg = await onS3.registry.createPackage({ name: 'after-migration', producer: 'test', retentionClass: 'transient' }, 'test');
      await onS3.registry.ingestFile(pkg.id, { relativePath: 'same.bin', mediaType: 'application/octet-stream' }, bytes(contents[1]!), 'test');
      await onS3.registry.finalizePackage(pkg.id, 'test');
      const manifest = JSON.parse(new TextDecoder().decode((await onS3.registry.getManifestBytes(pkg.id, 'json')).bytes)) as { storage_receipts: Array<{ backend: string }> };
      assert.deepEqual(manifest.storage_receipts.map((receipt) => receipt.backend), ['s3'], 'the location on the serving backend');
    } finally {
      await onS3.close();
    }
  });
});
