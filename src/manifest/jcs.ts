/**
 * @module manifest/jcs
 * The JSON projection of canonical values: RFC 8785 JSON Canonicalization
 * Scheme (JCS). Restricted to {@link CanonicalValue} (integers only), JCS and
 * canonical CBOR are two spellings of the same value, so converting either
 * way and back reproduces the input exactly.
 */
import { RegistryError } from '../errors/index.js';
import { decodeCanonical, encodeCanonical } from './canonical-cbor.js';
import { canonicalViolations, type CanonicalValue } from './canonical-value.js';
import { childPointer, describePointer } from './pointer.js';

/**
 * Serialises `value` as RFC 8785 JCS: no whitespace, object keys sorted by
 * UTF-16 code units, strings escaped as ECMAScript `JSON.stringify` does,
 * integers in plain decimal.
 * @throws RegistryError `JSON_INVALID` (with `extra.pointer`) when `value` is
 *   not a {@link CanonicalValue}.
 */
export function toJcs(value: CanonicalValue): string {
  const [violation] = canonicalViolations(value, { limit: 1 });
  if (violation !== undefined) {
    throw new RegistryError('JSON_INVALID', `${violation.message} at ${describePointer(violation.pointer)}`, { pointer: violation.pointer });
  }
  return serialize(value);
}

function serialize(value: CanonicalValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      // For well-formed strings, JSON.stringify is exactly RFC 8785 §3.2.2.2.
      return JSON.stringify(value);
    case 'number':
      // Safe integers print without exponent or fraction (< 1e21).
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  // Array#sort's default comparison is by UTF-16 code units, as RFC 8785 §3.2.3 requires.
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${serialize(value[key] as CanonicalValue)}`).join(',')}}`;
}

/**
 * Parses `text`, which must be exactly the JCS form of a
 * {@link CanonicalValue}: valid JSON, no duplicate keys, integers only (no
 * fraction, exponent or `-0`; within ±(2^53 − 1)), and byte-for-byte equal
 * to {@link toJcs} of the result (so no whitespace, sorted keys, canonical
 * escapes).
 * @throws RegistryError `JSON_INVALID`.
 */
export function fromJcs(text: string): CanonicalValue {
  if (typeof text !== 'string') {
    throw new RegistryError('JSON_INVALID', `expected a string, got ${text === null ? 'null' : typeof text}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof RangeError ? 'nesting too deep to parse' : `not valid JSON: ${(error as Error).message}`;
    throw new RegistryError('JSON_INVALID', detail, undefined, { cause: error });
  }
  // JSON.parse keeps the last of duplicate keys silently; name the
  // duplicate rather than only reporting a mismatch below.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new RegistryError('JSON_INVALID', `duplicate key at ${describePointer(duplicate)}`, { pointer: duplicate });
  }
  const [violation] = canonicalViolations(parsed, { limit: 1 });
  if (violation !== undefined) {
    throw new RegistryError('JSON_INVALID', `${violation.message} at ${describePointer(violation.pointer)}`, { pointer: violation.pointer });
  }
  const canonical = serialize(parsed as CanonicalValue);
  if (canonical !== text) {
    const offset = firstDifference(canonical, text);
    throw new RegistryError('JSON_INVALID', `not in RFC 8785 canonical form: differs from the canonical serialisation at character ${offset}`, { offset });
  }
  return parsed as CanonicalValue;
}

/** Converts canonical CBOR to JCS. @throws RegistryError `CBOR_INVALID`. */
export function cborToJcs(bytes: Uint8Array): string {
  return serialize(decodeCanonical(bytes));
}

/** Converts JCS to canonical CBOR. @throws RegistryError `JSON_INVALID`. */
export function jcsToCbor(text: string): Uint8Array {
  return encodeCanonical(fromJcs(text));
}

type Frame = { readonly keys: Set<string>; key: string; expectingKey: boolean } | { index: number };

/**
 * Pointer to the first repeated key of any object in `text`, or undefined.
 * `text` must already be valid JSON: this scanner only tracks strings,
 * brackets and commas.
 */
function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at];
    if (char === '"') {
      const end = endOfString(text, at);
      const top = stack[stack.length - 1];
      if (top !== undefined && 'keys' in top && top.expectingKey) {
        const key = JSON.parse(text.slice(at, end)) as string;
        if (top.keys.has(key)) return childPointer(pointerOf(stack.slice(0, -1)), key);
        top.keys.add(key);
        top.key = key;
        top.expectingKey = false;
      }
      at = end;
      continue;
    }
    if (char === '{') stack.push({ keys: new Set(), key: '', expectingKey: true });
    else if (char === '[') stack.push({ index: 0 });
    else if (char === '}' || char === ']') stack.pop();
    else if (char === ',') {
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        if ('keys' in top) top.expectingKey = true;
        else top.index += 1;
      }
    }
    at += 1;
  }
  return undefined;
}

/** Index just past the closing quote of the string literal opening at `start`. */
function endOfString(text: string, start: number): number {
  let at = start + 1;
  while (at < text.length) {
    const char = text[at];
    if (char === '\\') at += 2;
    else if (char === '"') return at + 1;
    else at += 1;
  }
  return at;
}

function pointerOf(frames: readonly Frame[]): string {
  return frames.reduce<string>((pointer, frame) => childPointer(pointer, 'keys' in frame ? frame.key : frame.index), '');
}

function firstDifference(a: string, b: string): number {
  const shared = Math.min(a.length, b.length);
  for (let index = 0; index < shared; index += 1) {
    if (a.charCodeAt(index) !== b.charCodeAt(index)) return index;
  }
  return shared;
}
