import { strict as assert } from 'node:assert';
import { nextPageLink, parsePageRequest } from '../../src/oci/index.js';
import { throwsCode } from './helpers.js';

describe('oci/pagination', () => {
  describe('parsePageRequest', () => {
    it('returns nulls when nothing is asked', () => {
      assert.deepEqual(parsePageRequest({}), { n: null, last: null });
      assert.deepEqual(parsePageRequest({ n: '', last: '' }), { n: null, last: null });
      assert.deepEqual(parsePageRequest({ n: null, last: undefined }), { n: null, last: null });
    });

    it('parses n and last', () => {
      assert.deepEqual(parsePageRequest({ n: '10', last: 'v1.0' }), { n: 10, last: 'v1.0' });
      assert.deepEqual(parsePageRequest({ n: '0' }), { n: 0, last: null });
      assert.deepEqual(parsePageRequest({ n: '007' }), { n: 7, last: null });
    });

    it('takes the first value of a repeated parameter', () => {
      assert.deepEqual(parsePageRequest({ n: ['3', 'x'], last: ['b', 'a'] }), { n: 3, last: 'b' });
    });

    for (const n of ['-1', 'abc', '1.5', '1e3', ' 1', '+1', '0x10', '99999999999999999999']) {
      it(`refuses n=${JSON.stringify(n)}`, () => {
        const error = throwsCode(() => parsePageRequest({ n }), 'PAGINATION_NUMBER_INVALID');
        assert.equal(error.status, 400);
      });
    }

    it('refuses n above max by default and clamps when asked', () => {
      throwsCode(() => parsePageRequest({ n: '1001' }, { max: 1000 }), 'PAGINATION_NUMBER_INVALID', /1001; the limit is 1000/);
      assert.deepEqual(parsePageRequest({ n: '1000' }, { max: 1000 }), { n: 1000, last: null });
      assert.deepEqual(parsePageRequest({ n: '1001', last: 'z' }, { max: 1000, overMax: 'clamp' }), { n: 1000, last: 'z' });
      assert.deepEqual(parsePageRequest({ n: '99999999999999999999' }, { max: 50, overMax: 'clamp' }), { n: 50, last: null });
    });
  });

  describe('nextPageLink', () => {
    it('builds an RFC 8288 next link', () => {
      assert.equal(nextPageLink('/v2/library/ubuntu/tags/list', { n: 2, last: 'v1.0' }), '</v2/library/ubuntu/tags/list?n=2&last=v1.0>; rel="next"');
    });

    it('percent-encodes query values and keeps extra parameters in order', () => {
      const link = nextPageLink('/v2/_catalog', { n: 100, last: 'team/app' });
      assert.equal(link, '</v2/_catalog?n=100&last=team%2Fapp>; rel="next"');
      const referrers = nextPageLink(`/v2/a/referrers/sha256:${'a'.repeat(64)}`, { n: 5, last: 'x y&z' }, { artifactType: 'application/vnd.example+json' });
      assert.equal(referrers, `</v2/a/referrers/sha256:${'a'.repeat(64)}?n=5&last=x%20y%26z&artifactType=application%2Fvnd.example%2Bjson>; rel="next"`);
    });

    it('percent-encodes unsafe path characters so the link stays one URI', () => {
      const link = nextPageLink('/v2/we ird>/tags/list', { n: 1, last: 'a' });
      assert.equal(link, '</v2/we%20ird%3E/tags/list?n=1&last=a>; rel="next"');
      const target = /^<([^>]*)>/.exec(link)?.[1];
      assert.ok(target);
      const url = new URL(target, 'http://registry.example');
      assert.equal(url.searchParams.get('last'), 'a');
      assert.equal(decodeURIComponent(url.pathname), '/v2/we ird>/tags/list');
    });
  });
});
