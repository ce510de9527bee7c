import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createDataPlane, type DataPlane, type DataPlaneOptions, type IngestReceipt } from '../../src/dataplane/index.js';
import { RegistryError, isRegistryError } from '../../src/errors/index.js';
import { EMPTY_DIGESTS } from '../../src/identity/index.js';
import { openLocalBackend } from '../../src/storage/backends/local/index.js';
import type { StorageBackend } from '../../src/storage/index.js';
import { addressOf, chunked, collect, failingAfter, patternBytes, pausedAfter, referenceDigests, rejectsWithCode, toArray, watchWaitsFor } from '../storage/support.js';
import { MALFORMED_UPLOAD_IDS } from '../storage/upload-suite.js';
import { latch } from '../support/latch.js';

/** A backend that forwards everything to `inner`, counting `readUpload` calls and letting a test replace methods. */
interface InstrumentedBackend {
  backend: StorageBackend;
  /** How many times the staged bytes were re-read. */
  reads(): number;
}

function instrument(inner: StorageBackend, overrides: Partial<StorageBackend> = {}): InstrumentedBackend {
  let reads = 0;
  const backend = new Proxy(inner, {
    get(target, property) {
      if (property === 'readUpload') {
        return async (id: string) => {
          reads++;
          return (overrides.readUpload ?? target.readUpload.bind(target))(id);
        };
      }
      const override = (overrides as Record<PropertyKey, unknown>)[property];
      if (override !== undefined) return override;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { backend, reads: () => reads };
}

/** The receipt an upload of `bytes` must produce, whichever path computed it. */
function expectedReceipt(bytes: Uint8Array, objectKey: string, created = true): IngestReceipt {
  const reference = referenceDigests(bytes);
  return {
    contentAddress: `blake3:${reference.blake3}`,
    digestSha256: `sha256:${reference.sha256}`,
    size: bytes.length,
    backend: 'local',
    objectKey,
    retrievalTier: 'hot',
    created,
  };
}

describe('data plane uploads (in-process, local backend)', function () {
  let dir: string;
  let root: string;
  const planes: DataPlane[] = [];

  /** A data plane over its own backend instance on the shared root: what another process would have. */
  async function openPlane(options?: DataPlaneOptions, overrides?: Partial<StorageBackend>): Promise<{ plane: DataPlane; reads: () => number; backend: StorageBackend }> {
    const instrumented = instrument(await openLocalBackend({ root }), overrides);
    const plane = createDataPlane(instrumented.backend, options);
    planes.push(plane);
    return { plane, reads: instrumented.reads, backend: instrumented.backend };
  }

  let plane: DataPlane;
  let reads: () => number;
  let backend: StorageBackend;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-uploads-'));
    root = path.join(dir, 'storage');
    ({ plane, reads, backend } = await openPlane());
  });

  afterEach(async function () {
    for (const opened of planes.splice(0)) await opened.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends `bytes` to upload `id` of `target` from `offset`, one append per entry of `appendSizes` (cycling). */
  async function send(target: DataPlane, id: string, bytes: Uint8Array, appendSizes: number[], offset = 0, chunkSizes?: number[]): Promise<number> {
    let size = offset;
    let turn = 0;
    for (let position = 0; position < bytes.length; ) {
      const piece = bytes.subarray(position, position + (appendSizes[turn++ % appendSizes.length] as number));
      size = await target.appendUpload(id, size, chunked(piece, chunkSizes));
      position += piece.length;
    }
    return size;
  }

  describe('the single-pass path (every chunk through this process, in order)', function () {
    for (const size of [0, 1, 4097, 1024 * 1024 + 3]) {
      it(`completes ${size} bytes from the running digest, without re-reading, with the right receipt`, async function () {
        const id = randomUUID();
        const bytes = patternBytes(size, size + 3);
        await plane.startUpload(id);
        assert.equal(await send(plane, id, bytes, [1, 70_000, 300_000], 0, [4096, 33_333]), size);
        const receipt = await plane.completeUpload(id);
        assert.equal(reads(), 0, 'the staged bytes were not re-read');
        assert.deepEqual(receipt, expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
        assert.deepEqual(await collect((await plane.serveObject(receipt.contentAddress)).stream), bytes);
        assert.equal(await plane.uploadSize(id), null);
        assert.deepEqual(await toArray(plane.listUploads()), []);
      });
    }

    it('hashes the empty upload to the standard empty digests', async function () {
      const id = randomUUID();
      await plane.startUpload(id);
      const receipt = await plane.completeUpload(id);
      assert.equal(receipt.contentAddress, `blake3:${EMPTY_DIGESTS.blake3}`);
      assert.equal(receipt.digestSha256, `sha256:${EMPTY_DIGESTS.sha256}`);
      assert.equal(reads(), 0);
    });

    it('survives empty appends and chunks that are views of shared memory', async function () {
      const id = randomUUID();
      const bytes = patternBytes(10_000, 5);
      const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
      shared.set(bytes);
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(shared.subarray(0, 6000), [1000]));
      await plane.appendUpload(id, 6000, chunked(new Uint8Array(0)));
      await plane.appendUpload(id, 6000, chunked(shared.subarray(6000), [999]));
      const receipt = await plane.completeUpload(id);
      assert.equal(reads(), 0);
      assert.deepEqual(receipt, expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
    });

    it('keeps the running digest when an append is refused for its offset', async function () {
      const id = randomUUID();
      const bytes = patternBytes(3000, 6);
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(bytes.subarray(0, 1000)));
      for (const offset of [0, 999, 2000]) {
        await assert.rejects(plane.appendUpload(id, offset, chunked(patternBytes(10, 9))), (error: unknown) => {
          assert.ok(isRegistryError(error, 'UPLOAD_OFFSET_MISMATCH'), String(error));
          assert.equal(error.status, 416);
          assert.equal(error.extra?.['size'], 1000);
          return true;
        });
      }
      await plane.appendUpload(id, 1000, chunked(bytes.subarray(1000)));
      assert.deepEqual(await plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 0);
    });

    it('serialises concurrent appends to one upload: one wins, and the digest is of the winner’s bytes', async function () {
      const id = randomUUID();
      await plane.startUpload(id);
      async function* slowly(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
        for (let position = 0; position < bytes.length; position += 8192) {
          await new Promise((resolve) => setImmediate(resolve));
          yield bytes.subarray(position, position + 8192);
        }
      }
      const inputs = [patternBytes(64 * 1024, 10), patternBytes(64 * 1024, 11), patternBytes(64 * 1024, 12)];
      const results = await Promise.allSettled(inputs.map((bytes) => plane.appendUpload(id, 0, slowly(bytes))));
      const winner = results.findIndex((result) => result.status === 'fulfilled');
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      for (const result of results) {
        if (result.status === 'rejected') assert.ok(isRegistryError(result.reason, 'UPLOAD_OFFSET_MISMATCH'), String(result.reason));
      }
      const bytes = inputs[winner] as Uint8Array;
      assert.deepEqual(await plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 0);
    });
  });

  describe('the re-read path (the running digest cannot be trusted)', function () {
    it('another data plane over the same storage completes an upload the first started', async function () {
      const other = await openPlane();
      const id = randomUUID();
      const bytes = patternBytes(500_000, 20);
      await plane.startUpload(id);
      await send(plane, id, bytes.subarray(0, 200_000), [100_000]);
      assert.equal(await other.plane.uploadSize(id), 200_000);
      await send(other.plane, id, bytes.subarray(200_000), [150_000], 200_000);
      const receipt = await other.plane.completeUpload(id);
      assert.equal(other.reads(), 1, 'the other process re-read the staged bytes once');
      assert.deepEqual(receipt, expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(await plane.uploadSize(id), null);
      assert.deepEqual(await collect((await plane.serveObject(receipt.contentAddress)).stream), bytes);
    });

    it('re-reads when another process appended a chunk in between', async function () {
      const other = await openPlane();
      const id = randomUUID();
      const bytes = patternBytes(30_000, 21);
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(bytes.subarray(0, 10_000)));
      await other.plane.appendUpload(id, 10_000, chunked(bytes.subarray(10_000, 20_000)));
      await plane.appendUpload(id, 20_000, chunked(bytes.subarray(20_000)));
      assert.deepEqual(await plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 1);
    });

    it('re-reads when the backend holds more than this process saw', async function () {
      const other = await openPlane();
      const id = randomUUID();
      const bytes = patternBytes(20_000, 22);
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(bytes.subarray(0, 10_000)));
      await other.plane.appendUpload(id, 10_000, chunked(bytes.subarray(10_000)));
      assert.deepEqual(await plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 1);
    });

    it('re-reads after a chunk failed midway, covering exactly the bytes kept and resumed', async function () {
      const id = randomUUID();
      const bytes = patternBytes(200_000, 23);
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(bytes.subarray(0, 50_000)));
      const boom = new Error('client went away');
      await assert.rejects(
        plane.appendUpload(id, 50_000, failingAfter([bytes.subarray(50_000, 90_000), bytes.subarray(90_000, 100_000)], boom)),
        (error) => error === boom,
      );
      const size = (await plane.uploadSize(id)) as number;
      assert.ok(size >= 50_000 && size <= 100_000, `partial size ${size}`);
      await send(plane, id, bytes.subarray(size), [60_000], size);
      assert.deepEqual(await plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 1);
    });

    it('re-reads when a failed chunk was hashed further than the backend kept it (a backend buffering parts)', async function () {
      const inner = await openLocalBackend({ root });
      const lossy = instrument(inner, {
        // Reads (and so hashes) the whole chunk, keeps only its first piece, then fails.
        appendUpload: async (id: string, offset: number, source: AsyncIterable<Uint8Array>) => {
          const pieces: Uint8Array[] = [];
          for await (const piece of source) pieces.push(piece);
          if (pieces.length <= 1) return inner.appendUpload(id, offset, chunked(pieces[0] ?? new Uint8Array(0)));
          await inner.appendUpload(id, offset, chunked(pieces[0] as Uint8Array));
          throw new Error('part upload failed');
        },
      });
      const lossyPlane = createDataPlane(lossy.backend);
      planes.push(lossyPlane);
      const id = randomUUID();
      const bytes = patternBytes(30_000, 32);
      await lossyPlane.startUpload(id);
      await assert.rejects(lossyPlane.appendUpload(id, 0, chunked(bytes.subarray(0, 20_000), [10_000])), /part upload failed/);
      assert.equal(await lossyPlane.uploadSize(id), 10_000);
      await lossyPlane.appendUpload(id, 10_000, chunked(bytes.subarray(10_000)));
      assert.deepEqual(await lossyPlane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(lossy.reads(), 1);
    });

    it('re-reads when an append failed after reporting its bytes stored (its fsync failed) while the next one went on', async function () {
      const inner = await openLocalBackend({ root });
      const gate = latch();
      const storedSeen = latch();
      let calls = 0;
      const flaky = instrument(inner, {
        // The first append stores its bytes, lets the next one in, then fails its "sync".
        appendUpload: async (id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onStored?: (size: number) => void) => {
          if (++calls > 1) return inner.appendUpload(id, offset, source, signal, onStored);
          await inner.appendUpload(id, offset, source, signal, (stored) => {
            onStored?.(stored);
            storedSeen.open();
          });
          await gate.opened;
          throw new RegistryError('STORAGE_FAILURE', 'syncing an upload failed');
        },
      });
      const flakyPlane = createDataPlane(flaky.backend);
      planes.push(flakyPlane);
      const id = randomUUID();
      const bytes = patternBytes(50_000, 33);
      await flakyPlane.startUpload(id);
      const first = flakyPlane.appendUpload(id, 0, chunked(bytes.subarray(0, 20_000)));
      await storedSeen.opened;
      // The next chunk takes the running digest while the first one "syncs",
      // and is still arriving when the first one fails.
      const half = latch();
      const resumed = latch();
      const second = flakyPlane.appendUpload(id, 20_000, pausedAfter(bytes.subarray(20_000, 35_000), bytes.subarray(35_000), half, resumed));
      await half.opened;
      gate.open();
      await rejectsWithCode(first, 'STORAGE_FAILURE');
      resumed.open();
      assert.equal(await second, 50_000);
      assert.deepEqual(await flakyPlane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(flaky.reads(), 1, 'the running digest was not trusted');
    });

    it('a completion waits for an append that has stored its bytes but is still syncing', async function () {
      const inner = await openLocalBackend({ root });
      const gate = latch();
      const storedSeen = latch();
      const slowSync = instrument(inner, {
        appendUpload: async (id: string, offset: number, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onStored?: (size: number) => void) => {
          const size = await inner.appendUpload(id, offset, source, signal, (stored) => {
            onStored?.(stored);
            storedSeen.open();
          });
          await gate.opened;
          return size;
        },
      });
      const slowPlane = createDataPlane(slowSync.backend);
      planes.push(slowPlane);
      const id = randomUUID();
      const bytes = patternBytes(40_000, 34);
      await slowPlane.startUpload(id);
      const settled: string[] = [];
      const appending = slowPlane.appendUpload(id, 0, chunked(bytes)).then((size) => (settled.push('append'), size));
      await storedSeen.opened;
      const watch = watchWaitsFor(id);
      let completing: Promise<IngestReceipt>;
      try {
        completing = slowPlane.completeUpload(id).then((receipt) => (settled.push('complete'), receipt));
        // Either it is waiting for the append still syncing, or (had it not waited) it is done.
        await Promise.race([watch.waited.opened, completing]);
      } finally {
        watch.restore();
      }
      assert.deepEqual(settled, []);
      gate.open();
      assert.equal(await appending, 40_000);
      assert.deepEqual(await completing, expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.deepEqual(settled, ['append', 'complete']);
      assert.equal(slowSync.reads(), 0, 'completed from the running digest');
    });

    it('re-reads after an aborted append', async function () {
      const id = randomUUID();
      const bytes = patternBytes(300_000, 24);
      await plane.startUpload(id);
      const controller = new AbortController();
      async function* source(): AsyncGenerator<Uint8Array> {
        yield bytes.subarray(0, 100_000);
        controller.abort();
        yield bytes.subarray(100_000, 200_000);
      }
      await assert.rejects(plane.appendUpload(id, 0, source(), controller.signal), { name: 'AbortError' });
      const size = (await plane.uploadSize(id)) as number;
      await send(plane, id, bytes.subarray(size), [100_000], size);
      assert.deepEqual(await plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 1);
    });

    it('re-reads after a source yielded something other than bytes, keeping what came before', async function () {
      const id = randomUUID();
      const bytes = patternBytes(5000, 25);
      await plane.startUpload(id);
      async function* bad(): AsyncGenerator<Uint8Array> {
        yield bytes.subarray(0, 2000);
        yield 'text' as unknown as Uint8Array;
      }
      await assert.rejects(plane.appendUpload(id, 0, bad()), TypeError);
      assert.equal(await plane.uploadSize(id), 2000);
      await plane.appendUpload(id, 2000, chunked(bytes.subarray(2000)));
      assert.deepEqual(await plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 1);
    });

    it('evicts the least recently used running digest beyond the bound; an evicted upload is re-read', async function () {
      const small = await openPlane({ uploadDigestCacheEntries: 2 });
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const bytes = { [a]: patternBytes(1000, 26), [b]: patternBytes(1000, 27), [c]: patternBytes(1000, 28) };
      await small.plane.startUpload(a);
      await small.plane.startUpload(b);
      // Touching a makes b the least recently used, so c's entry evicts b.
      await small.plane.appendUpload(a, 0, chunked(bytes[a]!));
      await small.plane.startUpload(c);
      await small.plane.appendUpload(b, 0, chunked(bytes[b]!));
      await small.plane.appendUpload(c, 0, chunked(bytes[c]!));
      for (const id of [a, c]) {
        assert.deepEqual(await small.plane.completeUpload(id), expectedReceipt(bytes[id]!, backend.keyFor(addressOf(bytes[id]!))));
      }
      assert.equal(small.reads(), 0, 'a and c kept their running digests');
      assert.deepEqual(await small.plane.completeUpload(b), expectedReceipt(bytes[b]!, backend.keyFor(addressOf(bytes[b]!))));
      assert.equal(small.reads(), 1, 'b was evicted and re-read');
    });

    it('always re-reads with the cache disabled', async function () {
      const uncached = await openPlane({ uploadDigestCacheEntries: 0 });
      const id = randomUUID();
      const bytes = patternBytes(4000, 29);
      await uncached.plane.startUpload(id);
      await send(uncached.plane, id, bytes, [1500]);
      assert.deepEqual(await uncached.plane.completeUpload(id), expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(uncached.reads(), 1);
    });

    it('refuses to publish when the re-read returns other than the staged size, and keeps the upload', async function () {
      const truncating = await openPlane(
        { uploadDigestCacheEntries: 0 },
        { readUpload: async () => Readable.from([patternBytes(10, 1)]) },
      );
      const id = randomUUID();
      await truncating.plane.startUpload(id);
      await truncating.plane.appendUpload(id, 0, chunked(patternBytes(100, 30)));
      await rejectsWithCode(truncating.plane.completeUpload(id), 'STORAGE_FAILURE');
      assert.equal(await plane.uploadSize(id), 100);
      assert.deepEqual(await toArray(plane.listObjects()), []);
    });

    it('wraps a failing re-read as STORAGE_FAILURE, keeping the upload', async function () {
      const failing = await openPlane(
        { uploadDigestCacheEntries: 0 },
        { readUpload: async () => Readable.from(failingAfter([patternBytes(10)], new Error('EIO'))) },
      );
      const id = randomUUID();
      await failing.plane.startUpload(id);
      await failing.plane.appendUpload(id, 0, chunked(patternBytes(100, 31)));
      await rejectsWithCode(failing.plane.completeUpload(id), 'STORAGE_FAILURE');
      assert.equal(await plane.uploadSize(id), 100);
    });
  });

  describe('expectations', function () {
    const bytes = patternBytes(20_000, 40);
    const reference = referenceDigests(bytes);
    let id: string;

    beforeEach(async function () {
      id = randomUUID();
      await plane.startUpload(id);
      await send(plane, id, bytes, [7000]);
    });

    it('accepts matching expectations', async function () {
      const receipt = await plane.completeUpload(id, { blake3: `blake3:${reference.blake3}`, sha256: `sha256:${reference.sha256}`, size: bytes.length });
      assert.deepEqual(receipt, expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 0);
    });

    it('refuses a wrong sha256 with DIGEST_MISMATCH before publishing, keeps the upload, and a retry succeeds', async function () {
      const wrong = `sha256:${referenceDigests(patternBytes(10)).sha256}`;
      await assert.rejects(plane.completeUpload(id, { sha256: wrong }), (error: unknown) => {
        assert.ok(isRegistryError(error, 'DIGEST_MISMATCH'), String(error));
        assert.deepEqual(error.extra, { expected: wrong, actual: `sha256:${reference.sha256}` });
        return true;
      });
      assert.deepEqual(await toArray(plane.listObjects()), [], 'nothing was published');
      assert.equal(await plane.uploadSize(id), bytes.length, 'the upload is kept');
      const receipt = await plane.completeUpload(id, { sha256: `sha256:${reference.sha256}` });
      assert.deepEqual(receipt, expectedReceipt(bytes, backend.keyFor(addressOf(bytes))));
      assert.equal(reads(), 1, 'the retry re-read: the first attempt finished the running digest');
    });

    it('refuses a wrong blake3 with DIGEST_MISMATCH and keeps the upload', async function () {
      await rejectsWithCode(plane.completeUpload(id, { blake3: addressOf(patternBytes(10)) }), 'DIGEST_MISMATCH');
      assert.equal(await plane.uploadSize(id), bytes.length);
      assert.deepEqual(await toArray(plane.listObjects()), []);
    });

    it('refuses a wrong size with SIZE_MISMATCH without hashing, and keeps the running digest', async function () {
      await assert.rejects(plane.completeUpload(id, { size: bytes.length + 1, sha256: `sha256:${reference.sha256}` }), (error: unknown) => {
        assert.ok(isRegistryError(error, 'SIZE_MISMATCH'), String(error));
        assert.deepEqual(error.extra, { expected: bytes.length + 1, actual: bytes.length });
        return true;
      });
      assert.equal(await plane.uploadSize(id), bytes.length);
      // The client sends the missing byte, and completes with a new digest.
      const longer = Buffer.concat([bytes, Buffer.from([7])]);
      await plane.appendUpload(id, bytes.length, chunked(Buffer.from([7])));
      const receipt = await plane.completeUpload(id, { size: longer.length, sha256: `sha256:${referenceDigests(longer).sha256}` });
      assert.deepEqual(receipt, expectedReceipt(longer, backend.keyFor(addressOf(longer))));
      assert.equal(reads(), 0);
    });

    it('validates expectations before touching the upload', async function () {
      const hex = reference.sha256;
      await rejectsWithCode(plane.completeUpload(id, { sha256: hex }), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.completeUpload(id, { blake3: `sha256:${hex}` }), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.completeUpload(id, { size: -1 }), 'FIELD_INVALID');
      assert.equal(await plane.uploadSize(id), bytes.length);
      await plane.completeUpload(id);
      assert.equal(reads(), 0, 'the running digest survived the refusals');
    });
  });

  describe('sessions', function () {
    it('completing content already stored resolves with created: false', async function () {
      const bytes = patternBytes(3000, 50);
      const ingested = await plane.ingestStream(chunked(bytes));
      const id = randomUUID();
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(bytes));
      const receipt = await plane.completeUpload(id);
      assert.deepEqual(receipt, { ...ingested, created: false });
      assert.deepEqual(await toArray(plane.listObjects()), [ingested.contentAddress]);
      assert.equal(await plane.uploadSize(id), null);
    });

    it('refuses to start an upload twice', async function () {
      const id = randomUUID();
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(patternBytes(10)));
      await rejectsWithCode(plane.startUpload(id), 'UPLOAD_EXISTS');
      assert.equal(await plane.uploadSize(id), 10);
    });

    it('reads back and lists uploads in progress', async function () {
      const id = randomUUID();
      const bytes = patternBytes(5000, 51);
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(bytes));
      assert.deepEqual(await collect(await plane.readUpload(id)), bytes);
      const listed = await toArray(plane.listUploads());
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.id, id);
      assert.equal(listed[0]?.size, 5000);
      assert.ok(listed[0]?.modifiedAt instanceof Date);
    });

    it('cancelUpload drops the upload once; completing it afterwards is UPLOAD_NOT_FOUND', async function () {
      const id = randomUUID();
      await plane.startUpload(id);
      await plane.appendUpload(id, 0, chunked(patternBytes(100)));
      assert.equal(await plane.cancelUpload(id), true);
      assert.equal(await plane.cancelUpload(id), false);
      assert.equal(await plane.uploadSize(id), null);
      await rejectsWithCode(plane.completeUpload(id), 'UPLOAD_NOT_FOUND');
      assert.deepEqual(await toArray(plane.listObjects()), []);
    });

    it('reports unknown uploads', async function () {
      const id = randomUUID();
      assert.equal(await plane.uploadSize(id), null);
      await rejectsWithCode(plane.appendUpload(id, 0, chunked(patternBytes(1))), 'UPLOAD_NOT_FOUND');
      await rejectsWithCode(plane.readUpload(id), 'UPLOAD_NOT_FOUND');
      await rejectsWithCode(plane.completeUpload(id), 'UPLOAD_NOT_FOUND');
      assert.equal(await plane.cancelUpload(id), false);
    });

    it('refuses malformed ids in every upload operation', async function () {
      for (const id of MALFORMED_UPLOAD_IDS) {
        await rejectsWithCode(plane.startUpload(id), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(plane.appendUpload(id, 0, chunked(patternBytes(1))), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(plane.uploadSize(id), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(plane.readUpload(id), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(plane.completeUpload(id), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(plane.cancelUpload(id), 'UPLOAD_ID_INVALID');
      }
      assert.deepEqual(await toArray(plane.listUploads()), []);
    });

    it('refuses a cache bound that is not a non-negative integer', function () {
      for (const uploadDigestCacheEntries of [-1, 1.5, Number.NaN]) {
        assert.throws(
          () => createDataPlane(backend, { uploadDigestCacheEntries }),
          (error: unknown) => isRegistryError(error, 'CONFIG_INVALID'),
        );
      }
    });
  });
});
