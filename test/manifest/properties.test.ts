import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { isRegistryError } from '../../src/errors/index.js';
import { cborToJcs, decodeCanonical, decodeTrustedCanonical, encodeCanonical, fromJcs, jcsToCbor, toJcs, type CanonicalValue } from '../../src/manifest/index.js';
import { hex } from './helpers.js';
import { referenceEncode } from './reference-cbor.js';

// Strings that exercise length-head boundaries, cborg's BOM stripping and
// its short-ASCII fast path, UTF-16 vs UTF-8 order, and pointer escaping.
const SPECIAL_TEXT = ['', 'a', 'aa', 'b', '\u00e9', '\u0000', '\u{1d11e}', '\ue000', '\ue000a', '\ufeff', '\ufeffk', '\ufffd', '__proto__', 'a/b~c', 'x'.repeat(23), 'x'.repeat(24), '\u00e9'.repeat(16)];
const BOUNDARY_INTEGERS = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -24, -25, -256, -257, -65536, -65537, -(2 ** 32), -(2 ** 32) - 1, Number.MIN_SAFE_INTEGER];

const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', minLength: 20, maxLength: 300 }), fc.constantFrom(...SPECIAL_TEXT));
const key = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom(...SPECIAL_TEXT));
const integer = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger(), fc.constantFrom(...BOUNDARY_INTEGERS));

const { value: canonicalValue } = fc.letrec<{ value: CanonicalValue; array: CanonicalValue[]; map: Record<string, CanonicalValue> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, integer, fc.boolean(), fc.constant(null), tie('array'), tie('map')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  // Decoded maps have Object.prototype, and deepStrictEqual compares prototypes.
  map: fc.dictionary(key, tie('value'), { maxKeys: 6, noNullPrototype: true }),
}));

const RUNS = { numRuns: 400 };

/** Random bytes, and canonical encodings with one byte replaced, inserted or deleted. */
const nearlyCanonical = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.tuple(canonicalValue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('replace', 'insert', 'delete')).map(([value, at, byte, how]) => {
    const bytes = [...encodeCanonical(value)];
    const index = at % (bytes.length + 1);
    if (how === 'replace' && index < bytes.length) bytes[index] = byte;
    else if (how === 'insert') bytes.splice(index, 0, byte);
    else bytes.splice(index, 1);
    return new Uint8Array(bytes);
  }),
);

describe('manifest canonical encodings: properties', () => {
  it('decodeCanonical(encodeCanonical(x)) deep-equals x', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        assert.deepStrictEqual(decodeCanonical(encodeCanonical(value)), value);
      }),
      RUNS,
    );
  });

  it('the direct decoder of trusted payloads gives what decodeCanonical gives', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const bytes = encodeCanonical(value);
        assert.deepStrictEqual(decodeTrustedCanonical(bytes), value);
        assert.deepStrictEqual(decodeTrustedCanonical(bytes), decodeCanonical(bytes));
      }),
      RUNS,
    );
  });

  it('the direct decoder accepts and refuses exactly what decodeCanonical does, with the same values', () => {
    const outcome = (decode: (bytes: Uint8Array) => CanonicalValue, bytes: Uint8Array): { value: CanonicalValue } | { refused: true } => {
      try {
        return { value: decode(bytes) };
      } catch (error) {
        assert.ok(isRegistryError(error, 'CBOR_INVALID'), `unexpected error ${String(error)}`);
        return { refused: true };
      }
    };
    fc.assert(
      fc.property(nearlyCanonical, (bytes) => {
        assert.deepStrictEqual(outcome(decodeTrustedCanonical, bytes), outcome(decodeCanonical, bytes), hex(bytes));
      }),
      { numRuns: 4000 },
    );
  });

  it('encodeCanonical(decodeCanonical(encodeCanonical(x))) is byte-identical', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const bytes = encodeCanonical(value);
        assert.equal(hex(encodeCanonical(decodeCanonical(bytes))), hex(bytes));
      }),
      RUNS,
    );
  });

  it('matches an independent RFC 8949 §4.2.1 reference encoder', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        assert.equal(hex(encodeCanonical(value)), hex(referenceEncode(value)));
      }),
      RUNS,
    );
  });

  it('does not depend on property insertion order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, canonicalValue), { selector: ([k]) => k, maxLength: 8 }), fc.infiniteStream(fc.nat()), (entries, seeds) => {
        const shuffled = entries.map((entry) => ({ entry, rank: seeds.next().value as number })).sort((a, b) => a.rank - b.rank).map(({ entry }) => entry);
        const build = (list: typeof entries): Record<string, CanonicalValue> => {
          const out: Record<string, CanonicalValue> = {};
          for (const [k, v] of list) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
          return out;
        };
        assert.equal(hex(encodeCanonical(build(shuffled))), hex(encodeCanonical(build(entries))));
      }),
      RUNS,
    );
  });

  it('fromJcs(toJcs(x)) deep-equals x, and toJcs agrees with JSON.parse', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const jcs = toJcs(value);
        assert.deepStrictEqual(fromJcs(jcs), value);
        assert.deepStrictEqual(JSON.parse(jcs), value);
      }),
      RUNS,
    );
  });

  it('CBOR -> JCS -> CBOR and JCS -> CBOR -> JCS are identities', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const bytes = encodeCanonical(value);
        const jcs = cborToJcs(bytes);
        assert.equal(hex(jcsToCbor(jcs)), hex(bytes));
        assert.equal(cborToJcs(jcsToCbor(jcs)), jcs);
      }),
      RUNS,
    );
  });

  it('any byte string decodeCanonical accepts is exactly the encoding of what it returns', () => {
    fc.assert(
      fc.property(nearlyCanonical, (bytes) => {
        let decoded: CanonicalValue;
        try {
          decoded = decodeCanonical(bytes);
        } catch (error) {
          assert.ok(isRegistryError(error, 'CBOR_INVALID'), `unexpected error ${String(error)}`);
          return;
        }
        assert.equal(hex(encodeCanonical(decoded)), hex(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('any text fromJcs accepts is exactly the JCS of what it returns', () => {
    const variants = fc.oneof(
      fc.json(),
      canonicalValue.map((value) => JSON.stringify(value, null, 1)),
      fc.tuple(canonicalValue, fc.nat(), fc.constantFrom(' ', '1', '.5', 'e1', ',"a":0', '"', '\\u0041')).map(([value, at, insert]) => {
        const jcs = toJcs(value);
        const index = at % (jcs.length + 1);
        return jcs.slice(0, index) + insert + jcs.slice(index);
      }),
    );
    fc.assert(
      fc.property(variants, (candidate) => {
        let parsed: CanonicalValue;
        try {
          parsed = fromJcs(candidate);
        } catch (error) {
          assert.ok(isRegistryError(error, 'JSON_INVALID'), `unexpected error ${String(error)}`);
          return;
        }
        assert.equal(toJcs(parsed), candidate);
      }),
      { numRuns: 1000 },
    );
  });
});
