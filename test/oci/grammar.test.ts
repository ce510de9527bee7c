import { strict as assert } from 'node:assert';
import {
  MAX_NAME_LENGTH,
  computeOciDigest,
  isDigestReference,
  isOciDigest,
  isRepositoryName,
  isTag,
  parseOciDigest,
  parseReference,
  parseLookupReference,
  validateRepositoryName,
  validateTag,
} from '../../src/oci/index.js';
import { sha256, sha512, throwsCode } from './helpers.js';

const HEX64 = 'a'.repeat(64);
const HEX128 = 'b'.repeat(128);

describe('oci/grammar', () => {
  describe('repository names', () => {
    const valid = ['a', 'a/b', 'a-b__c.d/e', 'library/ubuntu', 'a---b', 'a_b', '0/1/2', 'x'.repeat(MAX_NAME_LENGTH)];
    for (const name of valid) {
      it(`accepts ${JSON.stringify(name.length > 40 ? `${name.slice(0, 10)}…(${name.length})` : name)}`, () => {
        assert.equal(validateRepositoryName(name), name);
        assert.equal(isRepositoryName(name), true);
      });
    }

    it('accepts a 255-character multi-component name', () => {
      const name = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
      assert.equal(name.length, 255);
      assert.equal(validateRepositoryName(name), name);
    });

    const invalid: Array<[string, RegExp]> = [
      ['', /empty/],
      ['A', /contains "A" \(names are lowercase\)/],
      ['library/Ubuntu', /lowercase/],
      ['a//b', /empty path component \(doubled '\/'\)/],
      ['/a', /empty path component \(leading '\/'\)/],
      ['a/', /empty path component \(trailing '\/'\)/],
      ['..', /must start and end with a lowercase letter or digit/],
      ['a/../b', /".."/],
      ['%2e%2e', /contains "%"/],
      ['a--', /must start and end/],
      ['-a', /must start and end/],
      ['a..b', /separator sequence "\.\."/],
      ['a___b', /separator sequence "___"/],
      ['a.-b', /separator sequence "\.-"/],
      ['a b', /contains " "/],
      ['a:b', /contains ":"/],
      ['é', /contains "é"/],
      ['x'.repeat(MAX_NAME_LENGTH + 1), /256 characters long; the limit is 255/],
    ];
    for (const [name, pattern] of invalid) {
      it(`refuses ${JSON.stringify(name.length > 40 ? `${name.slice(0, 10)}…(${name.length})` : name)} saying which rule`, () => {
        const error = throwsCode(() => validateRepositoryName(name), 'NAME_INVALID', pattern);
        assert.equal(error.status, 400);
        assert.deepEqual(error.extra, { name });
        assert.equal(isRepositoryName(name), false);
      });
    }

    it('isRepositoryName is false for non-strings', () => {
      assert.equal(isRepositoryName(42), false);
      assert.equal(isRepositoryName(null), false);
    });
  });

  describe('tags', () => {
    for (const tag of ['latest', 'v1.2.3', '_private', 'A-b_C.d', '1', 'x'.repeat(128), 'sha256-abc']) {
      it(`accepts ${JSON.stringify(tag.length > 40 ? `x…(${tag.length})` : tag)}`, () => {
        assert.equal(validateTag(tag), tag);
        assert.equal(isTag(tag), true);
      });
    }
    const invalid: Array<[string, RegExp]> = [
      ['', /empty/],
      ['.hidden', /must not start with "\."/],
      ['-x', /must not start with "-"/],
      ['a/b', /contains "\/"/],
      ['a:b', /contains ":"/],
      ['a+b', /contains "\+"/],
      ['x'.repeat(129), /129 characters long; the limit is 128/],
    ];
    for (const [tag, pattern] of invalid) {
      it(`refuses ${JSON.stringify(tag.length > 40 ? `x…(${tag.length})` : tag)}`, () => {
        const error = throwsCode(() => validateTag(tag), 'TAG_INVALID', pattern);
        assert.equal(error.status, 400);
        assert.equal(isTag(tag), false);
      });
    }
  });

  describe('digests', () => {
    it('parses sha256 and sha512', () => {
      assert.deepEqual(parseOciDigest(`sha256:${HEX64}`), { algorithm: 'sha256', hex: HEX64 });
      assert.deepEqual(parseOciDigest(`sha512:${HEX128}`), { algorithm: 'sha512', hex: HEX128 });
      assert.equal(isOciDigest(sha512('x')), true);
    });

    const invalid: Array<[string, RegExp]> = [
      [`sha384:${'c'.repeat(96)}`, /algorithm "sha384" is not supported/],
      [`blake3:${HEX64}`, /algorithm "blake3" is not supported/],
      [`SHA256:${HEX64}`, /algorithm "SHA256" is not supported/],
      [`sha256:${'A'.repeat(64)}`, /lowercase/],
      [`sha256:${HEX64.slice(1)}`, /64 hex characters, got 63/],
      [`sha256:${HEX64}a`, /64 hex characters, got 65/],
      [`sha512:${HEX64}`, /128 hex characters, got 64/],
      [`sha256:${'g'.repeat(64)}`, /non-hex/],
      ['sha256:', /64 hex characters, got 0/],
      [HEX64, /<algorithm>:<hex>/],
      ['', /<algorithm>:<hex>/],
      [`sha256+b64u:${HEX64}`, /not supported/],
    ];
    for (const [text, pattern] of invalid) {
      it(`refuses ${JSON.stringify(text.length > 30 ? `${text.slice(0, 14)}…(${text.length})` : text)}`, () => {
        const error = throwsCode(() => parseOciDigest(text), 'DIGEST_INVALID', pattern);
        assert.equal(error.status, 400);
        assert.equal(isOciDigest(text), false);
      });
    }

    it('computes digests that parse back', () => {
      assert.equal(computeOciDigest(new TextEncoder().encode('{}')), 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
      assert.equal(computeOciDigest(new TextEncoder().encode('x'), 'sha512'), sha512('x'));
      assert.equal(parseOciDigest(computeOciDigest(new Uint8Array(0))).hex, sha256('').slice(7));
    });
  });

  describe('references', () => {
    it('tells digests from tags by the colon', () => {
      assert.equal(isDigestReference(`sha256:${HEX64}`), true);
      assert.equal(isDigestReference('foo:bar'), true);
      assert.equal(isDigestReference('latest'), false);
      assert.equal(isDigestReference('sha256-abc'), false);
    });

    it('parses a digest reference', () => {
      assert.deepEqual(parseReference(`sha256:${HEX64}`), { kind: 'digest', digest: { algorithm: 'sha256', hex: HEX64 } });
    });

    it('parses a tag reference', () => {
      assert.deepEqual(parseReference('v1.0'), { kind: 'tag', tag: 'v1.0' });
    });

    it('refuses a malformed digest reference with DIGEST_INVALID', () => {
      throwsCode(() => parseReference('sha256:abc'), 'DIGEST_INVALID', /64 hex/);
      throwsCode(() => parseReference('foo:bar'), 'DIGEST_INVALID', /"foo" is not supported/);
    });

    it('refuses an invalid tag reference with TAG_INVALID', () => {
      throwsCode(() => parseReference('.x'), 'TAG_INVALID');
      throwsCode(() => parseReference(''), 'TAG_INVALID', /empty/);
    });

    it('for a lookup, an invalid tag names no manifest (MANIFEST_UNKNOWN); digests and valid tags parse as for a push', () => {
      throwsCode(() => parseLookupReference('.INVALID_MANIFEST_NAME'), 'MANIFEST_UNKNOWN', /must not start with/);
      throwsCode(() => parseLookupReference(''), 'MANIFEST_UNKNOWN', /empty/);
      throwsCode(() => parseLookupReference('t'.repeat(129)), 'MANIFEST_UNKNOWN');
      throwsCode(() => parseLookupReference('sha256:abc'), 'DIGEST_INVALID', /64 hex/);
      assert.deepEqual(parseLookupReference('v1.0'), { kind: 'tag', tag: 'v1.0' });
      assert.deepEqual(parseLookupReference(`sha256:${HEX64}`), parseReference(`sha256:${HEX64}`));
    });
  });
});
