import { strict as assert } from 'node:assert';
import request from 'supertest';
import { acceptableRequestId, requestIdFor } from '../../../src/http/observability/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { openObservedApp, type ObservedApp } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('accepts 1–128 characters of [A-Za-z0-9._-] and nothing else', () => {
    for (const good of ['a', 'abc-123_X.y', 'x'.repeat(128), '0f8fad5b-d9cb-469f-a165-70867728950e']) assert.equal(acceptableRequestId(good), good);
    for (const bad of ['', 'x'.repeat(129), 'has space', 'semi;colon', 'new\nline', 'ünicode', 'a,b', '../x/y', '<script>']) {
      assert.equal(acceptableRequestId(bad), undefined, JSON.stringify(bad));
    }
    assert.equal(acceptableRequestId(['a', 'b']), undefined);
    assert.equal(acceptableRequestId(undefined), undefined);
  });

  it('generates a UUID when none is acceptable', () => {
    assert.match(requestIdFor(undefined), UUID);
    assert.match(requestIdFor('bad id'), UUID);
    assert.notEqual(requestIdFor(undefined), requestIdFor(undefined));
    assert.equal(requestIdFor('keep.me'), 'keep.me');
  });
});

describeEachDatabase('X-Request-Id', (target) => {
  let observed: ObservedApp;
  beforeEach(async () => {
    observed = await openObservedApp(target);
  });
  afterEach(async () => {
    await observed.dispose();
  });

  it('is generated and echoed on every response, success or problem, native or OCI', async () => {
    const seen = new Set<string>();
    for (const [path, status] of [['/', 200], ['/packages/nope', 404], ['/v2/a/b/tags/list', 404], ['/nowhere', 404]] as const) {
      const response = await request(observed.app).get(path).expect(status);
      const id = response.headers['x-request-id'] as string;
      assert.match(id, UUID, path);
      seen.add(id);
    }
    assert.equal(seen.size, 4, 'every request gets its own id');
  });

  it('honours a sane incoming id and logs under it', async () => {
    const response = await request(observed.app).get('/health').set('X-Request-Id', 'trace-42.abc_DEF').expect(200);
    assert.equal(response.headers['x-request-id'], 'trace-42.abc_DEF');
    const line = await observed.log.accessLineOf('trace-42.abc_DEF');
    assert.equal(line.route, '/health');
  });

  it('refuses an unsafe or oversized incoming id and replaces it', async () => {
    for (const bad of ['x'.repeat(129), 'two words', 'inject"quote', 'a/b']) {
      const response = await request(observed.app).get('/').set('X-Request-Id', bad).expect(200);
      const id = response.headers['x-request-id'] as string;
      assert.match(id, UUID, bad);
      await observed.log.accessLineOf(id);
    }
    assert.ok(!observed.log.raw.some((line) => line.includes('two words') || line.includes('inject')), 'a refused id is never logged');
  });
});
