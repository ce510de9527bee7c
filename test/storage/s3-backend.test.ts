/**
 * The S3 backend against a real Ceph RGW (see test/support/rgw.ts): the
 * shared backend contract, unchanged, in two configurations (the defaults,
 * and one that sends every write through multipart uploads and every copy
 * through UploadPartCopy), then what only S3 has: the key layout in the
 * bucket, multipart staging, cleanup of multipart uploads, composing uploads
 * and presigned URLs. Every backend works under its own key prefix, removed
 * afterwards, so runs never see each other's objects.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { openLocalBackend } from '../../src/storage/backends/local/index.js';
import { openS3Backend, presignGet, canPresign, type S3Backend, type S3BackendOptions } from '../../src/storage/backends/s3/index.js';
import { createBackend, isRecyclingBody } from '../../src/storage/index.js';
import { ensureRgw, type S3TestEnv } from '../support/rgw.js';
import { runBackendSuite } from './backend-suite.js';
import { addressOf, chunked, collect, failingAfter, patternBytes, rejectsWithCode, toArray } from './support.js';

const MiB = 1024 * 1024;

/** Every key prefix of this run lives under this one. */
const RUN_PREFIX = `artifactstore-tests/${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
let prefixes = 0;

/** Settings that send every stage and append through a multipart upload and every copy through UploadPartCopy. */
const MULTIPART_EVERYWHERE: Partial<S3BackendOptions> = {
  multipartThresholdBytes: 0,
  multipartChunkBytes: 5 * MiB,
  multipartCopyThresholdBytes: 5 * MiB,
  multipartCopyPartBytes: 5 * MiB,
};

let env: S3TestEnv;
let admin: S3Client;

function options(keyPrefix: string, extra: Partial<S3BackendOptions> = {}): S3BackendOptions {
  return {
    endpointUrl: env.endpointUrl,
    region: env.region,
    bucket: env.bucket,
    accessKeyId: env.accessKeyId,
    secretAccessKey: env.secretAccessKey,
    forcePathStyle: env.forcePathStyle,
    keyPrefix,
    ...extra,
  };
}

function freshPrefix(): string {
  return `${RUN_PREFIX}/${++prefixes}`;
}

/** Every key under `prefix` (raw listing, no backend involved). */
async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await admin.send(new ListObjectsV2Command({ Bucket: env.bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const entry of page.Contents ?? []) if (entry.Key) keys.push(entry.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Every pending multipart upload under `prefix`, as `[key, uploadId]`. */
async function multipartUploadsUnder(prefix: string): Promise<Array<[string, string]>> {
  const page = await admin.send(new ListMultipartUploadsCommand({ Bucket: env.bucket, Prefix: `${prefix}/` }));
  return (page.Uploads ?? []).map((upload) => [upload.Key ?? '', upload.UploadId ?? '']);
}

/** Removes every object and multipart upload under `prefix`. */
async function purge(prefix: string): Promise<void> {
  for (const [key, uploadId] of await multipartUploadsUnder(prefix)) {
    await admin.send(new AbortMultipartUploadCommand({ Bucket: env.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
  }
  const keys = await keysUnder(prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    await admin.send(new DeleteObjectsCommand({ Bucket: env.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
  }
}

/** The ETag of the object at `key` (multipart objects end in `-<parts>`). */
async function etagOf(key: string): Promise<string> {
  const head = await admin.send(new HeadObjectCommand({ Bucket: env.bucket, Key: key }));
  return head.ETag ?? '';
}

function s3Factory(extra: Partial<S3BackendOptions>) {
  return async () => {
    const prefix = freshPrefix();
    const backend = await openS3Backend(options(prefix, extra));
    return {
      backend,
      cleanup: () => purge(prefix),
      openAnother: () => openS3Backend(options(prefix, extra)),
    };
  };
}

describe('s3 backend (Ceph RGW)', function () {
  before(async function () {
    // The first start installs Ceph from apt.
    this.timeout(16 * 60 * 1000);
    env = await ensureRgw();
    admin = new S3Client({
      endpoint: env.endpointUrl,
      region: env.region,
      forcePathStyle: env.forcePathStyle,
      credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  after(async function () {
    if (!admin) return;
    await purge(RUN_PREFIX);
    admin.destroy();
  });

  runBackendSuite('s3 (defaults)', s3Factory({}));
  runBackendSuite('s3 (multipart everywhere)', s3Factory(MULTIPART_EVERYWHERE));

  describe('S3 specifics', function () {
    let prefix: string;
    let backend: S3Backend;
    const others: S3Backend[] = [];

    async function open(extra: Partial<S3BackendOptions> = {}): Promise<S3Backend> {
      const opened = await openS3Backend(options(prefix, extra));
      others.push(opened);
      return opened;
    }

    async function store(on: S3Backend, bytes: Uint8Array, sizes?: number[]): Promise<string> {
      const address = addressOf(bytes);
      await on.put(await on.stage(chunked(bytes, sizes)), address);
      return address;
    }

    beforeEach(async function () {
      prefix = freshPrefix();
      backend = await open();
    });

    afterEach(async function () {
      for (const opened of others.splice(0)) await opened.close();
      await purge(prefix);
    });

    describe('opening and settings', function () {
      it('opens through the factory by kind, with its id, prefix and bucket', async function () {
        const opened = await createBackend({ kind: 's3', ...options(prefix), id: 's3-main' });
        try {
          assert.equal(opened.id, 's3-main');
          assert.equal((await opened.health()).ok, true);
          assert.ok(canPresign(opened));
        } finally {
          await opened.close();
        }
        assert.equal(backend.id, 's3');
        assert.equal(backend.bucket, env.bucket);
        assert.equal(backend.keyPrefix, prefix);
      });

      it('refuses invalid settings with CONFIG_INVALID', async function () {
        const invalid: Array<Partial<S3BackendOptions>> = [
          { bucket: '' },
          { region: undefined as unknown as string },
          { keyPrefix: 'a/../b' },
          { keyPrefix: 'a//b' },
          { keyPrefix: 'sp ace' },
          { multipartChunkBytes: 4 * MiB },
          { multipartThresholdBytes: -1 },
          { multipartConcurrency: 0 },
          { accessKeyId: 'only-the-id', secretAccessKey: undefined as unknown as string },
          { endpointUrl: 'ftp://127.0.0.1' },
          { sse: { algorithm: 'rot13' as 'AES256' } },
        ];
        for (const extra of invalid) await rejectsWithCode(openS3Backend(options(prefix, extra)), 'CONFIG_INVALID');
      });

      it('fails to open with STORAGE_FAILURE when the bucket is missing or the store unreachable', async function () {
        await rejectsWithCode(openS3Backend(options(prefix, { bucket: `missing-${randomUUID()}` })), 'STORAGE_FAILURE');
        await rejectsWithCode(openS3Backend(options(prefix, { endpointUrl: 'http://127.0.0.1:9' })), 'STORAGE_FAILURE');
        await rejectsWithCode(openS3Backend(options(prefix, { secretAccessKey: 'wrong-secret' })), 'STORAGE_FAILURE');
      });

      it('normalises the prefix and keys an empty prefix from the bucket root, without a leading slash', async function () {
        const address = addressOf(patternBytes(10));
        const hex = address.slice('blake3:'.length);
        const root = await openS3Backend(options(''));
        const slashed = await open({ keyPrefix: `/${prefix}/` });
        try {
          assert.equal(root.keyPrefix, '');
          assert.equal(root.bucketKeyFor(address), `blake3/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`);
          assert.equal(slashed.keyPrefix, prefix);
          assert.equal(slashed.bucketKeyFor(address), `${prefix}/blake3/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`);
        } finally {
          await root.close();
        }
      });

      it('reports not ok, without throwing, when the bucket is gone', async function () {
        const bucket = `artifactstore-gone-${randomUUID().slice(0, 8)}`;
        await admin.send(new CreateBucketCommand({ Bucket: bucket }));
        const doomed = await open({ bucket });
        await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
        const health = await doomed.health();
        assert.equal(health.ok, false);
        assert.equal(health.freeBytes, null);
        assert.equal(health.totalBytes, null);
        assert.match(health.detail ?? '', /NoSuchBucket|NotFound|404/);
      });
    });

    describe('layout in the bucket', function () {
      it('stores each object at <prefix>/blake3/ab/cd/<hex> with exactly its bytes, and nothing else', async function () {
        const bytes = patternBytes(70_000, 9);
        const address = await store(backend, bytes);
        const hex = address.slice('blake3:'.length);
        assert.deepEqual(await keysUnder(prefix), [`${prefix}/blake3/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`]);
        assert.equal(backend.bucketKeyFor(address), `${prefix}/${backend.keyFor(address)}`);
      });

      it('keeps staged bytes at <prefix>/staging/<pid>-<uuid>, invisible under the address until put', async function () {
        const bytes = patternBytes(500, 10);
        const address = addressOf(bytes);
        const staged = await backend.stage(chunked(bytes));
        const keys = await keysUnder(prefix);
        assert.equal(keys.length, 1);
        assert.match(keys[0]!, new RegExp(`^${prefix}/staging/${process.pid}-[0-9a-f-]{36}$`));
        assert.equal(await backend.head(address), null);
        assert.deepEqual(await toArray(backend.list()), []);
        await rejectsWithCode(backend.get(address), 'OBJECT_NOT_FOUND');
        await assert.rejects(admin.send(new HeadObjectCommand({ Bucket: env.bucket, Key: backend.bucketKeyFor(address) })), { name: 'NotFound' });
        await backend.put(staged, address);
        assert.deepEqual(await keysUnder(prefix), [backend.bucketKeyFor(address)], 'the staging object is gone');
        assert.deepEqual(await collect((await backend.get(address)).stream), bytes);
      });

      it('keeps an upload as a marker and one object per append, named by offset, and nothing once published', async function () {
        const id = randomUUID();
        const bytes = patternBytes(70_000, 11);
        await backend.createUpload(id);
        assert.deepEqual(await keysUnder(prefix), [`${prefix}/uploads/${id}/_`]);
        await backend.appendUpload(id, 0, chunked(bytes.subarray(0, 1000)));
        await backend.appendUpload(id, 1000, chunked(bytes.subarray(1000)));
        assert.deepEqual(await keysUnder(prefix), [`${prefix}/uploads/${id}/0000000000000000`, `${prefix}/uploads/${id}/0000000000001000`, `${prefix}/uploads/${id}/_`]);
        const address = addressOf(bytes);
        await backend.publishUpload(id, address);
        assert.deepEqual(await keysUnder(prefix), [backend.bucketKeyFor(address)]);
      });

      it('lists across result pages (more than 1,000 keys), ascending', async function () {
        const addresses = Array.from({ length: 1003 }, (_, i) => addressOf(Buffer.from(`object ${i}`))).sort();
        for (let i = 0; i < addresses.length; i += 50) {
          await Promise.all(
            addresses.slice(i, i + 50).map((address) => admin.send(new PutObjectCommand({ Bucket: env.bucket, Key: backend.bucketKeyFor(address), Body: 'x' }))),
          );
        }
        assert.deepEqual(await toArray(backend.list()), addresses);
      });

      it('ignores stray keys when listing objects and uploads', async function () {
        const address = await store(backend, patternBytes(100, 12));
        const hex = address.slice('blake3:'.length);
        const id = randomUUID();
        await backend.createUpload(id);
        for (const key of ['blake3/README', `blake3/${hex.slice(0, 2)}/${hex.slice(2, 4)}/notes.txt`, `blake3/00/00/${'ff'.repeat(32)}`, 'uploads/not-an-id/_', `uploads/${id.toUpperCase()}/_`, 'uploads/loose']) {
          await admin.send(new PutObjectCommand({ Bucket: env.bucket, Key: `${prefix}/${key}`, Body: 'x' }));
        }
        assert.deepEqual(await toArray(backend.list()), [address]);
        assert.deepEqual(
          (await toArray(backend.listUploads())).map((upload) => upload.id),
          [id],
        );
      });
    });

    describe('multipart staging', function () {
      const threshold = { multipartThresholdBytes: 5 * MiB, multipartChunkBytes: 5 * MiB };

      it('streams a stage above the threshold as a multipart upload, and round-trips it', async function () {
        const small = await open(threshold);
        const bytes = patternBytes(23 * MiB + 17, 13);
        const address = addressOf(bytes);
        let sawMultipart = false;
        async function* source(): AsyncGenerator<Uint8Array> {
          for (let offset = 0; offset < bytes.length; offset += MiB) {
            // Once past the threshold, the upload is open while the source is still being read.
            if (offset === 12 * MiB) sawMultipart = (await multipartUploadsUnder(`${prefix}/staging`)).length === 1;
            yield bytes.subarray(offset, offset + MiB);
          }
        }
        const staged = await small.stage(source());
        assert.equal(staged.size, bytes.length);
        assert.ok(sawMultipart, 'a multipart upload was open during the stage');
        assert.deepEqual(await multipartUploadsUnder(prefix), [], 'and completed');
        assert.equal((await small.put(staged, address)).created, true);
        const got = await small.get(address);
        assert.equal(got.size, bytes.length);
        assert.ok((await collect(got.stream)).equals(bytes));
        const ranged = await small.get(address, { start: 5 * MiB - 3, end: 5 * MiB + 3 });
        assert.deepEqual(await collect(ranged.stream), bytes.subarray(5 * MiB - 3, 5 * MiB + 4));
        assert.deepEqual(await keysUnder(prefix), [small.bucketKeyFor(address)]);
      });

      it('keeps a stage at exactly the threshold to one PutObject', async function () {
        const small = await open(threshold);
        const bytes = patternBytes(5 * MiB, 14);
        const address = await store(small, bytes, [MiB]);
        assert.doesNotMatch(await etagOf(small.bucketKeyFor(address)), /-\d+"?$/);
      });

      it('an aborted multipart stage leaves no object and no pending multipart upload', async function () {
        const small = await open(threshold);
        const controller = new AbortController();
        async function* source(): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < 40; i++) {
            if (i === 12) controller.abort();
            yield patternBytes(MiB, i);
          }
        }
        await assert.rejects(small.stage(source(), controller.signal), { name: 'AbortError' });
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        assert.deepEqual(await keysUnder(prefix), []);
      });

      it('an abort while the source stalls rejects at once and leaves nothing', async function () {
        const small = await open(threshold);
        const controller = new AbortController();
        async function* source(): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < 8; i++) yield patternBytes(MiB, i);
          setTimeout(() => controller.abort(), 50);
          await new Promise(() => undefined);
        }
        await assert.rejects(small.stage(source(), controller.signal), { name: 'AbortError' });
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        assert.deepEqual(await keysUnder(prefix), []);
      });

      it('a source failing mid multipart stage rejects with its error and leaves nothing', async function () {
        const small = await open(threshold);
        const boom = new Error('client went away');
        const chunks = Array.from({ length: 12 }, (_, i) => patternBytes(MiB, i));
        await assert.rejects(small.stage(failingAfter(chunks, boom)), (error) => error === boom);
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        assert.deepEqual(await keysUnder(prefix), []);
      });

      it('a store failure mid multipart stage is STORAGE_FAILURE and leaves no pending upload', async function () {
        const small = await open(threshold);
        async function* source(): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < 20; i++) {
            if (i === 12) {
              // Pull the rug: abort the open upload behind the backend's back.
              for (const [key, uploadId] of await multipartUploadsUnder(prefix)) {
                await admin.send(new AbortMultipartUploadCommand({ Bucket: env.bucket, Key: key, UploadId: uploadId }));
              }
            }
            yield patternBytes(MiB, i);
          }
        }
        await rejectsWithCode(small.stage(source()), 'STORAGE_FAILURE');
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        assert.deepEqual(await keysUnder(prefix), []);
      });

      it('publishes objects above the copy threshold with UploadPartCopy', async function () {
        const copying = await open({ multipartCopyThresholdBytes: 5 * MiB, multipartCopyPartBytes: 5 * MiB });
        const bytes = patternBytes(12 * MiB + 5, 15);
        const address = await store(copying, bytes, [MiB]);
        // 12 MiB in ranges of at most 5 MiB, each at least 5 MiB: two of 6 MiB.
        assert.match(await etagOf(copying.bucketKeyFor(address)), /-2"?$/);
        assert.ok((await collect((await copying.get(address)).stream)).equals(bytes));
      });
    });

    describe('removeStaleStaging', function () {
      async function openMultipart(key: string): Promise<void> {
        await admin.send(new CreateMultipartUploadCommand({ Bucket: env.bucket, Key: `${prefix}/${key}` }));
      }

      it('aborts dangling multipart uploads of dead writers, sparing live ones and upload chunks', async function () {
        const dead = `staging/2147483646-${randomUUID()}`;
        const live = `staging/${process.ppid}-${randomUUID()}`;
        const chunk = `uploads/${randomUUID()}/0000000000000000`;
        for (const key of [dead, live, chunk]) await openMultipart(key);
        await admin.send(new PutObjectCommand({ Bucket: env.bucket, Key: `${prefix}/staging/2147483646-${randomUUID()}`, Body: 'crashed' }));
        assert.equal(await backend.removeStaleStaging(), 2);
        assert.deepEqual((await multipartUploadsUnder(prefix)).map(([key]) => key).sort(), [`${prefix}/${chunk}`, `${prefix}/${live}`].sort());
        assert.deepEqual(await keysUnder(prefix), []);
      });

      it('removes everything older than the age limit, whoever wrote it, still never touching upload chunks', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(patternBytes(100, 16)));
        await openMultipart(`staging/${process.ppid}-${randomUUID()}`);
        await openMultipart(`uploads/${id}/0000000000000100`);
        const aged = await open({ staleStagingAgeSeconds: 0 });
        assert.equal(await aged.removeStaleStaging(), 2);
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        assert.equal(await aged.uploadSize(id), 100);
      });

      it('with staleStagingByPid off goes by age only (hosts sharing a bucket)', async function () {
        const shared = await open({ staleStagingByPid: false });
        await openMultipart(`staging/2147483646-${randomUUID()}`);
        await shared.stage(chunked(patternBytes(10)));
        assert.equal(await shared.removeStaleStaging(), 0);
        assert.equal((await multipartUploadsUnder(prefix)).length, 1);
        assert.equal((await keysUnder(prefix)).length, 1);
      });
    });

    describe('composing uploads', function () {
      async function upload(on: S3Backend, pieces: number[], seed: number): Promise<{ id: string; bytes: Buffer }> {
        const bytes = patternBytes(pieces.reduce((a, b) => a + b, 0), seed);
        const id = randomUUID();
        await on.createUpload(id);
        let offset = 0;
        for (const piece of pieces) {
          offset = await on.appendUpload(id, offset, chunked(bytes.subarray(offset, offset + piece), [MiB]));
        }
        return { id, bytes };
      }

      async function publishAndCheck(on: S3Backend, id: string, bytes: Buffer): Promise<string> {
        const address = addressOf(bytes);
        assert.equal((await on.publishUpload(id, address)).created, true);
        const got = await on.get(address);
        assert.equal(got.size, bytes.length);
        assert.ok((await collect(got.stream)).equals(bytes));
        assert.deepEqual(await keysUnder(prefix), [on.bucketKeyFor(address)], 'the chunks are gone');
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        return etagOf(on.bucketKeyFor(address));
      }

      it('streams sub-5-MiB chunks through one PutObject when they fit under the threshold', async function () {
        const { id, bytes } = await upload(backend, [MiB, 3 * MiB, 10, 2 * MiB - 10], 17);
        assert.doesNotMatch(await publishAndCheck(backend, id, bytes), /-\d+"?$/);
      });

      it('streams sub-5-MiB chunks above the threshold through a multipart upload', async function () {
        const small = await open({ multipartThresholdBytes: 5 * MiB, multipartChunkBytes: 5 * MiB });
        const { id, bytes } = await upload(small, [3 * MiB, 3 * MiB, 3 * MiB, 3 * MiB, 3 * MiB], 18);
        // 15 MiB restreamed in 5 MiB parts, not the five chunks.
        assert.match(await publishAndCheck(small, id, bytes), /-3"?$/);
      });

      it('composes chunks of at least 5 MiB (all but the last) server-side with UploadPartCopy', async function () {
        const { id, bytes } = await upload(backend, [6 * MiB, 5 * MiB, MiB + 3], 19);
        assert.match(await publishAndCheck(backend, id, bytes), /-3"?$/);
      });

      it('splits chunks larger than the copy part size into valid ranges', async function () {
        const copying = await open({ multipartCopyPartBytes: 5 * MiB });
        const { id, bytes } = await upload(copying, [12 * MiB, 6 * MiB, MiB], 20);
        // 12 MiB → two 6 MiB ranges, 6 MiB stays whole (two ranges would be under 5 MiB), then the last.
        assert.match(await publishAndCheck(copying, id, bytes), /-4"?$/);
      });

      it('publishes a single large chunk with a server-side copy', async function () {
        const { id, bytes } = await upload(backend, [20 * MiB], 21);
        await publishAndCheck(backend, id, bytes);
      });

      it('stores a large append as one chunk object through a multipart upload', async function () {
        const small = await open({ multipartThresholdBytes: 5 * MiB, multipartChunkBytes: 5 * MiB });
        const { id, bytes } = await upload(small, [11 * MiB], 22);
        assert.deepEqual(await keysUnder(prefix), [`${prefix}/uploads/${id}/0000000000000000`, `${prefix}/uploads/${id}/_`]);
        assert.match(await etagOf(`${prefix}/uploads/${id}/0000000000000000`), /-3"?$/);
        assert.ok((await collect(await small.readUpload(id))).equals(bytes));
      });

      it('keeps what a failing source sent to a large append, and nothing of an aborted one', async function () {
        const small = await open({ multipartThresholdBytes: 5 * MiB, multipartChunkBytes: 5 * MiB });
        const id = randomUUID();
        await small.createUpload(id);
        const bytes = patternBytes(14 * MiB, 23);
        const boom = new Error('connection reset');
        const sent = Array.from({ length: 12 }, (_, i) => bytes.subarray(i * MiB, (i + 1) * MiB));
        await assert.rejects(small.appendUpload(id, 0, failingAfter(sent, boom)), (error) => error === boom);
        assert.equal(await small.uploadSize(id), 12 * MiB);
        const controller = new AbortController();
        async function* aborting(): AsyncGenerator<Uint8Array> {
          yield bytes.subarray(12 * MiB, 13 * MiB);
          controller.abort();
          yield bytes.subarray(13 * MiB);
        }
        await assert.rejects(small.appendUpload(id, 12 * MiB, aborting(), controller.signal), { name: 'AbortError' });
        assert.equal(await small.uploadSize(id), 12 * MiB);
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        await small.appendUpload(id, 12 * MiB, chunked(bytes.subarray(12 * MiB)));
        assert.ok((await collect(await small.readUpload(id))).equals(bytes));
      });

      it('treats an upload with a missing chunk as damaged: size up to the gap, no append or publish, still deletable', async function () {
        const { id, bytes } = await upload(backend, [100, 200, 300], 24);
        await admin.send(new DeleteObjectCommand({ Bucket: env.bucket, Key: `${prefix}/uploads/${id}/0000000000000100` }));
        assert.equal(await backend.uploadSize(id), 100);
        await rejectsWithCode(backend.appendUpload(id, 100, chunked(patternBytes(5))), 'STORAGE_FAILURE');
        await rejectsWithCode(backend.publishUpload(id, addressOf(bytes)), 'STORAGE_FAILURE');
        assert.equal(await backend.deleteUpload(id), true);
        assert.deepEqual(await keysUnder(prefix), []);
      });

      it('deleteUpload aborts the multipart uploads of crashed appends', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await admin.send(new CreateMultipartUploadCommand({ Bucket: env.bucket, Key: `${prefix}/uploads/${id}/0000000000000000` }));
        assert.equal(await backend.deleteUpload(id), true);
        assert.deepEqual(await multipartUploadsUnder(prefix), []);
        assert.deepEqual(await keysUnder(prefix), []);
      });
    });

    describe('large reads on a socket of our own (ADR 0033)', function () {
      it('reads an object the caller expects to be large on its own socket, recycling buffers; small ones through the SDK', async function () {
        const large = patternBytes(5 * MiB, 27);
        const small = patternBytes(100_000, 28);
        const largeAddress = await store(backend, large, [MiB]);
        const smallAddress = await store(backend, small);
        const hinted = await backend.get(largeAddress, undefined, { expectedSize: large.length });
        assert.ok(isRecyclingBody(hinted.stream), 'a large hinted read can write itself with recycled buffers');
        assert.ok(Buffer.concat(await toArray(hinted.stream as AsyncIterable<Buffer>)).equals(large));
        for (const [address, hints] of [[largeAddress, undefined], [smallAddress, { expectedSize: small.length }]] as const) {
          const read = await backend.get(address, undefined, hints);
          assert.ok(!isRecyclingBody(read.stream), 'read through the SDK');
          read.stream.destroy();
        }
      });
    });

    describe('presigned GET', function () {
      it('presigns a URL that serves the object, and any range the client asks', async function () {
        const bytes = patternBytes(100_000, 25);
        const address = await store(backend, bytes);
        const presigned = await presignGet(backend, address, 60);
        assert.deepEqual(presigned.headers, {});
        assert.ok(presigned.expiresAt.getTime() > Date.now());
        const whole = await fetch(presigned.url);
        assert.equal(whole.status, 200);
        assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes));
        const ranged = await fetch(presigned.url, { headers: { range: 'bytes=10-19' } });
        assert.equal(ranged.status, 206);
        assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20)));
      });

      it('binds a presigned range to its header', async function () {
        const bytes = patternBytes(10_000, 26);
        const address = await store(backend, bytes);
        const presigned = await presignGet(backend, address, 60, { start: 100, end: 199 });
        assert.deepEqual(presigned.headers, { range: 'bytes=100-199' });
        const ok = await fetch(presigned.url, { headers: presigned.headers });
        assert.equal(ok.status, 206);
        assert.ok(Buffer.from(await ok.arrayBuffer()).equals(bytes.subarray(100, 200)));
        const other = await fetch(presigned.url, { headers: { range: 'bytes=0-9' } });
        assert.equal(other.status, 403);
        await other.arrayBuffer();
      });

      it('refuses bad addresses, ranges, expiries and non-S3 backends', async function () {
        await rejectsWithCode(presignGet(backend, 'sha256:' + 'ab'.repeat(32), 60), 'CONTENT_ADDRESS_INVALID');
        const address = addressOf(patternBytes(1));
        await rejectsWithCode(presignGet(backend, address, 0), 'INTERNAL');
        await rejectsWithCode(presignGet(backend, address, 8 * 24 * 3600), 'INTERNAL');
        await rejectsWithCode(presignGet(backend, address, 60, { start: 5, end: 4 }), 'RANGE_NOT_SATISFIABLE');
        const { mkdtemp, rm } = await import('node:fs/promises');
        const { tmpdir } = await import('node:os');
        const dir = await mkdtemp(`${tmpdir()}/artifactstore-s3-presign-`);
        try {
          const local = await openLocalBackend({ root: dir });
          assert.equal(canPresign(local), false);
          await rejectsWithCode(presignGet(local, address, 60), 'INTERNAL');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    });
  });
});
