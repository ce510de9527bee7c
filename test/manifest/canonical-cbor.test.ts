import { strict as assert } from 'node:assert';
import { encode, rfc8949EncodeOptions } from 'cborg';
import { decodeCanonical, decodeTrustedCanonical, encodeCanonical, MAX_NESTING_DEPTH, type CanonicalValue } from '../../src/manifest/index.js';
import { fromHex, hex, throwsRegistryError } from './helpers.js';
import { referenceEncode } from './reference-cbor.js';

function nest(depth: number): CanonicalValue {
  let value: CanonicalValue = 0;
  for (let level = 0; level < depth; level += 1) value = [value];
  return value;
}

describe('manifest/canonical-cbor', () => {
  describe('golden encodings (RFC 8949 Appendix A and head-size boundaries)', () => {
    const cases: Array<[CanonicalValue, string]> = [
      [0, '00'],
      [1, '01'],
      [10, '0a'],
      [23, '17'],
      [24, '1818'],
      [25, '1819'],
      [100, '1864'],
      [255, '18ff'],
      [256, '190100'],
      [1000, '1903e8'],
      [65535, '19ffff'],
      [65536, '1a00010000'],
      [1000000, '1a000f4240'],
      [4294967295, '1affffffff'],
      [4294967296, '1b0000000100000000'],
      [1000000000000, '1b000000e8d4a51000'],
      [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
      [-1, '20'],
      [-10, '29'],
      [-24, '37'],
      [-25, '3818'],
      [-100, '3863'],
      [-256, '38ff'],
      [-257, '390100'],
      [-1000, '3903e7'],
      [Number.MIN_SAFE_INTEGER, '3b001ffffffffffffe'],
      [false, 'f4'],
      [true, 'f5'],
      [null, 'f6'],
      ['', '60'],
      ['a', '6161'],
      ['IETF', '6449455446'],
      ['"\\', '62225c'],
      ['\u00fc', '62c3bc'],
      ['\u6c34', '63e6b0b4'],
      ['\u{10151}', '64f0908591'],
      ['x'.repeat(24), `7818${'78'.repeat(24)}`],
      [[], '80'],
      [[1, 2, 3], '83010203'],
      [[1, [2, 3], [4, 5]], '8301820203820405'],
      [{}, 'a0'],
      [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
      [['a', { b: 'c' }], '826161a161626163'],
    ];
    for (const [value, expected] of cases) {
      it(`${JSON.stringify(value).slice(0, 40)} -> ${expected.slice(0, 40)}`, () => {
        assert.equal(hex(encodeCanonical(value)), expected);
        assert.deepStrictEqual(decodeCanonical(fromHex(expected)), value);
        assert.deepStrictEqual(decodeTrustedCanonical(fromHex(expected)), value);
      });
    }
  });

  describe('map key order', () => {
    it('sorts string keys bytewise by their encoding, not by UTF-16 or insertion order', () => {
      // Inserted in reverse of the expected order. "\ue000a" and "𝄞" have the
      // same encoded length but compare differently in UTF-8 (ee < f0) and
      // UTF-16 (d834 < e000); "\u0000" sorts before "a" at the same length.
      const value: CanonicalValue = {};
      for (const [key, index] of [['\u{1d11e}', 8], ['\ue000a', 7], ['\ue000', 6], ['\u00e9', 5], ['aa', 4], ['b', 3], ['a', 2], ['\u0000', 1], ['', 0]] as const) {
        value[key] = index;
      }
      const expected = 'a9' + '6000' + '610001' + '616102' + '616203' + '62616104' + '62c3a905' + '63ee808006' + '64ee80806107' + '64f09d849e08';
      assert.equal(hex(encodeCanonical(value)), expected);
      assert.deepStrictEqual(Object.keys(decodeCanonical(fromHex(expected)) as object).sort(), Object.keys(value).sort());
      assert.deepStrictEqual(decodeTrustedCanonical(fromHex(expected)), decodeCanonical(fromHex(expected)));
    });

    it('sorts keys whose JS property order differs (integer-like keys come first in JS)', () => {
      const value = { b: 1, '10': 2, '9': 3, a: 4 };
      // "9" (6139) < "a" (6161) < "b" (6162) < "10" (623130)
      assert.equal(hex(encodeCanonical(value)), 'a4' + '613903' + '616104' + '616201' + '62313002');
    });

    it('the cborg options used order the RFC 8949 §4.2.1 example keys 10, 100, -1, "z", "aa", false bytewise', () => {
      // CanonicalValue maps only have text keys, so this pins the library
      // setting itself. ([100] and [-1] are omitted: cborg's RFC 8949 sorter
      // throws on array keys.)
      const map = new Map<unknown, number>([[false, 0], ['aa', 0], ['z', 0], [-1, 0], [100, 0], [10, 0]]);
      assert.equal(hex(encode(map, rfc8949EncodeOptions)), 'a6' + '0a00' + '186400' + '2000' + '617a00' + '62616100' + 'f400');
    });

    it('refuses the same example as input: map keys must be text', () => {
      throwsRegistryError(() => decodeCanonical(fromHex('a60a00186400200061' + '7a0062616100f400')), 'CBOR_INVALID', /non-string keys/);
      throwsRegistryError(() => decodeTrustedCanonical(fromHex('a60a00186400200061' + '7a0062616100f400')), 'CBOR_INVALID', /keys must be text/);
    });
  });

  describe('text that cborg decodes lossily', () => {
    it('round-trips strings and keys starting with U+FEFF (cborg strips it as a BOM)', () => {
      const value = { '\ufeffk': '\ufeffabc', k: '\ufeff'.repeat(3) + 'x'.repeat(40) };
      const bytes = encodeCanonical(value);
      assert.equal(hex(encodeCanonical('\ufeffabc')), '66efbbbf616263');
      assert.deepStrictEqual(decodeCanonical(bytes), value);
      assert.deepStrictEqual(decodeTrustedCanonical(bytes), value);
    });

    it('keeps a literal U+FFFD', () => {
      assert.equal(decodeCanonical(fromHex('63efbfbd')), '\ufffd');
      assert.equal(decodeTrustedCanonical(fromHex('63efbfbd')), '\ufffd');
    });

    for (const [name, bytes] of [
      ['a truncated sequence', '62c328'],
      ['an overlong NUL', '62c080'],
      ['an encoded surrogate (CESU-8)', '63eda080'],
      ['a stray continuation byte in a long string', `7820${'61'.repeat(31)}80`],
    ] as const) {
      it(`refuses invalid UTF-8: ${name}`, () => {
        throwsRegistryError(() => decodeCanonical(fromHex(bytes)), 'CBOR_INVALID', /UTF-8/);
        throwsRegistryError(() => decodeTrustedCanonical(fromHex(bytes)), 'CBOR_INVALID', /UTF-8/);
      });
    }
  });

  describe('refuses non-canonical or out-of-model input', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['unsorted map keys', 'a2616201616102', /canonical form/],
      ['unsorted keys of equal length', 'a2627a7a0162616102', /canonical form/],
      ['shorter key after a longer one', 'a262616101616202', /canonical form/],
      ['duplicate map keys', 'a2616101616101', /repeat map key/],
      ['non-shortest integer (1 byte)', '1817', /more bytes than necessary/],
      ['non-shortest integer (2 bytes)', '190017', /more bytes than necessary/],
      ['non-shortest integer (4 bytes)', '1a0000ffff', /more bytes than necessary/],
      ['non-shortest integer (8 bytes)', '1b00000000ffffffff', /more bytes than necessary/],
      ['non-shortest negative integer', '3800', /more bytes than necessary/],
      ['non-shortest string length', '780161', /more bytes than necessary/],
      ['non-shortest array length', '9800', /more bytes than necessary/],
      ['non-shortest map length', 'b800', /more bytes than necessary/],
      ['indefinite-length array', '9f01ff', /indefinite/],
      ['indefinite-length map', 'bf616101ff', /indefinite/],
      ['indefinite-length text', '7f616161ff', /indefinite/],
      ['indefinite-length bytes', '5f4101ff', /indefinite/],
      ['half-float 1.0', 'f93c00', /canonical form/],
      ['single-float 1.0', 'fa3f800000', /canonical form/],
      ['double 1.0', 'fb3ff0000000000000', /canonical form/],
      ['float 1.5', 'f93e00', /floating-point/],
      ['double 2^53 (integral but unsafe)', 'fb4340000000000000', /safe range/],
      ['NaN', 'f97e00', /NaN/],
      ['Infinity', 'f97c00', /Infinity/],
      ['tag 0 (date string)', 'c074323031332d30332d32315432303a30343a30305a', /tag not supported/],
      ['tag 1 (epoch)', 'c11a514b67b0', /tag not supported/],
      ['self-describe tag 55799', 'd9d9f700', /tag not supported/],
      ['bignum tag 2', 'c249010000000000000000', /tag not supported/],
      ['undefined', 'f7', /undefined/],
      ['undefined inside a map', 'a16161f7', /undefined/],
      ['simple value 16', 'f0', /simple values/],
      ['simple value 32', 'f820', /simple values/],
      ['byte string', '4161', /byte strings/],
      ['empty byte string in an array', '8140', /byte strings are not allowed.* at \/0$/],
      ['integer 2^53', '1b0020000000000000', /safe integer range/],
      ['integer -(2^53) - 1', '3b0020000000000000', /safe integer range/],
      ['integer 2^64 - 1', '1bffffffffffffffff', /safe integer range/],
      ['non-text key (integer)', 'a10101', /non-string keys/],
      ['non-text key (null)', 'a1f601', /non-string keys/],
      ['trailing bytes', '0000', /1 trailing byte/],
      ['trailing break', '01ff', /trailing/],
      ['empty input', '', /did not find any content/],
      ['truncated string', '6261', /not enough data/],
      ['truncated array', '8201', /not enough entries/],
      ['lone break', 'ff', /indefinite length items not allowed/],
    ];
    for (const [name, bytes, pattern] of cases) {
      it(name, () => {
        throwsRegistryError(() => decodeCanonical(fromHex(bytes)), 'CBOR_INVALID', pattern);
        // The direct decoder of trusted payloads checks the same rules (its own wording).
        throwsRegistryError(() => decodeTrustedCanonical(fromHex(bytes)), 'CBOR_INVALID');
      });
    }

    it('refuses hostile nesting without overflowing the stack', () => {
      const bytes = new Uint8Array(200_001).fill(0x81);
      bytes[200_000] = 0x00;
      throwsRegistryError(() => decodeCanonical(bytes), 'CBOR_INVALID', /nesting/);
      throwsRegistryError(() => decodeTrustedCanonical(bytes), 'CBOR_INVALID', /nesting/);
    });

    it(`accepts exactly ${MAX_NESTING_DEPTH} levels of nesting`, () => {
      const ok = encodeCanonical(nest(MAX_NESTING_DEPTH));
      assert.deepStrictEqual(decodeCanonical(ok), nest(MAX_NESTING_DEPTH));
      assert.deepStrictEqual(decodeTrustedCanonical(ok), nest(MAX_NESTING_DEPTH));
      const tooDeep = new Uint8Array([0x81, ...ok]);
      throwsRegistryError(() => decodeCanonical(tooDeep), 'CBOR_INVALID', /nesting deeper than 256/);
      throwsRegistryError(() => decodeTrustedCanonical(tooDeep), 'CBOR_INVALID', /nesting deeper than 256/);
      throwsRegistryError(() => encodeCanonical(nest(MAX_NESTING_DEPTH + 1)), 'CBOR_INVALID', /nesting deeper than 256/);
    });

    it('refuses a non-Uint8Array argument', () => {
      throwsRegistryError(() => decodeCanonical('a0' as unknown as Uint8Array), 'CBOR_INVALID', /expected a Uint8Array/);
    });

    it('accepts a Buffer and a subarray view over a larger buffer', () => {
      const backing = Buffer.from('ffa16161820102ff', 'hex');
      assert.deepStrictEqual(decodeCanonical(backing.subarray(1, 7)), { a: [1, 2] });
      assert.deepStrictEqual(decodeCanonical(new Uint8Array(backing.buffer, backing.byteOffset + 1, 6)), { a: [1, 2] });
      assert.deepStrictEqual(decodeTrustedCanonical(backing.subarray(1, 7)), { a: [1, 2] });
      // Long ASCII text is sliced from the view's own offset, not the backing buffer's start.
      const long = 'x'.repeat(40) + 'y';
      const padded = Buffer.concat([Buffer.from('7a7a7a', 'hex'), Buffer.from(encodeCanonical({ k: long })), Buffer.from('ff', 'hex')]);
      assert.deepStrictEqual(decodeTrustedCanonical(padded.subarray(3, padded.length - 1)), { k: long });
    });
  });

  it('returns a plain Uint8Array that owns its whole buffer (cborg returns views into a pooled slab)', () => {
    for (const value of [{ a: 'x'.repeat(200) }, 'x'.repeat(150), [1, 2, 3], {}, 0] as CanonicalValue[]) {
      const bytes = encodeCanonical(value);
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
      assert.equal(bytes.byteOffset, 0);
      assert.equal(bytes.buffer.byteLength, bytes.byteLength);
      assert.equal(hex(bytes), hex(referenceEncode(value)));
    }
  });

  describe('encode refuses values outside the model, naming where', () => {
    class Point {
      x = 1;
    }
    const sparse: unknown[] = [];
    sparse[1] = 1;
    const extra = Object.assign([1], { note: 'x' });
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).self = cyclic;
    const withGetter = Object.defineProperty({}, 'g', { get: () => 1, enumerable: true });
    const hidden = Object.defineProperty({}, 'h', { value: 1, enumerable: false });
    const cases: Array<[string, unknown, string, RegExp]> = [
      ['float', { a: [1, 1.5] }, '/a/1', /floating-point/],
      ['NaN', { n: Number.NaN }, '/n', /NaN/],
      ['Infinity', [Number.POSITIVE_INFINITY], '/0', /Infinity/],
      ['-Infinity', [Number.NEGATIVE_INFINITY], '/0', /Infinity/],
      ['negative zero', { z: -0 }, '/z', /negative zero/],
      ['2^53', { big: 2 ** 53 }, '/big', /safe range/],
      ['-(2^53)', { big: -(2 ** 53) }, '/big', /safe range/],
      ['bigint', { b: 10n }, '/b', /bigint/],
      ['undefined property', { u: undefined }, '/u', /undefined/],
      ['undefined element', [undefined], '/0', /undefined/],
      ['Uint8Array', { bytes: new Uint8Array([1]) }, '/bytes', /byte strings/],
      ['Buffer', { bytes: Buffer.from('x') }, '/bytes', /byte strings/],
      ['ArrayBuffer', { bytes: new ArrayBuffer(1) }, '/bytes', /byte strings/],
      ['Date', { when: new Date(0) }, '/when', /Date objects/],
      ['Map', { m: new Map() }, '/m', /Map objects/],
      ['Set', { s: new Set() }, '/s', /Set objects/],
      ['function', { f: () => 1 }, '/f', /functions/],
      ['symbol value', { s: Symbol('x') }, '/s', /symbols/],
      ['symbol key', { [Symbol('k')]: 1 }, '', /symbol-keyed/],
      ['class instance', { p: new Point() }, '/p', /Point objects/],
      ['boxed number', { n: Object(1) as unknown }, '/n', /Number objects/],
      ['sparse array', { s: sparse }, '/s', /holes/],
      ['array with extra properties', extra, '', /non-index/],
      ['cycle', cyclic, '/a/self', /circular/],
      ['getter', withGetter, '/g', /accessor/],
      ['non-enumerable property', hidden, '/h', /non-enumerable/],
      ['unpaired surrogate in text', { s: 'a\ud800b' }, '/s', /surrogate/],
      ['unpaired surrogate in a key', { 'k\udc00': 1 }, '/k\udc00', /surrogate/],
      ['pointer escaping', { 'a/b': { 'c~d': 0.5 } }, '/a~1b/c~0d', /floating-point/],
    ];
    for (const [name, value, pointer, pattern] of cases) {
      it(name, () => {
        const error = throwsRegistryError(() => encodeCanonical(value as CanonicalValue), 'CBOR_INVALID', pattern);
        assert.equal(error.extra?.pointer, pointer);
      });
    }

    it('accepts null-prototype objects and an own "__proto__" key', () => {
      const bare = Object.assign(Object.create(null) as Record<string, CanonicalValue>, { a: 1 });
      assert.equal(hex(encodeCanonical(bare)), 'a1616101');
      const proto = JSON.parse('{"__proto__":{"x":1},"a":2}') as CanonicalValue;
      const bytes = encodeCanonical(proto);
      assert.equal(hex(bytes), hex(referenceEncode(proto)));
      const back = decodeCanonical(bytes) as Record<string, unknown>;
      assert.deepStrictEqual(Object.keys(back).sort(), ['__proto__', 'a']);
      assert.equal(Object.getPrototypeOf(back), Object.prototype);
      const direct = decodeTrustedCanonical(bytes) as Record<string, unknown>;
      assert.deepStrictEqual(direct, back);
      assert.equal(Object.getPrototypeOf(direct), Object.prototype);
    });
  });
});
