import { strict as assert } from 'node:assert';
import { isSensitiveQueryKey, MAX_LOGGED_URL_LENGTH, REDACTED, sanitizeUrl } from '../../src/observability/index.js';

describe('sanitizeUrl', () => {
  it('keeps paths and harmless query parameters as they are', () => {
    assert.equal(sanitizeUrl('/packages'), '/packages');
    assert.equal(sanitizeUrl('/events?since=5&limit=10&event_type=v1.package.'), '/events?since=5&limit=10&event_type=v1.package.');
    assert.equal(sanitizeUrl('/v2/a/b/tags/list?n=10&last=x'), '/v2/a/b/tags/list?n=10&last=x');
  });

  it('replaces the values of secret parameters, whatever their case or encoding', () => {
    assert.equal(sanitizeUrl('/x?token=abc&n=1'), `/x?token=${REDACTED}&n=1`);
    assert.equal(sanitizeUrl('/x?n=1&access_token=abc'), `/x?n=1&access_token=${REDACTED}`);
    assert.equal(sanitizeUrl('/x?PASSWORD=hunter2'), `/x?PASSWORD=${REDACTED}`);
    assert.equal(sanitizeUrl('/x?X-Amz-Signature=f00&X-Amz-Credential=AKIA'), `/x?X-Amz-Signature=${REDACTED}&X-Amz-Credential=${REDACTED}`);
    assert.equal(sanitizeUrl('/x?%74oken=abc'), `/x?%74oken=${REDACTED}`);
    assert.equal(sanitizeUrl('/x?token'), `/x?token=${REDACTED}`);
    assert.equal(sanitizeUrl('/x?sig=1&key=2&api_key=3&client_secret=4'), `/x?sig=${REDACTED}&key=${REDACTED}&api_key=${REDACTED}&client_secret=${REDACTED}`);
    for (const leaked of ['abc', 'hunter2', 'f00', 'AKIA']) {
      assert.doesNotMatch(sanitizeUrl(`/x?token=${leaked}&password=${leaked}`), new RegExp(`=${leaked}`));
    }
  });

  it('drops fragments and cuts very long URLs', () => {
    assert.equal(sanitizeUrl('/x?token=abc#frag'), `/x?token=${REDACTED}`);
    const long = sanitizeUrl(`/x?n=${'a'.repeat(10_000)}`);
    assert.ok(long.length < MAX_LOGGED_URL_LENGTH + 20);
    assert.match(long, /truncated\)$/);
  });

  it('judges names', () => {
    assert.equal(isSensitiveQueryKey('refresh_token'), true);
    assert.equal(isSensitiveQueryKey('digest'), false);
    assert.equal(isSensitiveQueryKey('since'), false);
  });
});
