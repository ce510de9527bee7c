/**
 * Staging cleanup modes (`ARTIFACTSTORE_STAGING_CLEANUP=pid|age|off`,
 * `ARTIFACTSTORE_STAGING_MAX_AGE`): the settings and their per-backend
 * defaults, the local backend (file mtimes), and the S3 backend against the
 * real RGW (multipart uploads' `Initiated` time): an in-progress write
 * younger than the maximum age is spared in `age` mode whoever wrote it, an
 * older one is removed, and `off` removes nothing.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadSettings } from '../../src/config.js';
import { backendSettingsFor } from '../../src/app.js';
import { isRegistryError } from '../../src/errors/index.js';
import { openLocalBackend, STAGING_DIRECTORY } from '../../src/storage/backends/local/index.js';
import { openS3Backend, type S3Backend } from '../../src/storage/backends/s3/index.js';
import { ensureRgw, type S3TestEnv } from '../support/rgw.js';
import { freshS3Prefix, purgeS3Prefix, s3AdminClient, s3StorageSettings } from '../support/s3.js';

/** A pid no process has (above the kernel's pid_max). */
const DEAD_PID = 2147483646;

describe('staging cleanup settings (ARTIFACTSTORE_STAGING_CLEANUP, ARTIFACTSTORE_STAGING_MAX_AGE)', () => {
  const s3Env = { ARTIFACTSTORE_STORAGE_BACKEND: 's3', ARTIFACTSTORE_S3_BUCKET: 'bucket' };

  it('defaults to pid on local disk and age on S3, 24 h, and reaches both backends', () => {
    const local = loadSettings({}, '/srv');
    assert.deepEqual(local.storage.stagingCleanup, { mode: 'pid', maxAgeSeconds: 86_400 });
    assert.deepEqual(backendSettingsFor(local), { kind: 'local', root: '/srv/var/storage', stagingCleanup: 'pid', stagingMaxAgeSeconds: 86_400 });
    const s3 = loadSettings(s3Env, '/srv');
    assert.deepEqual(s3.storage.stagingCleanup, { mode: 'age', maxAgeSeconds: 86_400 });
    const options = backendSettingsFor(s3) as { stagingCleanup?: string; staleStagingAgeSeconds?: number };
    assert.equal(options.stagingCleanup, 'age');
    assert.equal(options.staleStagingAgeSeconds, 86_400);
    const chosen = loadSettings({ ...s3Env, ARTIFACTSTORE_STAGING_CLEANUP: 'PID', ARTIFACTSTORE_STAGING_MAX_AGE: '2h' }, '/srv');
    assert.deepEqual(chosen.storage.stagingCleanup, { mode: 'pid', maxAgeSeconds: 7_200 });
  });

  it('reports bad values by variable name', () => {
    assert.throws(
      () => loadSettings({ ARTIFACTSTORE_STAGING_CLEANUP: 'never', ARTIFACTSTORE_STAGING_MAX_AGE: 'soon' }, '/srv'),
      (error: unknown) => {
        assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
        assert.match(error.message, /ARTIFACTSTORE_STAGING_CLEANUP must be pid, age or off/);
        assert.match(error.message, /ARTIFACTSTORE_STAGING_MAX_AGE must be a duration/);
        return true;
      },
    );
  });
});

describe('local backend staging cleanup modes', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-staging-'));
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  /** Staging files: a young one of a dead writer, a young one of a live writer (our parent), an old one of a live writer. */
  async function leftovers(): Promise<{ deadYoung: string; liveYoung: string; liveOld: string }> {
    const dir = path.join(root, STAGING_DIRECTORY);
    const names = { deadYoung: `${DEAD_PID}-${randomUUID()}.partial`, liveYoung: `${process.ppid}-${randomUUID()}.partial`, liveOld: `${process.ppid}-${randomUUID()}.partial` };
    for (const name of Object.values(names)) await writeFile(path.join(dir, name), 'partial bytes');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(path.join(dir, names.liveOld), twoDaysAgo, twoDaysAgo);
    return names;
  }
  const remaining = async (): Promise<string[]> => (await readdir(path.join(root, STAGING_DIRECTORY))).sort();

  it('pid (default): removes dead writers’ files and any older than the maximum age', async () => {
    const backend = await openLocalBackend({ root });
    const names = await leftovers();
    assert.equal(await backend.removeStaleStaging(), 2);
    assert.deepEqual(await remaining(), [names.liveYoung]);
  });

  it('age: spares every file younger than the maximum age, whatever its pid, and removes older ones', async () => {
    const backend = await openLocalBackend({ root, stagingCleanup: 'age', stagingMaxAgeSeconds: 3600 });
    const names = await leftovers();
    assert.equal(await backend.removeStaleStaging(), 1);
    assert.deepEqual(await remaining(), [names.deadYoung, names.liveYoung].sort());
  });

  it('off: removes nothing', async () => {
    const backend = await openLocalBackend({ root, stagingCleanup: 'off' });
    await leftovers();
    assert.equal(await backend.removeStaleStaging(), 0);
    assert.equal((await remaining()).length, 3);
  });

  it('refuses unknown modes and bad ages', async () => {
    await assert.rejects(openLocalBackend({ root, stagingCleanup: 'sometimes' as 'pid' }), (error: unknown) => isRegistryError(error, 'CONFIG_INVALID'));
    await assert.rejects(openLocalBackend({ root, stagingMaxAgeSeconds: -1 }), (error: unknown) => isRegistryError(error, 'CONFIG_INVALID'));
  });
});

describe('S3 backend staging cleanup modes (real RGW, multipart Initiated times)', function () {
  let env: S3TestEnv;
  let admin: S3Client;
  let prefix: string;
  const opened: S3Backend[] = [];

  before(async function () {
    this.timeout(15 * 60 * 1000);
    env = await ensureRgw();
    admin = s3AdminClient(env);
  });
  beforeEach(() => {
    prefix = freshS3Prefix('staging-cleanup');
  });
  afterEach(async () => {
    for (const backend of opened.splice(0)) await backend.close();
    await purgeS3Prefix(env, prefix);
  });
  after(() => admin?.destroy());

  async function open(options: { stagingCleanup: 'pid' | 'age' | 'off'; staleStagingAgeSeconds: number }): Promise<S3Backend> {
    const backend = await openS3Backend({ ...s3StorageSettings(env, prefix), ...options });
    opened.push(backend);
    return backend;
  }
  const startUpload = async (key: string): Promise<void> => {
    await admin.send(new CreateMultipartUploadCommand({ Bucket: env.bucket, Key: `${prefix}/${key}` }));
  };
  const pendingKeys = async (): Promise<string[]> => {
    const listed = await admin.send(new ListMultipartUploadsCommand({ Bucket: env.bucket, Prefix: `${prefix}/` }));
    return (listed.Uploads ?? []).map((upload) => (upload.Key ?? '').slice(prefix.length + 1)).sort();
  };

  it('age: aborts an in-progress upload older than the maximum age and spares a younger one, even of a dead pid', async function () {
    this.timeout(60_000);
    const old = `staging/${process.ppid}-${randomUUID()}`;
    const young = `staging/${DEAD_PID}-${randomUUID()}`;
    await startUpload(old);
    // Initiated times have second resolution: leave a clear gap.
    await sleep(4_000);
    await startUpload(young);
    const backend = await open({ stagingCleanup: 'age', staleStagingAgeSeconds: 3 });
    assert.equal(await backend.removeStaleStaging(), 1);
    assert.deepEqual(await pendingKeys(), [young]);
  });

  it('pid: also aborts a young upload of a dead writer; off: aborts nothing', async function () {
    this.timeout(60_000);
    const dead = `staging/${DEAD_PID}-${randomUUID()}`;
    const live = `staging/${process.ppid}-${randomUUID()}`;
    await startUpload(dead);
    await startUpload(live);
    const off = await open({ stagingCleanup: 'off', staleStagingAgeSeconds: 0 });
    assert.equal(await off.removeStaleStaging(), 0);
    assert.deepEqual(await pendingKeys(), [dead, live].sort());
    const byPid = await open({ stagingCleanup: 'pid', staleStagingAgeSeconds: 3600 });
    assert.equal(await byPid.removeStaleStaging(), 1);
    assert.deepEqual(await pendingKeys(), [live]);
  });
});
