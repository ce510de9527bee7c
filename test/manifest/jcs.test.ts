import { strict as assert } from 'node:assert';
import { cborToJcs, encodeCanonical, fromJcs, jcsToCbor, toJcs, type CanonicalValue } from '../../src/manifest/index.js';
import { fromHex, hex, throwsRegistryError } from './helpers.js';

describe('manifest/jcs', () => {
  describe('golden serialisations', () => {
    const cases: Array<[string, CanonicalValue, string]> = [
      ['scalars', [null, true, false, 0, -1, 42], '[null,true,false,0,-1,42]'],
      ['safe integer bounds', [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER], '[9007199254740991,-9007199254740991]'],
      ['empty containers', { a: [], b: {} }, '{"a":[],"b":{}}'],
      ['nested, keys sorted at every level', { b: { d: 1, c: 2 }, a: [{ z: null, y: 'x' }] }, '{"a":[{"y":"x","z":null}],"b":{"c":2,"d":1}}'],
      // RFC 8785 §3.2.2.2: short escapes for \b \t \n \f \r " \\, \u00xx
      // (lowercase) for other controls, everything else literal (incl. "/",
      // DEL, U+2028 and non-ASCII).
      ['string escapes', '\u0000\b\t\n\f\r"\\/\u001f\u007f\u2028\u00e9\u{1f600}', '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\\u001f\u007f\u2028\u00e9\u{1f600}"'],
      // RFC 8785 §3.2.3 sorting example: UTF-16 code unit order puts the
      // emoji (d83d) before U+FB33 although its code point is larger.
      [
        'RFC 8785 §3.2.3 key order',
        {
          '\u20ac': 'Euro Sign',
          '\r': 'Carriage Return',
          '\ufb33': 'Hebrew Letter Dalet With Dagesh',
          '1': 'One',
          '\u{1f600}': 'Emoji: Grinning Face',
          '\u0080': 'Control',
          '\u00f6': 'Latin Small Letter O With Diaeresis',
        },
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\u{1f600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
      ],
      [
        'keys whose UTF-16 order differs from UTF-8 order',
        { '\ue000a': 7, '\ue000': 6, '\u{1d11e}': 8, '\u00e9': 5, aa: 4, b: 3, a: 2, '\u0000': 1, '': 0 },
        '{"":0,"\\u0000":1,"a":2,"aa":4,"b":3,"\u00e9":5,"\u{1d11e}":8,"\ue000":6,"\ue000a":7}',
      ],
    ];
    for (const [name, value, expected] of cases) {
      it(name, () => {
        assert.equal(toJcs(value), expected);
        assert.deepStrictEqual(fromJcs(expected), value);
      });
    }
  });

  describe('fromJcs refuses input that is not exactly its own JCS form', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['fraction', '1.0', /canonical form/],
      ['non-integer', '0.5', /floating-point/],
      ['exponent', '1e2', /canonical form/],
      ['upper-case exponent', '[1E2]', /canonical form/],
      ['negative zero', '-0', /negative zero/],
      ['unsafe integer 2^53', '9007199254740992', /safe range/],
      ['unsafe integer rounded by the parser', '[9007199254740993]', /safe range/],
      ['huge number', '1e400', /Infinity/],
      ['duplicate key', '{"a":1,"a":1}', /duplicate key at \/a$/],
      ['nested duplicate key', '{"x":[0,{"k":1,"k":2}]}', /duplicate key at \/x\/1\/k$/],
      ['duplicate key spelled differently', '{"a":1,"\\u0061":2}', /duplicate key at \/a$/],
      ['unsorted keys', '{"b":1,"a":2}', /canonical form/],
      ['whitespace', '{"a": 1}', /canonical form/],
      ['leading whitespace', ' 1', /canonical form/],
      ['trailing newline', '{}\n', /canonical form/],
      ['needless escape', '"\\u0041"', /canonical form/],
      ['escaped slash', '"\\/"', /canonical form/],
      ['escaped non-ASCII', '"\\u00e9"', /canonical form/],
      ['upper-case hex escape', '"\\u001F"', /canonical form/],
      ['lone surrogate escape', '"\\ud800"', /surrogate/],
      ['not JSON', 'nul', /not valid JSON/],
      ['empty text', '', /not valid JSON/],
      ['leading zero', '01', /not valid JSON/],
      ['byte-order mark', '\ufeff{}', /not valid JSON/],
    ];
    for (const [name, text, pattern] of cases) {
      it(name, () => {
        throwsRegistryError(() => fromJcs(text), 'JSON_INVALID', pattern);
      });
    }

    it('refuses hostile nesting', () => {
      throwsRegistryError(() => fromJcs('['.repeat(100_000) + ']'.repeat(100_000)), 'JSON_INVALID', /nesting/);
    });

    it('refuses a non-string argument', () => {
      throwsRegistryError(() => fromJcs(Buffer.from('{}') as unknown as string), 'JSON_INVALID', /expected a string/);
    });

    it('does not report a key repeated in different objects as a duplicate', () => {
      assert.deepStrictEqual(fromJcs('{"a":{"a":1},"b":[{"a":2},{"a":3}]}'), { a: { a: 1 }, b: [{ a: 2 }, { a: 3 }] });
    });

    it('does not mistake string values containing quotes or braces for keys', () => {
      assert.deepStrictEqual(fromJcs('{"a":"\\"a\\":{","b":"}"}'), { a: '"a":{', b: '}' });
    });
  });

  it('toJcs refuses values outside the model with JSON_INVALID and a pointer', () => {
    const error = throwsRegistryError(() => toJcs({ a: [0, 1.25] }), 'JSON_INVALID', /floating-point/);
    assert.equal(error.extra?.pointer, '/a/1');
    throwsRegistryError(() => toJcs({ s: '\udc00' }), 'JSON_INVALID', /surrogate/);
  });

  describe('CBOR <-> JCS', () => {
    it('converts canonical CBOR to JCS and back to identical bytes', () => {
      const value = { '\u{1d11e}': [1, -1, null], '\ue000': 'x', '\ufeffk': true, a: { '': 24 } };
      const bytes = encodeCanonical(value);
      const text = cborToJcs(bytes);
      assert.equal(text, '{"a":{"":24},"\u{1d11e}":[1,-1,null],"\ue000":"x","\ufeffk":true}');
      assert.equal(hex(jcsToCbor(text)), hex(bytes));
    });

    it('cborToJcs refuses non-canonical CBOR and jcsToCbor refuses non-canonical JSON', () => {
      throwsRegistryError(() => cborToJcs(fromHex('a2616201616102')), 'CBOR_INVALID');
      throwsRegistryError(() => jcsToCbor('{"b":1,"a":2}'), 'JSON_INVALID');
    });

    it('an own "__proto__" key survives both directions', () => {
      const text = '{"__proto__":{"x":1},"a":2}';
      const bytes = jcsToCbor(text);
      assert.equal(hex(bytes), 'a2616102695f5f70726f746f5f5fa1617801');
      assert.equal(cborToJcs(bytes), text);
    });
  });
});
