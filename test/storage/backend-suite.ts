/**
 * The storage backend contract as a test suite. Every backend runs it
 * unchanged: `runBackendSuite('s3', openS3ForTests)`. The factory is called
 * once per test and must hand back an empty backend. The staged-upload part
 * of the contract lives in `upload-suite.ts` and runs from here.
 */
import { strict as assert } from 'node:assert';
import { writeBody, type ByteRange, type StorageBackend } from '../../src/storage/index.js';
import { DualDigestHasher, EMPTY_DIGESTS, dualDigestOfStream } from '../../src/identity/index.js';
import { addressOf, chunked, collect, failingAfter, patternBytes, rejectsWithCode, SlowSink, throwsWithCode, toArray } from './support.js';
import { describeUploadContract } from './upload-suite.js';

/** What a backend factory hands the suite. */
export interface BackendUnderTest {
  backend: StorageBackend;
  /** Removes everything the backend stored (temp dirs, buckets prefixes). */
  cleanup(): Promise<void>;
  /**
   * Opens another instance over the same storage, as a second process would
   * (the suite closes it). Used to prove uploads continue across replicas.
   */
  openAnother(): Promise<StorageBackend>;
}

const EMPTY_ADDRESS = `blake3:${EMPTY_DIGESTS.blake3}`;
const SOME_HEX = 'ab'.repeat(32);

/** Addresses every backend must refuse before touching storage. */
export const MALFORMED_ADDRESSES: readonly string[] = [
  '',
  SOME_HEX,
  `sha256:${SOME_HEX}`,
  `blake3:${SOME_HEX.toUpperCase()}`,
  `blake3:${SOME_HEX.slice(0, 62)}`,
  `blake3:${SOME_HEX}0`,
  `blake3/${SOME_HEX}`,
  ` blake3:${SOME_HEX}`,
  `blake3:${SOME_HEX}\n`,
  `blake3:${SOME_HEX.slice(0, 60)}/../`,
  'blake3:../../../../../../../../../../../../../../../../../../etc/passwd',
  `blake3:${SOME_HEX.slice(0, 63)}\0`,
];

/**
 * Registers the shared contract tests for one backend kind.
 * @param name Shown in the suite title.
 * @param factory Opens a fresh, empty backend for each test.
 */
export function runBackendSuite(name: string, factory: () => Promise<BackendUnderTest>): void {
  describe(`storage backend contract: ${name}`, function () {
    let subject: BackendUnderTest;
    let backend: StorageBackend;
    let cleanup: () => Promise<void>;

    beforeEach(async function () {
      subject = await factory();
      ({ backend, cleanup } = subject);
    });

    afterEach(async function () {
      await backend.close();
      await cleanup();
    });

    async function store(bytes: Uint8Array, sizes?: number[]): Promise<{ address: string; key: string; created: boolean }> {
      const address = addressOf(bytes);
      const staged = await backend.stage(chunked(bytes, sizes));
      const outcome = await backend.put(staged, address);
      return { address, ...outcome };
    }

    async function read(address: string, range?: ByteRange): Promise<Buffer> {
      const { stream } = await backend.get(address, range);
      return collect(stream);
    }

    async function assertNothingStored(): Promise<void> {
      assert.deepEqual(await toArray(backend.list()), [], 'no object is published');
      assert.equal(await backend.removeStaleStaging(), 0, 'nothing is left in staging');
    }

    describe('keys', function () {
      it('derives blake3/<hex[0:2]>/<hex[2:4]>/<hex> from the primary digest', function () {
        const hex = '0123456789abcdef'.repeat(4);
        assert.equal(backend.keyFor(`blake3:${hex}`), `blake3/01/23/${hex}`);
      });

      it('refuses sha256 and malformed addresses in keyFor', function () {
        for (const address of MALFORMED_ADDRESSES) throwsWithCode(() => backend.keyFor(address), 'CONTENT_ADDRESS_INVALID');
      });

      it('refuses malformed addresses in get, head, delete and put, storing nothing', async function () {
        const staged = await backend.stage(chunked(patternBytes(10)));
        for (const address of MALFORMED_ADDRESSES) {
          await rejectsWithCode(backend.get(address), 'CONTENT_ADDRESS_INVALID');
          await rejectsWithCode(backend.head(address), 'CONTENT_ADDRESS_INVALID');
          await rejectsWithCode(backend.delete(address), 'CONTENT_ADDRESS_INVALID');
        }
        await rejectsWithCode(backend.put(staged, `sha256:${SOME_HEX}`), 'CONTENT_ADDRESS_INVALID');
        await assertNothingStored();
      });
    });

    describe('round trip', function () {
      it('stages, publishes and reads back the same bytes', async function () {
        const bytes = patternBytes(100_000, 7);
        const { address, key, created } = await store(bytes, [1, 4096, 33333]);
        assert.equal(created, true);
        assert.equal(key, backend.keyFor(address));
        const got = await backend.get(address);
        assert.equal(got.size, bytes.length);
        assert.equal(got.range, null);
        assert.deepEqual(await collect(got.stream), bytes);
        assert.deepEqual(await backend.head(address), { size: bytes.length });
      });

      it('reports the staged size before publishing', async function () {
        const staged = await backend.stage(chunked(patternBytes(12_345), [1000]));
        assert.equal(staged.size, 12_345);
        await backend.discard(staged);
      });

      it('stores and serves the empty object', async function () {
        const staged = await backend.stage(chunked(new Uint8Array(0)));
        assert.equal(staged.size, 0);
        const outcome = await backend.put(staged, EMPTY_ADDRESS);
        assert.equal(outcome.created, true);
        assert.deepEqual(await backend.head(EMPTY_ADDRESS), { size: 0 });
        const got = await backend.get(EMPTY_ADDRESS);
        assert.equal(got.size, 0);
        assert.equal((await collect(got.stream)).length, 0);
        await rejectsWithCode(backend.get(EMPTY_ADDRESS, { start: 0, end: 0 }), 'RANGE_NOT_SATISFIABLE');
      });

      it('treats a re-put of existing content as a no-op', async function () {
        const bytes = patternBytes(5000, 3);
        const first = await store(bytes);
        const second = await store(bytes, [17]);
        assert.equal(first.created, true);
        assert.equal(second.created, false);
        assert.equal(second.key, first.key);
        assert.deepEqual(await read(first.address), bytes);
        assert.deepEqual(await toArray(backend.list()), [first.address]);
        assert.equal(await backend.removeStaleStaging(), 0, 'the redundant staged copy was dropped');
      });

      it('round-trips a 16 MiB streamed object with matching digests', async function () {
        this.timeout(120_000);
        const total = 16 * 1024 * 1024;
        // Chunks are generated on the fly so the object never sits in memory
        // whole; the sizes straddle the write stream's buffer in both directions.
        async function* source(hasher: DualDigestHasher): AsyncGenerator<Uint8Array> {
          const sizes = [1 << 20, 65_536, 7, 5_000_003];
          let sent = 0;
          for (let i = 0; sent < total; i++) {
            const size = Math.min(sizes[i % sizes.length] as number, total - sent);
            const chunk = patternBytes(size, i + 1);
            hasher.update(chunk);
            sent += size;
            yield chunk;
          }
        }
        // The address is only known after hashing, so hash in a first pass.
        const first = new DualDigestHasher();
        for await (const chunk of source(first)) void chunk;
        const expected = first.digest();
        assert.equal(expected.size, total);
        const second = new DualDigestHasher();
        const staged = await backend.stage(source(second));
        assert.equal(staged.size, total);
        assert.deepEqual(second.digest(), expected, 'the source replayed the same bytes');
        const address = `blake3:${expected.blake3}`;
        assert.equal((await backend.put(staged, address)).created, true);
        const got = await backend.get(address);
        assert.equal(got.size, total);
        assert.deepEqual(await dualDigestOfStream(got.stream), expected);
      });
    });

    describe('ranges', function () {
      const bytes = patternBytes(1000, 11);
      let address: string;

      beforeEach(async function () {
        ({ address } = await store(bytes));
      });

      it('serves the first byte', async function () {
        const got = await backend.get(address, { start: 0, end: 0 });
        assert.deepEqual(got.range, { start: 0, end: 0 });
        assert.equal(got.size, 1000);
        assert.deepEqual(await collect(got.stream), bytes.subarray(0, 1));
      });

      it('serves the last byte', async function () {
        assert.deepEqual(await read(address, { start: 999, end: 999 }), bytes.subarray(999));
      });

      it('serves a middle slice with both ends inclusive', async function () {
        assert.deepEqual(await read(address, { start: 100, end: 199 }), bytes.subarray(100, 200));
      });

      it('serves the whole object as a range', async function () {
        assert.deepEqual(await read(address, { start: 0, end: 999 }), bytes);
      });

      it('clamps an end past the size to the last byte', async function () {
        const got = await backend.get(address, { start: 990, end: 5000 });
        assert.deepEqual(got.range, { start: 990, end: 999 });
        assert.deepEqual(await collect(got.stream), bytes.subarray(990));
      });

      it('refuses a start at or beyond the size', async function () {
        await rejectsWithCode(backend.get(address, { start: 1000, end: 1000 }), 'RANGE_NOT_SATISFIABLE');
        await rejectsWithCode(backend.get(address, { start: 5000, end: 6000 }), 'RANGE_NOT_SATISFIABLE');
      });

      it('refuses a start after the end', async function () {
        await rejectsWithCode(backend.get(address, { start: 10, end: 9 }), 'RANGE_NOT_SATISFIABLE');
      });

      it('refuses negative and fractional bounds', async function () {
        await rejectsWithCode(backend.get(address, { start: -1, end: 10 }), 'RANGE_NOT_SATISFIABLE');
        await rejectsWithCode(backend.get(address, { start: 0.5, end: 10 }), 'RANGE_NOT_SATISFIABLE');
        await rejectsWithCode(backend.get(address, { start: 0, end: Number.NaN }), 'RANGE_NOT_SATISFIABLE');
      });
    });

    describe('large reads (with the expected-size hint)', function () {
      // Above the size at which a backend may read differently (the S3
      // backend's own socket on a plain-HTTP store, ADR 0033); the body and
      // ranges must not change with the way of reading.
      const bytes = patternBytes(6 * 1024 * 1024 + 4_321, 23);
      const hints = { expectedSize: bytes.length };
      let address: string;

      beforeEach(async function () {
        this.timeout(60_000);
        ({ address } = await store(bytes, [1 << 20]));
      });

      it('serves the whole object and ranges with the same bytes, read as a stream', async function () {
        const whole = await backend.get(address, undefined, hints);
        assert.equal(whole.size, bytes.length);
        assert.equal(whole.range, null);
        assert.ok((await collect(whole.stream)).equals(bytes));
        const middle = await backend.get(address, { start: 1_000_001, end: 5_500_000 }, hints);
        assert.deepEqual(middle.range, { start: 1_000_001, end: 5_500_000 });
        assert.equal(middle.size, bytes.length);
        assert.ok((await collect(middle.stream)).equals(bytes.subarray(1_000_001, 5_500_001)));
        const clamped = await backend.get(address, { start: bytes.length - 10, end: bytes.length + 1_000 }, hints);
        assert.deepEqual(clamped.range, { start: bytes.length - 10, end: bytes.length - 1 });
        assert.ok((await collect(clamped.stream)).equals(bytes.subarray(bytes.length - 10)));
      });

      it('writes the same bytes into a slow writable through writeBody, whole and by range', async function () {
        for (const range of [undefined, { start: 3, end: 4_999_999 }]) {
          const { stream } = await backend.get(address, range, hints);
          const sink = new SlowSink();
          await writeBody(stream, sink);
          const expected = range === undefined ? bytes : bytes.subarray(range.start, range.end + 1);
          assert.ok(Buffer.concat(sink.chunks).equals(expected), `bytes of ${JSON.stringify(range ?? 'the whole object')}`);
        }
      });

      it('refuses missing objects and unsatisfiable ranges as without the hint', async function () {
        await rejectsWithCode(backend.get(addressOf(patternBytes(10, 98)), undefined, hints), 'OBJECT_NOT_FOUND');
        await rejectsWithCode(backend.get(address, { start: bytes.length, end: bytes.length + 5 }, hints), 'RANGE_NOT_SATISFIABLE');
      });

      it('reads exactly what is stored when the hint is wrong', async function () {
        const small = patternBytes(1_000, 24);
        const { address: smallAddress } = await store(small);
        const got = await backend.get(smallAddress, undefined, { expectedSize: bytes.length });
        assert.equal(got.size, small.length);
        assert.ok((await collect(got.stream)).equals(small));
      });
    });

    describe('missing objects and deletion', function () {
      const absent = addressOf(patternBytes(10, 99));

      it('get of a missing object is OBJECT_NOT_FOUND', async function () {
        await rejectsWithCode(backend.get(absent), 'OBJECT_NOT_FOUND');
        await rejectsWithCode(backend.get(absent, { start: 0, end: 0 }), 'OBJECT_NOT_FOUND');
      });

      it('head of a missing object is null', async function () {
        assert.equal(await backend.head(absent), null);
      });

      it('delete of a missing object is false', async function () {
        assert.equal(await backend.delete(absent), false);
      });

      it('delete removes a stored object exactly once', async function () {
        const { address } = await store(patternBytes(300, 5));
        assert.equal(await backend.delete(address), true);
        assert.equal(await backend.head(address), null);
        await rejectsWithCode(backend.get(address), 'OBJECT_NOT_FOUND');
        assert.equal(await backend.delete(address), false);
        assert.deepEqual(await toArray(backend.list()), []);
      });

      it('stores an object again after it was deleted', async function () {
        const bytes = patternBytes(300, 6);
        const { address } = await store(bytes);
        await backend.delete(address);
        const again = await store(bytes);
        assert.equal(again.created, true);
        assert.deepEqual(await read(address), bytes);
      });
    });

    describe('listing', function () {
      it('lists nothing when empty', async function () {
        assert.deepEqual(await toArray(backend.list()), []);
      });

      it('lists every stored address once, ascending', async function () {
        const addresses: string[] = [];
        for (let seed = 1; seed <= 6; seed++) addresses.push((await store(patternBytes(64 * seed, seed))).address);
        await store(patternBytes(64, 1));
        assert.deepEqual(await toArray(backend.list()), [...addresses].sort());
      });
    });

    describe('staging', function () {
      it('discard leaves nothing, and a second discard is harmless', async function () {
        const staged = await backend.stage(chunked(patternBytes(4096)));
        await backend.discard(staged);
        await backend.discard(staged);
        await assertNothingStored();
      });

      it('refuses to put a handle twice or after discard', async function () {
        const bytes = patternBytes(100, 2);
        const staged = await backend.stage(chunked(bytes));
        await backend.put(staged, addressOf(bytes));
        await rejectsWithCode(backend.put(staged, addressOf(bytes)), 'INTERNAL');
        const dropped = await backend.stage(chunked(bytes));
        await backend.discard(dropped);
        await rejectsWithCode(backend.put(dropped, addressOf(bytes)), 'INTERNAL');
      });

      it('refuses a handle it did not create', async function () {
        await rejectsWithCode(backend.put({ size: 0 }, EMPTY_ADDRESS), 'INTERNAL');
        assert.equal(await backend.head(EMPTY_ADDRESS), null);
      });

      it('a failing source rejects with its own error and leaves nothing', async function () {
        const boom = new Error('client went away');
        await assert.rejects(backend.stage(failingAfter([patternBytes(70_000), patternBytes(10)], boom)), (error) => error === boom);
        await assertNothingStored();
      });

      it('a source failing before its first chunk leaves nothing', async function () {
        const boom = new Error('nothing to send');
        await assert.rejects(backend.stage(failingAfter([], boom)), (error) => error === boom);
        await assertNothingStored();
      });

      it('an abort mid-stream rejects and leaves nothing', async function () {
        const controller = new AbortController();
        async function* source(): AsyncGenerator<Uint8Array> {
          yield patternBytes(100_000, 1);
          controller.abort();
          for (let i = 0; i < 100; i++) yield patternBytes(100_000, i + 2);
        }
        await assert.rejects(backend.stage(source(), controller.signal), { name: 'AbortError' });
        await assertNothingStored();
      });

      it('an already aborted signal rejects before reading the source', async function () {
        const controller = new AbortController();
        controller.abort();
        let pulled = false;
        async function* source(): AsyncGenerator<Uint8Array> {
          pulled = true;
          yield patternBytes(10);
        }
        await assert.rejects(backend.stage(source(), controller.signal), { name: 'AbortError' });
        assert.equal(pulled, false);
        await assertNothingStored();
      });

      it('removeStaleStaging removes abandoned staged objects and counts them', async function () {
        await backend.stage(chunked(patternBytes(10, 1)));
        await backend.stage(chunked(patternBytes(10, 2)));
        assert.equal(await backend.removeStaleStaging(), 2);
        await assertNothingStored();
      });

      it('removeStaleStaging leaves published objects alone', async function () {
        const bytes = patternBytes(2048, 4);
        const { address } = await store(bytes);
        assert.equal(await backend.removeStaleStaging(), 0);
        assert.deepEqual(await read(address), bytes);
      });
    });

    describe('concurrency', function () {
      it('concurrent puts of identical content store one object', async function () {
        const bytes = patternBytes(300_000, 21);
        const address = addressOf(bytes);
        const staged = await Promise.all(Array.from({ length: 6 }, () => backend.stage(chunked(bytes, [50_000]))));
        const outcomes = await Promise.all(staged.map((handle) => backend.put(handle, address)));
        assert.ok(outcomes.some((outcome) => outcome.created), 'at least one put created the object');
        assert.ok(outcomes.every((outcome) => outcome.key === backend.keyFor(address)));
        assert.deepEqual(await toArray(backend.list()), [address]);
        assert.deepEqual(await read(address), bytes);
        assert.equal(await backend.removeStaleStaging(), 0);
      });

      it('concurrent stages of different content all publish', async function () {
        const inputs = Array.from({ length: 8 }, (_, i) => patternBytes(10_000 + i, 100 + i));
        const results = await Promise.all(inputs.map((bytes) => store(bytes, [999])));
        assert.ok(results.every((result) => result.created));
        for (const [i, bytes] of inputs.entries()) assert.deepEqual(await read(results[i]!.address), bytes);
      });
    });

    describeUploadContract(() => subject);

    describe('health', function () {
      it('reports ok with its id and consistent capacity figures', async function () {
        const health = await backend.health();
        assert.equal(health.ok, true, health.detail);
        assert.equal(health.backend, backend.id);
        if (health.freeBytes !== null) assert.ok(Number.isSafeInteger(health.freeBytes) && health.freeBytes >= 0);
        if (health.totalBytes !== null) assert.ok(Number.isSafeInteger(health.totalBytes) && health.totalBytes > 0);
        if (health.freeBytes !== null && health.totalBytes !== null) assert.ok(health.freeBytes <= health.totalBytes);
      });
    });
  });
}
