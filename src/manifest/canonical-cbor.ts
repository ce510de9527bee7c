/**
 * @module manifest/canonical-cbor
 * Deterministic CBOR (RFC 8949 §4.2.1 core deterministic encoding) for
 * {@link CanonicalValue}s: definite lengths, shortest integer and length
 * heads, map keys sorted bytewise by their encoding. The decoder accepts only
 * bytes this encoder would have produced, so one value has exactly one byte
 * form and its BLAKE3 can serve as an identity.
 */
import { decodeFirst, encode, rfc8949EncodeOptions, Tokenizer, Type, type DecodeOptions, type Token } from 'cborg';
import { RegistryError } from '../errors/index.js';
import { canonicalViolations, type CanonicalValue } from './canonical-value.js';
import { decodeCanonicalDirect } from './canonical-decoder.js';
import { describePointer } from './pointer.js';

const BASE_DECODE_OPTIONS: DecodeOptions = {
  // Shortest-form integers and length heads.
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: false,
  // Only string keys: cborg refuses any other key type into plain objects.
  useMaps: false,
  // Needed by StrictTextTokenizer to re-read text strings from their bytes.
  retainStringBytes: true,
  // No `tags` option: cborg then refuses every tag.
};

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const CBOR_ERROR_PREFIX = /^CBOR decode error:\s*/;

/**
 * Wraps cborg's tokenizer to fix its text decoding, which uses a lenient
 * `TextDecoder`: invalid UTF-8 becomes U+FFFD and a leading U+FEFF is
 * stripped as if it were a byte-order mark. The first would hide malformed
 * input behind a generic "not canonical" error; the second makes a valid
 * canonical string such as "\uFEFFx" decode as "x" (and two distinct keys
 * collide). Only tokens showing one of those two symptoms are re-read.
 */
class StrictTextTokenizer {
  readonly #inner: Tokenizer;

  constructor(bytes: Uint8Array, options: DecodeOptions) {
    this.#inner = new Tokenizer(bytes, options);
  }

  done(): boolean {
    return this.#inner.done();
  }

  pos(): number {
    return this.#inner.pos();
  }

  next(): Token {
    const token = this.#inner.next();
    const raw = token.byteValue;
    if (raw !== undefined && Type.equals(token.type, Type.string) && (startsWithBom(raw) || (token.value as string).includes('\uFFFD'))) {
      try {
        token.value = STRICT_UTF8.decode(raw);
      } catch (error) {
        throw new RegistryError('CBOR_INVALID', `text string at byte offset ${this.#inner.pos() - raw.length} is not valid UTF-8`, undefined, { cause: error });
      }
    }
    return token;
  }
}

function startsWithBom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/**
 * Encodes `value` as canonical CBOR (RFC 8949 §4.2.1). The result is a plain
 * Uint8Array that owns its whole ArrayBuffer.
 * @throws RegistryError `CBOR_INVALID` (with `extra.pointer`) when `value` is
 *   not a {@link CanonicalValue}: floats, NaN/±Infinity, -0, integers beyond
 *   ±(2^53 − 1), bigint, undefined, byte arrays, Dates, Maps, functions,
 *   symbols, class instances, sparse arrays, accessors, unpaired surrogates,
 *   cycles, or nesting deeper than MAX_NESTING_DEPTH.
 */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  const [violation] = canonicalViolations(value, { limit: 1 });
  if (violation !== undefined) {
    throw new RegistryError('CBOR_INVALID', `${violation.message} at ${describePointer(violation.pointer)}`, { pointer: violation.pointer });
  }
  return encodeChecked(value);
}

/** Encodes a value already known to be canonical. */
function encodeChecked(value: CanonicalValue): Uint8Array {
  try {
    const bytes = encode(value, rfc8949EncodeOptions);
    // cborg may hand back a Buffer viewing a shared pool slab; callers that
    // reach for `.buffer` (drivers, hashing, workers) must not see the rest
    // of the slab, and a plain Uint8Array compares equal across sources.
    const exact = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return exact && Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes);
  } catch (error) {
    throw new RegistryError('CBOR_INVALID', `cannot encode: ${messageOf(error)}`, undefined, { cause: error });
  }
}

/**
 * Decodes one canonical CBOR data item that makes up the whole of `bytes`.
 * Accepts exactly the outputs of {@link encodeCanonical}: refuses trailing
 * bytes, indefinite lengths, non-shortest integers or lengths, floats (even
 * float-encoded integers such as 1.0), tags, undefined and other simple
 * values, byte strings, non-text or duplicate map keys, unsorted keys,
 * invalid UTF-8 and integers beyond ±(2^53 − 1).
 * @throws RegistryError `CBOR_INVALID`.
 */
export function decodeCanonical(bytes: Uint8Array): CanonicalValue {
  if (!(bytes instanceof Uint8Array)) {
    throw new RegistryError('CBOR_INVALID', `expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  }
  // A plain view: Buffer#slice shares memory where cborg expects a copy.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = decodeItem(view);

  // cborg's strict mode does not see floats that hold integers, key order,
  // or byte strings; the value check and the re-encoding below do.
  const [violation] = canonicalViolations(value, { limit: 1 });
  if (violation !== undefined) {
    throw new RegistryError('CBOR_INVALID', `${violation.message} at ${describePointer(violation.pointer)}`, { pointer: violation.pointer });
  }
  const canonical = encodeChecked(value as CanonicalValue);
  const offset = firstDifference(view, canonical);
  if (offset !== -1) {
    throw new RegistryError(
      'CBOR_INVALID',
      `not in canonical form (RFC 8949 §4.2.1: sorted map keys, shortest forms, no floats): differs from the canonical encoding at byte offset ${offset}`,
      { offset },
    );
  }
  return value as CanonicalValue;
}

/**
 * Decodes bytes already known to be canonical — an event payload whose
 * BLAKE3 digest was just checked, written by {@link encodeCanonical} — in one
 * direct pass ({@link decodeCanonicalDirect}) instead of through cborg and a
 * re-encoding, which cost several times as much on replay's hot path. It
 * checks the same rules all the same, so bytes that are not canonical are
 * still refused.
 * @throws RegistryError `CBOR_INVALID` when the bytes are not one canonical data item.
 */
export function decodeTrustedCanonical(bytes: Uint8Array): CanonicalValue {
  return decodeCanonicalDirect(bytes);
}

function decodeItem(view: Uint8Array): unknown {
  const options: DecodeOptions = { ...BASE_DECODE_OPTIONS };
  options.tokenizer = new StrictTextTokenizer(view, options);
  let decoded: [unknown, Uint8Array];
  try {
    decoded = decodeFirst(view, options);
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    const detail = error instanceof RangeError ? 'nesting too deep to decode' : messageOf(error).replace(CBOR_ERROR_PREFIX, '');
    throw new RegistryError('CBOR_INVALID', detail, undefined, { cause: error });
  }
  const [value, rest] = decoded;
  if (rest.length > 0) {
    throw new RegistryError('CBOR_INVALID', `${rest.length} trailing byte(s) after the data item`, { offset: view.length - rest.length });
  }
  return value;
}

/** Index of the first differing byte, or -1 when `a` and `b` are identical. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const shared = Math.min(a.length, b.length);
  for (let index = 0; index < shared; index += 1) {
    if (a[index] !== b[index]) return index;
  }
  return a.length === b.length ? -1 : shared;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
