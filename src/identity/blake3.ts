/**
 * @module identity/blake3
 * The native BLAKE3 binding, and nothing else. We depend on the native addon
 * directly (not on the `blake3` meta-package) because that package silently
 * falls back to a WASM build four times slower when the addon fails to
 * compile; importing the addon itself makes such a machine fail loudly at
 * start instead. See docs/adr/0008.
 *
 * Small inputs (event payloads, manifests) are the exception: creating a
 * native hasher costs ~8 µs of N-API object set-up, far more than hashing a
 * few hundred bytes, so inputs up to {@link SMALL_INPUT_BYTES} go through
 * one reused WebAssembly hasher (hash-wasm), ~0.5 µs each. See docs/adr/0025.
 */
import { createRequire } from 'node:module';
import { createBLAKE3 } from 'hash-wasm';

interface NativeHasher {
  update(data: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
  digest(): Buffer;
  dispose(): void;
}

interface NativeBlake3 {
  createHash(): NativeHasher;
  hash(input: Uint8Array): Buffer;
}

/** The addon's own class (`build/Release/blake3.node`), under the package's JS wrapper. */
interface RawHash {
  update(data: Uint8Array): unknown;
  digest(length?: number): Buffer;
}

interface RawBlake3 {
  createHash(): RawHash;
}

const require = createRequire(import.meta.url);

function loadNative(): NativeBlake3 {
  try {
    return require('@c4312/blake3-native') as NativeBlake3;
  } catch (error) {
    throw new Error(
      'the native BLAKE3 addon (@c4312/blake3-native) failed to load; reinstall with a C toolchain available (npm ci builds it with node-gyp)',
      { cause: error },
    );
  }
}

/**
 * The compiled addon itself. The package wraps each hasher in a
 * `stream.Transform`, whose construction costs far more than hashing an
 * event payload; the addon's own hasher does not. Undefined when the build
 * lives elsewhere, and then the package's wrapper is used.
 */
function loadRaw(): RawBlake3 | undefined {
  try {
    return require('@c4312/blake3-native/build/Release/blake3.node') as RawBlake3;
  } catch {
    return undefined;
  }
}

const native = loadNative();
const raw = loadRaw();

/** The addon's hasher behind the {@link NativeHasher} surface. */
class RawHasher implements NativeHasher {
  constructor(private readonly hash: RawHash) {}

  update(data: Uint8Array): this {
    this.hash.update(data);
    return this;
  }

  digest(encoding: 'hex'): string;
  digest(): Buffer;
  digest(encoding?: 'hex'): string | Buffer {
    const out = this.hash.digest();
    return encoding ? out.toString(encoding) : out;
  }

  dispose(): void {
    // the addon frees its state with the object
  }
}

/** A new incremental native BLAKE3 hasher (32-byte output). */
export function createHash(): NativeHasher {
  return raw ? new RawHasher(raw.createHash()) : native.createHash();
}

/**
 * Up to this many bytes, the reused WASM hasher beats a new native one
 * (fixed ~10 µs vs ~1.2 µs per KiB more; measured crossover ~9 KiB).
 */
export const SMALL_INPUT_BYTES = 8 * 1024;

// One instance for the process: init/update/digest run synchronously back to
// back, so calls can never interleave on it.
const small = await createBLAKE3();

/** BLAKE3-256 of `bytes` as a 32-byte buffer. */
export function blake3(bytes: Uint8Array): Buffer {
  if (bytes.byteLength <= SMALL_INPUT_BYTES) {
    small.init();
    small.update(bytes);
    const out = small.digest('binary');
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
  return nativeBlake3(bytes);
}

function nativeBlake3(bytes: Uint8Array): Buffer {
  if (!raw) return native.hash(bytes);
  const hash = raw.createHash();
  hash.update(bytes);
  return hash.digest();
}

/** Hex BLAKE3-256 of `bytes`. */
export function blake3Hex(bytes: Uint8Array): string {
  return blake3(bytes).toString('hex');
}

/**
 * Throws unless the native addon is loaded and computes the known digest of
 * the empty input. Called at startup by every entry point.
 */
export function assertNativeBlake3(): void {
  const expected = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';
  const empty = nativeBlake3(new Uint8Array(0)).toString('hex');
  if (empty !== expected) {
    throw new Error(`native BLAKE3 self-test failed: empty input hashed to ${empty}`);
  }
  const emptySmall = blake3Hex(new Uint8Array(0));
  if (emptySmall !== expected) {
    throw new Error(`small-input BLAKE3 self-test failed: empty input hashed to ${emptySmall}`);
  }
}
