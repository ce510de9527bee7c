import { strict as assert } from 'node:assert';
import { isContentAddress, parseContentAddress, formatContentAddress, blake3Address } from '../../src/identity/index.js';
import { isRegistryError } from '../../src/errors/index.js';

const HEX = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';

describe('identity/content-address', () => {
  it('parses blake3 and sha256 addresses', () => {
    assert.deepEqual(parseContentAddress(`blake3:${HEX}`), { algorithm: 'blake3', hex: HEX });
    assert.deepEqual(parseContentAddress(`sha256:${HEX}`), { algorithm: 'sha256', hex: HEX });
    assert.equal(formatContentAddress(parseContentAddress(`blake3:${HEX}`)), `blake3:${HEX}`);
    assert.equal(blake3Address(HEX), `blake3:${HEX}`);
  });

  const invalid: Array<[string, unknown]> = [
    ['upper-case hex', `blake3:${HEX.toUpperCase()}`],
    ['upper-case algorithm', `BLAKE3:${HEX}`],
    ['short hex', `blake3:${HEX.slice(1)}`],
    ['long hex', `blake3:${HEX}0`],
    ['unknown algorithm', `sha512:${HEX}`],
    ['another separator', `blake3-${HEX}`],
    ['a double separator', `blake3::${HEX}`],
    ['path traversal', `blake3:../${HEX.slice(3)}`],
    ['a slash', `blake3:${HEX.slice(0, 32)}/${HEX.slice(33)}`],
    ['a NUL byte', `blake3:${HEX.slice(0, 63)}\u0000`],
    ['a trailing newline', `blake3:${HEX}\n`],
    ['leading space', ` blake3:${HEX}`],
    ['no algorithm', HEX],
    ['empty string', ''],
    ['non-hex characters', `blake3:${HEX.slice(0, 63)}g`],
    ['a number', 42],
    ['null', null],
  ];
  for (const [why, value] of invalid) {
    it(`rejects ${why}`, () => {
      assert.equal(isContentAddress(value), false);
      assert.throws(() => parseContentAddress(value as string), (error) => isRegistryError(error, 'CONTENT_ADDRESS_INVALID'));
    });
  }

  it('checks the algorithm when asked', () => {
    assert.equal(isContentAddress(`sha256:${HEX}`, 'blake3'), false);
    assert.equal(isContentAddress(`sha256:${HEX}`, 'sha256'), true);
  });
});
