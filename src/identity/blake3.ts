/**
 * @module identity/blake3
 * The native BLAKE3 binding, and nothing else. We depend on the native addon
 * directly (not on the `blake3` meta-package) because that package silently
 * falls back to a WASM build four times slower when the addon fails to
 * compile; importing the addon itself makes such a machine fail loudly at
 * start instead. See docs/adr/0008.
 */
import { createRequire } from 'node:module';

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

function loadNative(): NativeBlake3 {
  const require = createRequire(import.meta.url);
  try {
    return require('@c4312/blake3-native') as NativeBlake3;
  } catch (error) {
    throw new Error(
      'the native BLAKE3 addon (@c4312/blake3-native) failed to load; reinstall with a C toolchain available (npm ci builds it with node-gyp)',
      { cause: error },
    );
  }
}

const native = loadNative();

/** A new incremental native BLAKE3 hasher (32-byte output). */
export function createHash(): NativeHasher {
  return native.createHash();
}

/** BLAKE3-256 of `bytes` as a 32-byte buffer. */
export function blake3(bytes: Uint8Array): Buffer {
  return native.hash(bytes);
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
  const empty = blake3Hex(new Uint8Array(0));
  if (empty !== 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262') {
    throw new Error(`native BLAKE3 self-test failed: empty input hashed to ${empty}`);
  }
}
