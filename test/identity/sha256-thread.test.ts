import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { DualDigestHasher } from '../../src/identity/index.js';
import { OP, REQUEST_WORDS, WORD } from '../../src/identity/sha256-protocol.js';
import { OffloadedSha256, SLOTS, SLOT_BYTES, stopSha256Thread } from '../../src/identity/sha256-thread.js';
import { SHA256_WORKER_SOURCE } from '../../src/identity/sha256-worker.js';

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const blake3Hex = (bytes: Uint8Array): string => Buffer.from(nobleBlake3(bytes)).toString('hex');

/** Splits `bytes` into chunks of pseudo-random sizes up to `largest`, from a fixed seed. */
function chunked(bytes: Uint8Array, largest: number, seed: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let state = seed;
  for (let at = 0; at < bytes.byteLength; ) {
    state = (state * 1103515245 + 12345) >>> 0;
    const size = 1 + (state % largest);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('identity/sha256-thread', () => {
  it('the worker source uses the control word indexes and request encoding of the protocol', () => {
    const declared = /const HASHED = (\d+), ANSWERED = (\d+), FAILED = (\d+), REQUESTED = (\d+), TAKEN = (\d+), SLEEPING = (\d+);/.exec(SHA256_WORKER_SOURCE);
    assert.ok(declared, 'the worker declares its word indexes');
    assert.deepEqual(declared.slice(1).map(Number), [WORD.hashed, WORD.answered, WORD.failed, WORD.requested, WORD.taken, WORD.sleeping]);
    const ops = /const UPDATE = (\d+), DIGEST = (\d+), DROP = (\d+), REQUEST_WORDS = (\d+);/.exec(SHA256_WORKER_SOURCE);
    assert.ok(ops, 'the worker declares its op codes');
    assert.deepEqual(ops.slice(1).map(Number), [OP.update, OP.digest, OP.drop, REQUEST_WORDS]);
  });

  it('hashes a stream of whole slots like node:crypto', () => {
    const bytes = randomBytes(3 * SLOT_BYTES);
    const sha = new OffloadedSha256();
    for (let at = 0; at < bytes.byteLength; at += SLOT_BYTES) sha.update(bytes.subarray(at, at + SLOT_BYTES));
    assert.equal(sha.digest().toString('hex'), sha256Hex(bytes));
  });

  it('keeps many interleaved streams apart, more than the ring holds, whatever their sizes', () => {
    const sizes = [0, 1, SLOT_BYTES - 1, SLOT_BYTES, SLOT_BYTES + 1, 2 * SLOT_BYTES, 3 * SLOT_BYTES + 7, 5 * SLOT_BYTES - 3];
    const streams = Array.from({ length: 3 * SLOTS }, (_, index) => {
      const bytes = randomBytes(sizes[index % sizes.length]!);
      return { bytes, chunks: chunked(bytes, index % 2 === 0 ? 64 * 1024 : 3 * SLOT_BYTES, index + 1), next: 0, hasher: new DualDigestHasher() };
    });
    // Round-robin, one chunk per stream per turn, so every slot in the ring belongs to a different stream.
    for (let busy = true; busy; ) {
      busy = false;
      for (const stream of streams) {
        const chunk = stream.chunks[stream.next];
        if (chunk === undefined) continue;
        stream.hasher.update(chunk);
        stream.next += 1;
        busy = true;
      }
    }
    for (const stream of streams) {
      assert.deepEqual(stream.hasher.digest(), { blake3: blake3Hex(stream.bytes), sha256: sha256Hex(stream.bytes), size: stream.bytes.byteLength });
    }
  });

  it('gives the same digests when the hasher is flushed between chunks', () => {
    const bytes = randomBytes(2 * SLOT_BYTES + 12345);
    const flushed = new DualDigestHasher();
    flushed.flush(); // nothing gathered yet: nothing to hand over
    for (const chunk of chunked(bytes, 100_000, 7)) flushed.update(chunk).flush();
    assert.deepEqual(flushed.digest(), { blake3: blake3Hex(bytes), sha256: sha256Hex(bytes), size: bytes.byteLength });
  });

  it('hashes a small stream that was flushed (and so left this thread) correctly', () => {
    const bytes = randomBytes(1000);
    const hasher = new DualDigestHasher().update(bytes).flush();
    assert.deepEqual(hasher.digest(), { blake3: blake3Hex(bytes), sha256: sha256Hex(bytes), size: 1000 });
  });

  it('fails the streams of a stopped thread, and starts a new thread for the next stream', async () => {
    const interrupted = new DualDigestHasher().update(randomBytes(2 * SLOT_BYTES));
    await stopSha256Thread();
    assert.throws(() => interrupted.update(randomBytes(SLOT_BYTES)), /SHA-256 thread was stopped/);
    const bytes = randomBytes(3 * SLOT_BYTES + 5);
    assert.equal(new DualDigestHasher().update(bytes).digest().sha256, sha256Hex(bytes));
  });

  it('is not disturbed by streams abandoned before their digest', () => {
    for (let index = 0; index < 4; index += 1) new DualDigestHasher().update(randomBytes(2 * SLOT_BYTES + 1));
    const bytes = randomBytes(4 * SLOT_BYTES + 1);
    assert.equal(new DualDigestHasher().update(bytes).digest().sha256, sha256Hex(bytes));
  });
});
