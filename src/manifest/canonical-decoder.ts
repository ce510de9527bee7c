/**
 * @module manifest/canonical-decoder
 * A direct decoder for canonical CBOR (RFC 8949 §4.2.1 core deterministic)
 * of {@link CanonicalValue}s: one pass over the bytes, building the value as
 * it goes, checking every rule of the encoding on the way — definite
 * lengths, shortest heads, text-only map keys in strictly increasing
 * bytewise order of their encodings, well-formed UTF-8, safe integers, no
 * floats, byte strings, tags or simple values other than false/true/null,
 * bounded nesting and no trailing bytes.
 *
 * It decodes what projectors read: every payload of the log on replay and
 * verify, each new one on the live path. cborg's generic decoder builds a
 * token per item (and, for strict text, a copy of every string's bytes) and
 * cost ~7 µs per payload there (ADR 0035).
 */
import { RegistryError } from '../errors/index.js';
import { MAX_NESTING_DEPTH, type CanonicalMap, type CanonicalValue } from './canonical-value.js';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strings up to this many ASCII bytes are built with `String.fromCharCode`, past it with `latin1` decoding. */
const SHORT_ASCII = 8;

/**
 * Decodes `bytes`, which must be exactly one canonical data item.
 * @throws RegistryError `CBOR_INVALID` (with `extra.offset`) at the first
 *   byte that breaks a rule.
 */
export function decodeCanonicalDirect(bytes: Uint8Array): CanonicalValue {
  const reader = new Reader(bytes);
  if (bytes.length === 0) throw reader.fail('empty input: no data item');
  const value = reader.item(0);
  if (reader.pos !== bytes.length) throw reader.fail(`${bytes.length - reader.pos} trailing byte(s) after the data item`);
  return value;
}

class Reader {
  pos = 0;
  private latin1: Buffer | undefined;

  constructor(private readonly bytes: Uint8Array) {}

  fail(message: string, offset = this.pos): RegistryError {
    return new RegistryError('CBOR_INVALID', message, { offset });
  }

  /** Decodes the item at `pos`; `depth` is the number of containers around it. */
  item(depth: number): CanonicalValue {
    const start = this.pos;
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.simple(info, start);
    const argument = this.argument(info, start);
    switch (major) {
      case 0:
        return argument;
      case 1:
        // -1 - n must stay ≥ MIN_SAFE_INTEGER = -(2^53 - 1).
        if (argument > Number.MAX_SAFE_INTEGER - 1) throw this.fail('integer outside the safe integer range', start);
        return -1 - argument;
      case 3:
        return this.text(argument);
      case 4: {
        if (depth >= MAX_NESTING_DEPTH) throw this.fail(`nesting deeper than ${MAX_NESTING_DEPTH}`, start);
        const array: CanonicalValue[] = [];
        for (let index = 0; index < argument; index += 1) array.push(this.item(depth + 1));
        return array;
      }
      case 5:
        if (depth >= MAX_NESTING_DEPTH) throw this.fail(`nesting deeper than ${MAX_NESTING_DEPTH}`, start);
        return this.map(argument, depth + 1);
      case 2:
        throw this.fail('byte strings are not allowed', start);
      default:
        throw this.fail('tags are not allowed', start);
    }
  }

  private byte(): number {
    if (this.pos >= this.bytes.length) throw this.fail('unexpected end of input');
    return this.bytes[this.pos++]!;
  }

  /** The head's argument (a count, a length or an integer), in its shortest form. */
  private argument(info: number, start: number): number {
    if (info < 24) return info;
    let value: number;
    let smallest: number;
    switch (info) {
      case 24:
        value = this.byte();
        smallest = 24;
        break;
      case 25:
        value = this.uint(2);
        smallest = 0x100;
        break;
      case 26:
        value = this.uint(4);
        smallest = 0x10000;
        break;
      case 27: {
        const high = this.uint(4);
        const low = this.uint(4);
        // Above 2^53 - 1 a double cannot hold it exactly.
        if (high > 0x1fffff) throw this.fail('integer or length outside the safe integer range', start);
        value = high * 0x100000000 + low;
        smallest = 0x100000000;
        break;
      }
      case 31:
        throw this.fail('indefinite lengths are not allowed', start);
      default:
        throw this.fail(`reserved additional information ${info}`, start);
    }
    if (value < smallest) throw this.fail('head not in its shortest form', start);
    return value;
  }

  private uint(size: number): number {
    if (this.pos + size > this.bytes.length) throw this.fail('unexpected end of input');
    let value = 0;
    for (let index = 0; index < size; index += 1) value = value * 256 + this.bytes[this.pos++]!;
    return value;
  }

  private simple(info: number, start: number): CanonicalValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        throw this.fail('undefined is not allowed', start);
      case 25:
      case 26:
      case 27:
        throw this.fail('floating-point numbers are not allowed', start);
      case 31:
        throw this.fail('unexpected break', start);
      default:
        throw this.fail('simple values other than false, true and null are not allowed', start);
    }
  }

  private text(length: number): string {
    const start = this.pos;
    const end = start + length;
    if (end > this.bytes.length) throw this.fail('unexpected end of input inside a text string');
    const bytes = this.bytes;
    let ascii = true;
    for (let index = start; index < end; index += 1) {
      if (bytes[index]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    this.pos = end;
    if (!ascii) {
      try {
        return STRICT_UTF8.decode(bytes.subarray(start, end));
      } catch {
        throw this.fail('text string is not valid UTF-8', start);
      }
    }
    if (length <= SHORT_ASCII) {
      let text = '';
      for (let index = start; index < end; index += 1) text += String.fromCharCode(bytes[index]!);
      return text;
    }
    this.latin1 ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.latin1.toString('latin1', start, end);
  }

  private map(count: number, depth: number): CanonicalMap {
    const map: CanonicalMap = {};
    let previousStart = -1;
    let previousEnd = -1;
    for (let index = 0; index < count; index += 1) {
      const keyStart = this.pos;
      const initial = this.byte();
      if (initial >> 5 !== 3) throw this.fail('map keys must be text strings', keyStart);
      const key = this.text(this.argument(initial & 0x1f, keyStart));
      if (previousStart !== -1 && !this.ascending(previousStart, previousEnd, keyStart, this.pos)) {
        throw this.fail('map keys not in canonical order (bytewise by their encoding, each once)', keyStart);
      }
      previousStart = keyStart;
      previousEnd = this.pos;
      const value = this.item(depth);
      // An own "__proto__" key is data, not the prototype.
      if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      else map[key] = value;
    }
    return map;
  }

  /** Whether bytes [bStart, bEnd) sort strictly after [aStart, aEnd). */
  private ascending(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    const bytes = this.bytes;
    const shared = Math.min(aEnd - aStart, bEnd - bStart);
    for (let index = 0; index < shared; index += 1) {
      const difference = bytes[bStart + index]! - bytes[aStart + index]!;
      if (difference !== 0) return difference > 0;
    }
    return bEnd - bStart > aEnd - aStart;
  }
}
