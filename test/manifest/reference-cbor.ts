/**
 * An independent, deliberately naive RFC 8949 §4.2.1 encoder for the
 * canonical value model, written from the RFC (not from cborg), used as an
 * oracle: the production encoder must produce exactly these bytes.
 */

function head(major: number, length: number): Buffer {
  const type = major << 5;
  if (length < 24) return Buffer.from([type | length]);
  if (length < 0x100) return Buffer.from([type | 24, length]);
  if (length < 0x10000) {
    const out = Buffer.alloc(3);
    out[0] = type | 25;
    out.writeUInt16BE(length, 1);
    return out;
  }
  if (length < 0x100000000) {
    const out = Buffer.alloc(5);
    out[0] = type | 26;
    out.writeUInt32BE(length, 1);
    return out;
  }
  const out = Buffer.alloc(9);
  out[0] = type | 27;
  out.writeBigUInt64BE(BigInt(length), 1);
  return out;
}

/** Canonical CBOR of a canonical value (strings, safe integers, booleans, null, arrays, string-keyed objects). */
export function referenceEncode(value: unknown): Buffer {
  if (value === null) return Buffer.from([0xf6]);
  if (value === false) return Buffer.from([0xf4]);
  if (value === true) return Buffer.from([0xf5]);
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const utf8 = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, utf8.length), utf8]);
  }
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(referenceEncode)]);
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .map((key) => [referenceEncode(key), referenceEncode((value as Record<string, unknown>)[key])] as const)
      .sort((a, b) => Buffer.compare(a[0], b[0]));
    return Buffer.concat([head(5, entries.length), ...entries.flat()]);
  }
  throw new Error(`reference encoder: unsupported ${typeof value}`);
}
