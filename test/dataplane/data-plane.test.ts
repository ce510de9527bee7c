import { strict as assert } from 'node:assert';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createDataPlane, type DataPlane } from '../../src/dataplane/index.js';
import { EMPTY_DIGESTS } from '../../src/identity/index.js';
import { openLocalBackend, STAGING_DIRECTORY, type LocalBackend } from '../../src/storage/backends/local/index.js';
import type { StorageBackend } from '../../src/storage/index.js';
import { addressOf, chunked, collect, failingAfter, patternBytes, referenceDigests, rejectsWithCode, toArray } from '../storage/support.js';

describe('data plane (in-process, local backend)', function () {
  let dir: string;
  let backend: LocalBackend;
  let plane: DataPlane;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-dataplane-'));
    backend = await openLocalBackend({ root: path.join(dir, 'storage') });
    plane = createDataPlane(backend);
  });

  afterEach(async function () {
    await plane.close();
    await rm(dir, { recursive: true, force: true });
  });

  function objectFile(address: string): string {
    return path.join(backend.root, backend.keyFor(address));
  }

  async function assertNothingKept(): Promise<void> {
    assert.deepEqual(await toArray(plane.listObjects()), [], 'no object is published');
    assert.deepEqual(await readdir(path.join(backend.root, STAGING_DIRECTORY)), [], 'nothing is left in staging');
  }

  describe('ingestStream', function () {
    for (const size of [0, 1, 1023, 1024 * 1024 + 3]) {
      it(`computes both digests of ${size} bytes, matching independent implementations`, async function () {
        const bytes = patternBytes(size, size + 1);
        const reference = referenceDigests(bytes);
        const receipt = await plane.ingestStream(chunked(bytes, [1, 70_000, 4096]));
        assert.equal(receipt.contentAddress, `blake3:${reference.blake3}`);
        assert.equal(receipt.digestSha256, `sha256:${reference.sha256}`);
        assert.equal(receipt.size, size);
        const { stream } = await plane.serveObject(receipt.contentAddress);
        assert.deepEqual(await collect(stream), bytes);
      });
    }

    it('hashes the empty input to the standard empty digests', async function () {
      const receipt = await plane.ingestStream(chunked(new Uint8Array(0)));
      assert.equal(receipt.contentAddress, `blake3:${EMPTY_DIGESTS.blake3}`);
      assert.equal(receipt.digestSha256, `sha256:${EMPTY_DIGESTS.sha256}`);
    });

    it('returns a receipt naming the backend, key and hot tier', async function () {
      const bytes = patternBytes(500, 2);
      const receipt = await plane.ingestStream(chunked(bytes));
      assert.deepEqual(receipt, {
        contentAddress: addressOf(bytes),
        digestSha256: `sha256:${referenceDigests(bytes).sha256}`,
        size: 500,
        backend: 'local',
        objectKey: backend.keyFor(addressOf(bytes)),
        retrievalTier: 'hot',
        created: true,
      });
      assert.equal(plane.backendId, 'local');
    });

    it('stores identical content once', async function () {
      const bytes = patternBytes(50_000, 3);
      const first = await plane.ingestStream(chunked(bytes, [1000]));
      const second = await plane.ingestStream(chunked(bytes, [7]));
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.contentAddress, first.contentAddress);
      assert.deepEqual(await toArray(plane.listObjects()), [first.contentAddress]);
      assert.deepEqual(await readdir(path.join(backend.root, STAGING_DIRECTORY)), []);
    });

    it('accepts expectations that match', async function () {
      const bytes = patternBytes(2000, 4);
      const reference = referenceDigests(bytes);
      const receipt = await plane.ingestStream(chunked(bytes), {
        blake3: `blake3:${reference.blake3}`,
        sha256: `sha256:${reference.sha256}`,
        size: 2000,
      });
      assert.equal(receipt.created, true);
    });

    it('refuses a wrong sha256 with DIGEST_MISMATCH and keeps nothing', async function () {
      const bytes = patternBytes(2000, 5);
      const wrong = `sha256:${referenceDigests(patternBytes(2000, 6)).sha256}`;
      await assert.rejects(plane.ingestStream(chunked(bytes), { sha256: wrong }), (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'DIGEST_MISMATCH');
        assert.deepEqual((error as { extra?: unknown }).extra, { expected: wrong, actual: `sha256:${referenceDigests(bytes).sha256}` });
        return true;
      });
      await assertNothingKept();
    });

    it('refuses a wrong blake3 with DIGEST_MISMATCH and keeps nothing', async function () {
      const bytes = patternBytes(2000, 5);
      await rejectsWithCode(plane.ingestStream(chunked(bytes), { blake3: addressOf(patternBytes(2000, 6)) }), 'DIGEST_MISMATCH');
      await assertNothingKept();
    });

    it('refuses a short source with SIZE_MISMATCH and keeps nothing', async function () {
      const bytes = patternBytes(999, 5);
      const reference = referenceDigests(bytes);
      // Matching digests with a wrong size still fail: size is checked on its own.
      await rejectsWithCode(plane.ingestStream(chunked(bytes), { size: 1000, sha256: `sha256:${reference.sha256}` }), 'SIZE_MISMATCH');
      await assertNothingKept();
    });

    it('cuts off a source that overruns the expected size', async function () {
      let pulled = 0;
      async function* endless(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield patternBytes(1000, i);
        }
      }
      await rejectsWithCode(plane.ingestStream(endless(), { size: 2500 }), 'SIZE_MISMATCH');
      assert.equal(pulled, 3, 'reading stopped at the first chunk past the promise');
      await assertNothingKept();
    });

    it('validates expectations before reading the source', async function () {
      const hex = referenceDigests(new Uint8Array(0)).sha256;
      let pulled = false;
      async function* source(): AsyncGenerator<Uint8Array> {
        pulled = true;
        yield new Uint8Array(1);
      }
      await rejectsWithCode(plane.ingestStream(source(), { sha256: hex }), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.ingestStream(source(), { sha256: `blake3:${hex}` }), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.ingestStream(source(), { blake3: `sha256:${hex}` }), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.ingestStream(source(), { size: -1 }), 'FIELD_INVALID');
      await rejectsWithCode(plane.ingestStream(source(), { size: 1.5 }), 'FIELD_INVALID');
      assert.equal(pulled, false);
      await assertNothingKept();
    });

    it('passes a failing source error through and keeps nothing', async function () {
      const boom = new Error('upload dropped');
      await assert.rejects(plane.ingestStream(failingAfter([patternBytes(10_000)], boom)), (error) => error === boom);
      await assertNothingKept();
    });

    it('stops on abort and keeps nothing', async function () {
      const controller = new AbortController();
      async function* source(): AsyncGenerator<Uint8Array> {
        yield patternBytes(10_000, 1);
        controller.abort();
        yield patternBytes(10_000, 2);
      }
      await assert.rejects(plane.ingestStream(source(), undefined, controller.signal), { name: 'AbortError' });
      await assertNothingKept();
    });

    it('refuses sources that yield something other than bytes', async function () {
      async function* strings(): AsyncGenerator<Uint8Array> {
        yield 'text' as unknown as Uint8Array;
      }
      await assert.rejects(plane.ingestStream(strings()), TypeError);
      await assertNothingKept();
    });

    it('hashes chunks that are views of shared memory', async function () {
      const shared = new Uint8Array(new SharedArrayBuffer(4096));
      shared.set(patternBytes(4096, 8));
      const receipt = await plane.ingestStream(chunked(shared, [1000]));
      assert.equal(receipt.contentAddress, addressOf(patternBytes(4096, 8)));
    });
  });

  describe('serveObject and statObject', function () {
    const bytes = patternBytes(10_000, 12);
    let address: string;

    beforeEach(async function () {
      ({ contentAddress: address } = await plane.ingestStream(chunked(bytes)));
    });

    it('serves the whole object', async function () {
      const served = await plane.serveObject(address);
      assert.equal(served.size, 10_000);
      assert.equal(served.range, null);
      assert.deepEqual(await collect(served.stream), bytes);
    });

    it('serves inclusive ranges and clamps the end', async function () {
      const middle = await plane.serveObject(address, { start: 10, end: 19 });
      assert.deepEqual(await collect(middle.stream), bytes.subarray(10, 20));
      const tail = await plane.serveObject(address, { start: 9_990, end: 20_000 });
      assert.deepEqual(tail.range, { start: 9_990, end: 9_999 });
      assert.deepEqual(await collect(tail.stream), bytes.subarray(9_990));
    });

    it('refuses unsatisfiable ranges, reporting the size', async function () {
      await assert.rejects(plane.serveObject(address, { start: 10_000, end: 10_001 }), (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'RANGE_NOT_SATISFIABLE');
        assert.deepEqual((error as { extra?: unknown }).extra, { size: 10_000 });
        return true;
      });
      await rejectsWithCode(plane.serveObject(address, { start: 5, end: 4 }), 'RANGE_NOT_SATISFIABLE');
    });

    it('refuses sha256 addresses: resolving them is the object index’s job', async function () {
      const sha = `sha256:${referenceDigests(bytes).sha256}`;
      await rejectsWithCode(plane.serveObject(sha), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.statObject(sha), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.deleteObject(sha), 'CONTENT_ADDRESS_INVALID');
      await rejectsWithCode(plane.verifyObject(sha, {}), 'CONTENT_ADDRESS_INVALID');
    });

    it('reports missing objects', async function () {
      const absent = addressOf(patternBytes(10, 77));
      await rejectsWithCode(plane.serveObject(absent), 'OBJECT_NOT_FOUND');
      assert.equal(await plane.statObject(absent), null);
    });

    it('stats a stored object', async function () {
      assert.deepEqual(await plane.statObject(address), { size: 10_000 });
    });
  });

  describe('verifyObject', function () {
    const bytes = patternBytes(300_000, 13);
    let address: string;
    let sha256: string;

    beforeEach(async function () {
      ({ contentAddress: address, digestSha256: sha256 } = await plane.ingestStream(chunked(bytes)));
    });

    it('confirms an intact object against its expectations', async function () {
      const result = await plane.verifyObject(address, { sha256, size: bytes.length });
      assert.deepEqual(result.problems, []);
      assert.equal(result.ok, true);
      assert.deepEqual(result.actual, { blake3: address.slice(7), sha256: sha256.slice(7), size: bytes.length });
    });

    it('detects a flipped byte on disk', async function () {
      const file = objectFile(address);
      const handle = await open(file, 'r+');
      try {
        const one = Buffer.alloc(1);
        await handle.read(one, 0, 1, 123_456);
        one[0] = one[0]! ^ 0x01;
        await handle.write(one, 0, 1, 123_456);
      } finally {
        await handle.close();
      }
      const result = await plane.verifyObject(address, { sha256, size: bytes.length });
      assert.equal(result.ok, false);
      assert.notEqual(result.actual?.blake3, address.slice(7));
      assert.equal(result.actual?.size, bytes.length);
      assert.ok(result.problems.some((problem) => problem.includes('blake3')), result.problems.join('; '));
      assert.ok(result.problems.some((problem) => problem.includes('sha256')), result.problems.join('; '));
    });

    it('reports a size or sha256 that differs from what the caller recorded', async function () {
      const otherSha = `sha256:${referenceDigests(patternBytes(1)).sha256}`;
      const result = await plane.verifyObject(address, { sha256: otherSha, size: bytes.length + 1 });
      assert.equal(result.ok, false);
      assert.equal(result.problems.length, 2);
    });

    it('reports a missing object without throwing', async function () {
      const result = await plane.verifyObject(addressOf(patternBytes(5, 55)), {});
      assert.equal(result.ok, false);
      assert.equal(result.actual, null);
      assert.equal(result.problems.length, 1);
    });
  });

  describe('deleteObject and listObjects', function () {
    it('deletes once, then reports nothing to delete', async function () {
      const keep = await plane.ingestStream(chunked(patternBytes(100, 1)));
      const gone = await plane.ingestStream(chunked(patternBytes(100, 2)));
      assert.equal(await plane.deleteObject(gone.contentAddress), true);
      assert.equal(await plane.deleteObject(gone.contentAddress), false);
      await rejectsWithCode(plane.serveObject(gone.contentAddress), 'OBJECT_NOT_FOUND');
      assert.deepEqual(await toArray(plane.listObjects()), [keep.contentAddress]);
    });

    it('re-ingests deleted content as a new object', async function () {
      const bytes = patternBytes(100, 3);
      const first = await plane.ingestStream(chunked(bytes));
      await plane.deleteObject(first.contentAddress);
      const again = await plane.ingestStream(chunked(bytes));
      assert.equal(again.created, true);
    });
  });

  describe('backendHealth', function () {
    it('reports the backend’s health', async function () {
      const health = await plane.backendHealth();
      assert.equal(health.ok, true);
      assert.equal(health.backend, 'local');
      assert.ok(health.totalBytes !== null && health.totalBytes > 0);
    });
  });
});

describe('data plane over a misbehaving backend', function () {
  /** A backend whose every method throws unless overridden. */
  function stubBackend(overrides: Partial<StorageBackend>): StorageBackend & { closed: number } {
    const unused = async (): Promise<never> => {
      throw new Error('not used by this test');
    };
    return {
      id: 'stub',
      closed: 0,
      keyFor: () => 'stub-key',
      stage: unused,
      put: unused,
      discard: async () => undefined,
      get: unused,
      head: unused,
      delete: unused,
      list: async function* () {},
      createUpload: unused,
      appendUpload: unused,
      uploadSize: unused,
      readUpload: unused,
      publishUpload: unused,
      deleteUpload: unused,
      listUploads: async function* () {},
      health: unused,
      removeStaleStaging: unused,
      async close() {
        this.closed++;
      },
      ...overrides,
    };
  }

  it('reports a backend whose health check throws as not ok', async function () {
    const plane = createDataPlane(stubBackend({ health: async () => Promise.reject(new Error('bucket unreachable')) }));
    const health = await plane.backendHealth();
    assert.equal(health.ok, false);
    assert.equal(health.backend, 'stub');
    assert.match(health.detail ?? '', /bucket unreachable/);
  });

  it('refuses a backend that staged a different number of bytes than it was fed, and discards them', async function () {
    const discarded: unknown[] = [];
    const staged = { size: 1 };
    const backend = stubBackend({
      stage: async (source) => {
        for await (const chunk of source) void chunk;
        return staged;
      },
      discard: async (handle) => {
        discarded.push(handle);
      },
    });
    await rejectsWithCode(createDataPlane(backend).ingestStream(chunked(patternBytes(10))), 'STORAGE_FAILURE');
    assert.deepEqual(discarded, [staged]);
  });

  it('wraps a read failure during verification as STORAGE_FAILURE', async function () {
    const backend = stubBackend({
      get: async () => ({ stream: Readable.from(failingAfter([patternBytes(10)], new Error('EIO'))), size: 10, range: null }),
    });
    await rejectsWithCode(createDataPlane(backend).verifyObject(addressOf(patternBytes(10)), {}), 'STORAGE_FAILURE');
  });

  it('closes the backend it owns', async function () {
    const backend = stubBackend({});
    await createDataPlane(backend).close();
    assert.equal(backend.closed, 1);
  });
});
