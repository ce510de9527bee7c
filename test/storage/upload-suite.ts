/**
 * The staged-upload half of the storage backend contract, registered by
 * `runBackendSuite` for every backend. Ids are fresh lowercase UUIDs, as the
 * registry generates them.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isRegistryError } from '../../src/errors/index.js';
import { EMPTY_DIGESTS, dualDigestOfStream } from '../../src/identity/index.js';
import type { StorageBackend } from '../../src/storage/index.js';
import type { BackendUnderTest } from './backend-suite.js';
import { addressOf, chunked, collect, failingAfter, patternBytes, referenceDigests, rejectsWithCode, toArray } from './support.js';

/** Ids every backend must refuse before touching storage. */
export const MALFORMED_UPLOAD_IDS: readonly string[] = [
  '',
  'upload-1',
  '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5',
  '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b6',
  '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B',
  '{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}',
  '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b',
  '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g',
  ' 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\n',
  '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5\0',
  '.',
  '..',
  '../0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/../x',
  '../../../../../../../../etc/passwd',
  '..\\..\\windows',
];

/** Expects an `UPLOAD_OFFSET_MISMATCH` (416) that reports `size` as the current size. */
async function rejectsWithOffsetMismatch(promise: Promise<unknown>, size: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isRegistryError(error, 'UPLOAD_OFFSET_MISMATCH'), `expected UPLOAD_OFFSET_MISMATCH, got ${String(error)}`);
    assert.equal(error.status, 416);
    assert.equal(error.extra?.['size'], size);
    return true;
  });
}

/** A source that records whether anything pulled from it. */
function watchedSource(bytes: Uint8Array): { source: AsyncIterable<Uint8Array>; pulled: () => boolean } {
  let pulled = false;
  async function* source(): AsyncGenerator<Uint8Array> {
    pulled = true;
    yield bytes;
  }
  return { source: source(), pulled: () => pulled };
}

/**
 * Registers the upload tests. `subject` returns the backend under test of the
 * running test (set by the enclosing suite's `beforeEach`).
 */
export function describeUploadContract(subject: () => BackendUnderTest): void {
  describe('staged uploads', function () {
    let backend: StorageBackend;

    beforeEach(function () {
      ({ backend } = subject());
    });

    /** Appends `bytes` to `id` from `offset` in appends of `appendSizes`, each sent in chunks of `chunkSizes`. */
    async function appendAll(id: string, bytes: Uint8Array, appendSizes: number[], chunkSizes?: number[], offset = 0): Promise<number> {
      let size = offset;
      let turn = 0;
      let position = 0;
      while (position < bytes.length) {
        const piece = bytes.subarray(position, position + (appendSizes[turn++ % appendSizes.length] as number));
        const returned = await backend.appendUpload(id, size, chunked(piece, chunkSizes));
        assert.equal(returned, size + piece.length, 'append resolves with the new size');
        size = returned;
        position += piece.length;
      }
      return size;
    }

    async function staged(id: string): Promise<Buffer> {
      return collect(await backend.readUpload(id));
    }

    describe('creating, appending and reading', function () {
      it('creates an empty upload that is listed and reads back as nothing', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        assert.equal(await backend.uploadSize(id), 0);
        assert.equal((await staged(id)).length, 0);
        const listed = await toArray(backend.listUploads());
        assert.deepEqual(
          listed.map(({ id: listedId, size }) => ({ id: listedId, size })),
          [{ id, size: 0 }],
        );
      });

      it('appends at the current size, resolving with the new size, and reads back every byte in order', async function () {
        const id = randomUUID();
        const bytes = patternBytes(200_000, 31);
        await backend.createUpload(id);
        assert.equal(await appendAll(id, bytes, [1, 70_000, 4096, 100_000], [1000, 33_333]), bytes.length);
        assert.equal(await backend.uploadSize(id), bytes.length);
        assert.deepEqual(await staged(id), bytes);
      });

      it('accepts an empty append, which changes nothing', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(patternBytes(10)));
        assert.equal(await backend.appendUpload(id, 10, chunked(new Uint8Array(0))), 10);
        assert.deepEqual(await staged(id), patternBytes(10));
      });

      it('reads the bytes staged when the read was opened', async function () {
        const id = randomUUID();
        const bytes = patternBytes(3000, 32);
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(bytes.subarray(0, 1000)));
        const early = await backend.readUpload(id);
        await backend.appendUpload(id, 1000, chunked(bytes.subarray(1000)));
        assert.deepEqual(await collect(early), bytes.subarray(0, 1000));
        assert.deepEqual(await staged(id), bytes);
      });

      it('refuses to create an upload that exists, keeping its bytes', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(patternBytes(100, 33)));
        await rejectsWithCode(backend.createUpload(id), 'UPLOAD_EXISTS');
        assert.deepEqual(await staged(id), patternBytes(100, 33));
      });

      it('reports unknown uploads: size null, UPLOAD_NOT_FOUND to append, read and publish, false to delete', async function () {
        const id = randomUUID();
        assert.equal(await backend.uploadSize(id), null);
        const { source, pulled } = watchedSource(patternBytes(10));
        await rejectsWithCode(backend.appendUpload(id, 0, source), 'UPLOAD_NOT_FOUND');
        assert.equal(pulled(), false);
        await rejectsWithCode(backend.readUpload(id), 'UPLOAD_NOT_FOUND');
        await rejectsWithCode(backend.publishUpload(id, `blake3:${EMPTY_DIGESTS.blake3}`), 'UPLOAD_NOT_FOUND');
        assert.equal(await backend.deleteUpload(id), false);
        assert.deepEqual(await toArray(backend.listUploads()), []);
        assert.deepEqual(await toArray(backend.list()), []);
      });

      it('round-trips a 9 MiB upload sent in chunks that straddle the write buffer', async function () {
        this.timeout(120_000);
        const id = randomUUID();
        const bytes = patternBytes(9 * 1024 * 1024 + 5, 34);
        await backend.createUpload(id);
        await appendAll(id, bytes, [5 * 1024 * 1024 - 1, 3, 4 * 1024 * 1024], [1 << 20, 7, 5_000_003]);
        const address = addressOf(bytes);
        assert.equal((await backend.publishUpload(id, address)).created, true);
        const got = await backend.get(address);
        assert.equal(got.size, bytes.length);
        const digest = await dualDigestOfStream(got.stream);
        assert.deepEqual({ blake3: digest.blake3, sha256: digest.sha256 }, referenceDigests(bytes));
      });
    });

    describe('offsets', function () {
      it('refuses a chunk that does not start at the current size with UPLOAD_OFFSET_MISMATCH (416) carrying the size, reading nothing', async function () {
        const id = randomUUID();
        const bytes = patternBytes(1000, 35);
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(bytes));
        for (const offset of [0, 999, 1001, 5000]) {
          const { source, pulled } = watchedSource(patternBytes(10, offset));
          await rejectsWithOffsetMismatch(backend.appendUpload(id, offset, source), 1000);
          assert.equal(pulled(), false, `offset ${offset}: the source was not read`);
        }
        assert.deepEqual(await staged(id), bytes, 'the staged bytes are unchanged');
      });

      it('refuses a chunk at a non-zero offset to an empty upload', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await rejectsWithOffsetMismatch(backend.appendUpload(id, 1, chunked(patternBytes(10))), 0);
        assert.equal(await backend.uploadSize(id), 0);
      });

      it('refuses offsets that are not non-negative integers with FIELD_INVALID', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        for (const offset of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '0' as unknown as number]) {
          await rejectsWithCode(backend.appendUpload(id, offset, chunked(patternBytes(10))), 'FIELD_INVALID');
        }
        assert.equal(await backend.uploadSize(id), 0);
      });
    });

    describe('publishing', function () {
      it('publishes the staged bytes under their address, then the upload is gone', async function () {
        const id = randomUUID();
        const bytes = patternBytes(100_000, 36);
        await backend.createUpload(id);
        await appendAll(id, bytes, [30_000]);
        const address = addressOf(bytes);
        const outcome = await backend.publishUpload(id, address);
        assert.deepEqual(outcome, { key: backend.keyFor(address), created: true });
        const got = await backend.get(address);
        assert.equal(got.size, bytes.length);
        assert.deepEqual(await collect(got.stream), bytes);
        assert.equal(await backend.uploadSize(id), null);
        await rejectsWithCode(backend.readUpload(id), 'UPLOAD_NOT_FOUND');
        await rejectsWithCode(backend.appendUpload(id, bytes.length, chunked(patternBytes(1))), 'UPLOAD_NOT_FOUND');
        assert.deepEqual(await toArray(backend.listUploads()), []);
        assert.deepEqual(await toArray(backend.list()), [address]);
        assert.equal(await backend.removeStaleStaging(), 0);
      });

      it('publishes an empty upload as the empty object', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        const address = `blake3:${EMPTY_DIGESTS.blake3}`;
        assert.equal((await backend.publishUpload(id, address)).created, true);
        assert.deepEqual(await backend.head(address), { size: 0 });
        assert.equal((await collect((await backend.get(address)).stream)).length, 0);
        assert.equal(await backend.uploadSize(id), null);
      });

      it('treats publishing content that already exists as a no-op that still ends the upload', async function () {
        const bytes = patternBytes(5000, 37);
        const address = addressOf(bytes);
        await backend.put(await backend.stage(chunked(bytes)), address);
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(bytes, [999]));
        const outcome = await backend.publishUpload(id, address);
        assert.deepEqual(outcome, { key: backend.keyFor(address), created: false });
        assert.deepEqual(await collect((await backend.get(address)).stream), bytes);
        assert.equal(await backend.uploadSize(id), null);
        assert.deepEqual(await toArray(backend.list()), [address]);
      });

      it('refuses malformed addresses, keeping the upload', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(patternBytes(10, 38)));
        for (const address of ['', `sha256:${'ab'.repeat(32)}`, 'blake3:../../etc/passwd', `blake3:${'AB'.repeat(32)}`]) {
          await rejectsWithCode(backend.publishUpload(id, address), 'CONTENT_ADDRESS_INVALID');
        }
        assert.deepEqual(await staged(id), patternBytes(10, 38));
        assert.deepEqual(await toArray(backend.list()), []);
      });
    });

    describe('interrupted appends', function () {
      it('a source failing midway keeps a prefix of what it sent, never touches earlier bytes, and the upload resumes', async function () {
        const id = randomUUID();
        const bytes = patternBytes(200_000, 39);
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(bytes.subarray(0, 1000)));
        const boom = new Error('client went away');
        const sent = [bytes.subarray(1000, 71_000), bytes.subarray(71_000, 71_010), bytes.subarray(71_010, 76_010)];
        await assert.rejects(backend.appendUpload(id, 1000, failingAfter(sent, boom)), (error) => error === boom);
        const size = await backend.uploadSize(id);
        assert.ok(size !== null && size >= 1000 && size <= 76_010, `partial size ${String(size)}`);
        assert.deepEqual(await staged(id), bytes.subarray(0, size), 'what stayed is a prefix, earlier bytes intact');
        await appendAll(id, bytes.subarray(size), [50_000], undefined, size);
        assert.deepEqual(await staged(id), bytes);
        assert.equal((await backend.publishUpload(id, addressOf(bytes))).created, true);
        assert.deepEqual(await collect((await backend.get(addressOf(bytes))).stream), bytes);
      });

      it('a source failing before its first chunk changes nothing', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(patternBytes(10, 40)));
        const boom = new Error('nothing to send');
        await assert.rejects(backend.appendUpload(id, 10, failingAfter([], boom)), (error) => error === boom);
        assert.deepEqual(await staged(id), patternBytes(10, 40));
      });

      it('an abort midway keeps a prefix and leaves the upload usable', async function () {
        const id = randomUUID();
        const bytes = patternBytes(400_000, 41);
        await backend.createUpload(id);
        const controller = new AbortController();
        async function* source(): AsyncGenerator<Uint8Array> {
          yield bytes.subarray(0, 100_000);
          controller.abort();
          yield bytes.subarray(100_000, 200_000);
        }
        await assert.rejects(backend.appendUpload(id, 0, source(), controller.signal), { name: 'AbortError' });
        const size = (await backend.uploadSize(id)) as number;
        assert.ok(size >= 0 && size <= 200_000, `partial size ${size}`);
        assert.deepEqual(await staged(id), bytes.subarray(0, size));
        await appendAll(id, bytes.subarray(size), [150_000], undefined, size);
        assert.deepEqual(await staged(id), bytes);
      });

      it('an already aborted signal rejects before reading the source', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        const controller = new AbortController();
        controller.abort();
        const { source, pulled } = watchedSource(patternBytes(10));
        await assert.rejects(backend.appendUpload(id, 0, source, controller.signal), { name: 'AbortError' });
        assert.equal(pulled(), false);
        assert.equal(await backend.uploadSize(id), 0);
      });
    });

    describe('deleting and listing', function () {
      it('deleteUpload removes an upload once', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(patternBytes(100)));
        assert.equal(await backend.deleteUpload(id), true);
        assert.equal(await backend.uploadSize(id), null);
        assert.equal(await backend.deleteUpload(id), false);
        assert.deepEqual(await toArray(backend.listUploads()), []);
        // The id is free again.
        await backend.createUpload(id);
        assert.equal(await backend.uploadSize(id), 0);
      });

      it('lists every upload with its size and last modification, apart from the objects', async function () {
        const before = Date.now();
        const ids = [randomUUID(), randomUUID(), randomUUID()];
        for (const [i, id] of ids.entries()) {
          await backend.createUpload(id);
          if (i > 0) await backend.appendUpload(id, 0, chunked(patternBytes(100 * i, i)));
        }
        const bytes = patternBytes(64, 42);
        await backend.put(await backend.stage(chunked(bytes)), addressOf(bytes));
        const listed = await toArray(backend.listUploads());
        assert.deepEqual(
          listed.map(({ id, size }) => ({ id, size })).sort((a, b) => a.id.localeCompare(b.id)),
          ids.map((id, i) => ({ id, size: 100 * i })).sort((a, b) => a.id.localeCompare(b.id)),
        );
        for (const { modifiedAt } of listed) {
          assert.ok(modifiedAt instanceof Date);
          // Filesystem and object-store clocks are coarse: allow a few seconds either way.
          assert.ok(Math.abs(modifiedAt.getTime() - before) < 60_000, modifiedAt.toISOString());
        }
        assert.deepEqual(await toArray(backend.list()), [addressOf(bytes)], 'uploads are not objects');
      });

      it('removeStaleStaging leaves uploads alone', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        await backend.appendUpload(id, 0, chunked(patternBytes(500, 43)));
        assert.equal(await backend.removeStaleStaging(), 0);
        assert.deepEqual(await staged(id), patternBytes(500, 43));
      });
    });

    describe('concurrency', function () {
      /** A source that hands its bytes over in 16 KiB pieces, yielding the event loop between them. */
      async function* slowly(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
        for (let position = 0; position < bytes.length; position += 16_384) {
          await nextTurn();
          yield bytes.subarray(position, position + 16_384);
        }
      }

      it('concurrent appends at one offset never interleave: one wins, the others see the size it left', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        const inputs = Array.from({ length: 5 }, (_, i) => patternBytes(128 * 1024, 50 + i));
        const results = await Promise.allSettled(inputs.map((bytes) => backend.appendUpload(id, 0, slowly(bytes))));
        const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
        assert.equal(winners.length, 1, 'exactly one append succeeded');
        const winner = winners[0] as number;
        for (const result of results) {
          if (result.status === 'rejected') {
            assert.ok(isRegistryError(result.reason, 'UPLOAD_OFFSET_MISMATCH'), String(result.reason));
            assert.equal(result.reason.extra?.['size'], 128 * 1024);
          }
        }
        assert.deepEqual(await staged(id), inputs[winner]);
      });

      it('concurrent appends at consecutive offsets all succeed, in call order', async function () {
        const id = randomUUID();
        await backend.createUpload(id);
        const bytes = patternBytes(4 * 100_000, 60);
        const pieces = [0, 1, 2, 3].map((i) => bytes.subarray(i * 100_000, (i + 1) * 100_000));
        const sizes = await Promise.all(pieces.map((piece, i) => backend.appendUpload(id, i * 100_000, slowly(piece))));
        assert.deepEqual(sizes, [100_000, 200_000, 300_000, 400_000]);
        assert.deepEqual(await staged(id), bytes);
      });

      it('appends to different uploads proceed independently', async function () {
        const ids = [randomUUID(), randomUUID(), randomUUID()];
        const inputs = ids.map((_, i) => patternBytes(100_000, 70 + i));
        await Promise.all(ids.map((id) => backend.createUpload(id)));
        await Promise.all(ids.map((id, i) => backend.appendUpload(id, 0, slowly(inputs[i] as Uint8Array))));
        for (const [i, id] of ids.entries()) assert.deepEqual(await staged(id), inputs[i]);
      });
    });

    describe('ids', function () {
      it('refuses malformed ids in every upload method with UPLOAD_ID_INVALID, touching nothing', async function () {
        const address = `blake3:${EMPTY_DIGESTS.blake3}`;
        for (const id of MALFORMED_UPLOAD_IDS) {
          const { source, pulled } = watchedSource(patternBytes(10));
          await rejectsWithCode(backend.createUpload(id), 'UPLOAD_ID_INVALID');
          await rejectsWithCode(backend.appendUpload(id, 0, source), 'UPLOAD_ID_INVALID');
          await rejectsWithCode(backend.uploadSize(id), 'UPLOAD_ID_INVALID');
          await rejectsWithCode(backend.readUpload(id), 'UPLOAD_ID_INVALID');
          await rejectsWithCode(backend.publishUpload(id, address), 'UPLOAD_ID_INVALID');
          await rejectsWithCode(backend.deleteUpload(id), 'UPLOAD_ID_INVALID');
          assert.equal(pulled(), false);
        }
        assert.deepEqual(await toArray(backend.listUploads()), []);
        assert.deepEqual(await toArray(backend.list()), []);
      });

      it('accepts lowercase UUIDs of any version', async function () {
        for (const id of ['00000000-0000-0000-0000-000000000000', '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', randomUUID()]) {
          await backend.createUpload(id);
          assert.equal(await backend.uploadSize(id), 0);
        }
      });
    });

    describe('across instances', function () {
      it('a second instance over the same storage continues, reads and publishes an upload the first started', async function () {
        const other = await subject().openAnother();
        try {
          const id = randomUUID();
          const bytes = patternBytes(300_000, 80);
          await backend.createUpload(id);
          await backend.appendUpload(id, 0, chunked(bytes.subarray(0, 100_000)));
          assert.equal(await other.uploadSize(id), 100_000);
          await rejectsWithCode(other.createUpload(id), 'UPLOAD_EXISTS');
          await rejectsWithOffsetMismatch(other.appendUpload(id, 0, chunked(patternBytes(10))), 100_000);
          assert.equal(await other.appendUpload(id, 100_000, chunked(bytes.subarray(100_000, 200_000))), 200_000);
          assert.equal(await backend.appendUpload(id, 200_000, chunked(bytes.subarray(200_000))), 300_000);
          assert.deepEqual(await collect(await other.readUpload(id)), bytes);
          assert.deepEqual(
            (await toArray(other.listUploads())).map((upload) => upload.id),
            [id],
          );
          const address = addressOf(bytes);
          assert.equal((await other.publishUpload(id, address)).created, true);
          assert.deepEqual(await collect((await backend.get(address)).stream), bytes);
          assert.equal(await backend.uploadSize(id), null);
          assert.deepEqual(await toArray(backend.listUploads()), []);
        } finally {
          await other.close();
        }
      });
    });
  });
}
