/**
 * @module manifest/canonical-value
 * The value model shared by canonical CBOR and its JCS projection: text,
 * safe integers, booleans, null, arrays and string-keyed maps. Anything else
 * (floats, bigint, bytes, undefined, class instances…) is refused rather than
 * coerced, because both encodings must round-trip every value losslessly and
 * map onto each other one to one.
 */
import { childPointer } from './pointer.js';

/** A value that encodes identically as canonical CBOR and as JCS. */
export type CanonicalValue = string | number | boolean | null | CanonicalValue[] | CanonicalMap;

/** A string-keyed map of canonical values. */
export type CanonicalMap = { [key: string]: CanonicalValue };

/** One refused value: where it is (RFC 6901 pointer) and why. */
export interface Violation {
  readonly pointer: string;
  readonly message: string;
}

/**
 * Deepest container nesting accepted, counting the outermost array or map as
 * 1. A fixed bound makes refusal deterministic instead of depending on the
 * remaining call stack, and is far above anything a manifest needs.
 */
export const MAX_NESTING_DEPTH = 256;

/** Where a walk starts: the pointer and container depth of `value` inside a larger document. */
export interface WalkOrigin {
  /** Pointer of the value being checked; default `''` (the root). */
  readonly pointer?: string;
  /** Number of containers enclosing the value; default 0. */
  readonly depth?: number;
  /** Stop after this many violations; default unlimited. */
  readonly limit?: number;
}

// With the `u` flag a surrogate pair is one code point, so this only matches
// unpaired halves, which have no UTF-8 encoding (TextEncoder would silently
// turn them into U+FFFD and break the round trip).
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when `text` is well-formed UTF-16 (no unpaired surrogate), i.e. it
 * survives a UTF-8 round trip unchanged.
 */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * True for a plain data object: prototype `Object.prototype` or `null`. Arrays,
 * class instances, Dates, Maps, typed arrays and boxed primitives are not.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Lists the places where `value` is not a {@link CanonicalValue} (empty when
 * it is one). Walks depth-first in key order, so the first violation is
 * stable for a given input.
 */
export function canonicalViolations(value: unknown, origin: WalkOrigin = {}): Violation[] {
  const found: Violation[] = [];
  const limit = origin.limit ?? Number.POSITIVE_INFINITY;
  const ancestors = new Set<object>();

  const report = (pointer: string, message: string): void => {
    found.push({ pointer, message });
  };

  const walk = (node: unknown, pointer: string, depth: number): void => {
    if (found.length >= limit) return;
    const problem = scalarProblem(node);
    if (problem !== undefined) {
      if (problem !== '') report(pointer, problem);
      return;
    }
    const container = node as object;
    if (depth + 1 > MAX_NESTING_DEPTH) {
      report(pointer, `nesting deeper than ${MAX_NESTING_DEPTH} arrays/maps`);
      return;
    }
    if (ancestors.has(container)) {
      report(pointer, 'circular reference');
      return;
    }
    ancestors.add(container);
    if (Array.isArray(container)) walkArray(container, pointer, depth + 1);
    else walkMap(container as Record<string, unknown>, pointer, depth + 1);
    ancestors.delete(container);
  };

  const walkArray = (array: unknown[], pointer: string, depth: number): void => {
    if (Object.getPrototypeOf(array) !== Array.prototype) {
      report(pointer, 'array subclasses are not allowed (plain arrays only)');
      return;
    }
    // Holes would encode as `undefined` and extra named properties would be
    // dropped silently; both mean the value is not what will be stored.
    if (Object.keys(array).length !== array.length) {
      report(pointer, 'array has holes or non-index properties');
      return;
    }
    for (let index = 0; index < array.length; index += 1) {
      walk(array[index], childPointer(pointer, index), depth);
    }
  };

  const walkMap = (map: Record<string, unknown>, pointer: string, depth: number): void => {
    for (const key of Reflect.ownKeys(map)) {
      if (typeof key === 'symbol') {
        report(pointer, `symbol-keyed property ${String(key)} is not allowed`);
        continue;
      }
      const at = childPointer(pointer, key);
      const descriptor = Object.getOwnPropertyDescriptor(map, key);
      // Accessors could return a different value to the encoder than to this
      // check; hidden properties would be skipped by the encoder.
      if (descriptor === undefined || !('value' in descriptor)) {
        report(at, 'accessor properties are not allowed');
        continue;
      }
      if (!descriptor.enumerable) {
        report(at, 'non-enumerable properties are not allowed');
        continue;
      }
      if (!isWellFormedText(key)) {
        report(at, 'map key contains an unpaired UTF-16 surrogate');
        continue;
      }
      walk(descriptor.value, at, depth);
    }
  };

  walk(value, origin.pointer ?? '', origin.depth ?? 0);
  return found;
}

/**
 * For a scalar: `''` when acceptable, otherwise why not. For an acceptable
 * container (plain array or plain object): `undefined`, meaning "descend".
 */
function scalarProblem(node: unknown): string | undefined {
  switch (typeof node) {
    case 'string':
      return isWellFormedText(node) ? '' : 'text contains an unpaired UTF-16 surrogate (not encodable as UTF-8)';
    case 'boolean':
      return '';
    case 'number':
      return numberProblem(node);
    case 'bigint':
      return 'bigint is not allowed (use a safe integer or a decimal string)';
    case 'undefined':
      return 'undefined is not allowed';
    case 'symbol':
      return 'symbols are not allowed';
    case 'function':
      return 'functions are not allowed';
    default:
      break;
  }
  if (node === null) return '';
  if (Array.isArray(node)) return undefined;
  if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer) return 'byte strings are not allowed (encode bytes as text)';
  if (isPlainObject(node)) return undefined;
  const name = (node as { constructor?: { name?: unknown } }).constructor?.name;
  return `${typeof name === 'string' && name !== '' ? name : 'non-plain'} objects are not allowed (plain objects only)`;
}

function numberProblem(value: number): string {
  if (Number.isNaN(value)) return 'NaN is not allowed';
  if (!Number.isFinite(value)) return 'Infinity is not allowed';
  if (!Number.isInteger(value)) return `floating-point number ${value} is not allowed (integers only)`;
  // -0 would silently become 0 in both encodings, so it cannot round-trip.
  if (Object.is(value, -0)) return 'negative zero is not allowed';
  if (!Number.isSafeInteger(value)) return `integer ${value} is outside the safe range ±(2^53 − 1)`;
  return '';
}
