/**
 * Helpers shared by the storage and data-plane tests: deterministic bytes,
 * chunked sources, stream collection, a slow writable and error assertions.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ErrorCode } from '../../src/errors/index.js';
import { isRegistryError } from '../../src/errors/index.js';
import { KeyedInFlight } from '../../src/storage/index.js';
import { latch, type Latch } from '../support/latch.js';

/** `length` pseudo-random bytes, the same for the same `seed` (xorshift32). */
export function patternBytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}

/** Yields `bytes` in chunks of the given sizes, cycling through them. */
export async function* chunked(bytes: Uint8Array, sizes: number[] = [65536]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let turn = 0;
  while (offset < bytes.length) {
    const size = sizes[turn++ % sizes.length] as number;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** Yields each given chunk, then throws `error`. */
export async function* failingAfter(chunks: Uint8Array[], error: Error): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
  throw error;
}

/** Reads a stream to the end into one buffer. */
export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Independent reference digests: node:crypto SHA-256 and the pure-JS noble BLAKE3. */
export function referenceDigests(bytes: Uint8Array): { blake3: string; sha256: string } {
  return {
    blake3: bytesToHex(nobleBlake3(bytes)),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** `blake3:<hex>` of `bytes`, computed by the reference implementation. */
export function addressOf(bytes: Uint8Array): string {
  return `blake3:${referenceDigests(bytes).blake3}`;
}

/** Asserts that `promise` rejects with a RegistryError of `code`, and returns it. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isRegistryError(error), `expected a RegistryError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** Asserts that `run` throws a RegistryError of `code` synchronously. */
export function throwsWithCode(run: () => unknown, code: ErrorCode): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isRegistryError(error), `expected a RegistryError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** Drains an async iterable into an array. */
export async function toArray<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * A source that yields `first`, opens `reached`, waits for `resume`, then
 * yields `rest`: an upload caught midway, for tests that order steps.
 */
export async function* pausedAfter(first: Uint8Array, rest: Uint8Array, reached: Latch, resume: Latch): AsyncGenerator<Uint8Array> {
  yield first;
  reached.open();
  await resume.opened;
  yield rest;
}

/**
 * Opens the returned latch when anything asks `KeyedInFlight` to wait for
 * `key`'s work in flight: lets a test hold that work and learn, without a
 * timer, that the waiter is blocked on it. Call `restore` when done.
 */
export function watchWaitsFor(key: string): { waited: Latch; restore(): void } {
  const waited = latch();
  const original = KeyedInFlight.prototype.settled;
  KeyedInFlight.prototype.settled = function (this: KeyedInFlight, asked: string) {
    if (asked === key) waited.open();
    return original.call(this, asked);
  };
  return { waited, restore: () => void (KeyedInFlight.prototype.settled = original) };
}

/** A writable that keeps copies of what it gets, notes the buffers behind them, and calls back on a later turn, as a slow socket does. */
export class SlowSink extends Writable {
  readonly chunks: Buffer[] = [];
  readonly backingBuffers = new Set<ArrayBufferLike>();
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.backingBuffers.add(chunk.buffer);
    this.chunks.push(Buffer.from(chunk));
    setImmediate(callback);
  }
}
