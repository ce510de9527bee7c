import { strict as assert } from 'node:assert';
import type { Request } from 'express';
import { isLoopbackAddress, loopbackWhileOpen, methodLabelOf, routeTemplateOf, UNMATCHED_ROUTE, uploadApiOf } from '../../../src/http/observability/index.js';
import { nativeRoutes } from '../../../src/http/native/index.js';
import { OPEN_ANONYMOUS, setPrincipal } from '../../../src/http/principal.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('route templates', () => {
  it('maps OCI paths (names with slashes) to their templates', () => {
    const cases: Array<[string, string]> = [
      ['/v2', '/v2/'],
      ['/v2/', '/v2/'],
      ['/v2/_catalog', '/v2/_catalog'],
      ['/v2/a/tags/list', '/v2/:name/tags/list'],
      ['/v2/org/team/app/tags/list', '/v2/:name/tags/list'],
      [`/v2/org/app/referrers/${DIGEST}`, '/v2/:name/referrers/:digest'],
      ['/v2/org/app/blobs/uploads/', '/v2/:name/blobs/uploads/'],
      ['/v2/org/app/blobs/uploads', '/v2/:name/blobs/uploads/'],
      ['/v2/org/app/blobs/uploads/0f8fad5b-d9cb-469f-a165-70867728950e', '/v2/:name/blobs/uploads/:reference'],
      [`/v2/org/app/blobs/${DIGEST}`, '/v2/:name/blobs/:digest'],
      ['/v2/org/app/manifests/latest', '/v2/:name/manifests/:reference'],
      [`/v2/a/b/c/d/e/manifests/${DIGEST}`, '/v2/:name/manifests/:reference'],
      ['/v2/org/app/unknown', UNMATCHED_ROUTE],
    ];
    for (const [path, template] of cases) assert.equal(routeTemplateOf(path), template, path);
  });

  it('maps every native route template, and the application routes', () => {
    for (const route of nativeRoutes()) {
      const path = route.path.replace(/\{[^}]+\}/g, 'x-1');
      const template = route.path.replace(/\{([^}]+)\}/g, ':$1');
      assert.equal(routeTemplateOf(path), template, route.path);
    }
    assert.equal(routeTemplateOf('/packages/123/manifest.json'), '/packages/:id/manifest.json');
    assert.equal(routeTemplateOf('/packages/123/manifest'), '/packages/:id/manifest');
    assert.equal(routeTemplateOf('/events/stream'), '/events/stream');
    assert.equal(routeTemplateOf(`/objects/${DIGEST}`), '/objects/:content-address');
    for (const path of ['/', '/health', '/ready', '/metrics']) assert.equal(routeTemplateOf(path), path);
  });

  it('folds everything else into one label', () => {
    for (const path of ['/nope', '/packages/a/b/c', '/etc/passwd', `/${'x'.repeat(5000)}`]) assert.equal(routeTemplateOf(path), UNMATCHED_ROUTE, path);
  });

  it('bounds methods and knows upload bodies', () => {
    assert.equal(methodLabelOf('GET'), 'GET');
    assert.equal(methodLabelOf('PROPFIND'), 'OTHER');
    assert.equal(uploadApiOf('/v2/:name/blobs/uploads/', 'POST'), 'oci');
    assert.equal(uploadApiOf('/v2/:name/blobs/uploads/:reference', 'PATCH'), 'oci');
    assert.equal(uploadApiOf('/v2/:name/blobs/uploads/:reference', 'PUT'), 'oci');
    assert.equal(uploadApiOf('/v2/:name/blobs/uploads/:reference', 'GET'), undefined);
    assert.equal(uploadApiOf('/uploads/:uid', 'PATCH'), 'native');
    assert.equal(uploadApiOf('/packages/:id/files', 'POST'), 'native');
    assert.equal(uploadApiOf('/packages', 'POST'), undefined);
  });
});

describe('default metrics authorization', () => {
  function fakeRequest(remoteAddress: string | undefined): Request {
    return { socket: { remoteAddress } } as unknown as Request;
  }

  it('knows loopback addresses', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(address), true, address);
    for (const address of ['10.0.0.1', '::ffff:10.0.0.1', '192.168.1.1', 'fe80::1', '::', '0.0.0.0', undefined]) assert.equal(isLoopbackAddress(address), false, String(address));
  });

  it('allows loopback callers of a server running open, and nobody else', () => {
    assert.equal(loopbackWhileOpen(fakeRequest('127.0.0.1')), true);
    assert.equal(loopbackWhileOpen(fakeRequest('::ffff:127.0.0.1')), true);
    assert.equal(loopbackWhileOpen(fakeRequest('203.0.113.7')), false);
    const authenticated = fakeRequest('127.0.0.1');
    setPrincipal(authenticated, { ...OPEN_ANONYMOUS, name: 'alice', anonymous: false, admin: false });
    assert.equal(loopbackWhileOpen(authenticated), false);
    const anonymousUnderAuth = fakeRequest('127.0.0.1');
    setPrincipal(anonymousUnderAuth, { ...OPEN_ANONYMOUS, admin: false });
    assert.equal(loopbackWhileOpen(anonymousUnderAuth), false);
  });
});
