/** Assertion helpers shared by the manifest tests. */
import { strict as assert } from 'node:assert';
import { isRegistryError, type ErrorCode, type RegistryError } from '../../src/errors/index.js';

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

/** Asserts that `run` throws a RegistryError with `code` (and a message matching `pattern`); returns it. */
export function throwsRegistryError(run: () => unknown, code: ErrorCode, pattern?: RegExp): RegistryError {
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
