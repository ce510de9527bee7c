/** Shared helpers for the OCI tests: digests, descriptors, manifest bytes, error assertions. */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { isRegistryError, type ErrorCode, type RegistryError } from '../../src/errors/index.js';
import type { Violation } from '../../src/oci/index.js';

/** `sha256:<hex>` of `content`. */
export function sha256(content: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** `sha512:<hex>` of `content`. */
export function sha512(content: string | Uint8Array): string {
  return `sha512:${createHash('sha512').update(content).digest('hex')}`;
}

/** A valid descriptor of `content` with `mediaType`. */
export function descriptorOf(mediaType: string, content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mediaType, digest: sha256(content), size: Buffer.byteLength(content), ...extra };
}

/** UTF-8 JSON bytes of `value`. */
export function bytesOf(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Asserts that `run` throws a RegistryError with `code` whose message matches `pattern`; returns it. */
export function throwsCode(run: () => unknown, code: ErrorCode, pattern?: RegExp): RegistryError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a ${code} RegistryError, nothing was thrown`);
  assert.ok(isRegistryError(caught, code), `expected a ${code} RegistryError, got ${String(caught)}`);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

/** The `extra.violations` of a MANIFEST_INVALID error. */
export function violationsOf(error: RegistryError): Violation[] {
  const violations = error.extra?.violations;
  assert.ok(Array.isArray(violations), 'error carries extra.violations');
  return violations as Violation[];
}
