import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import request from 'supertest';
import { createHttpApp } from '../../../src/http/app.js';
import { RegistryError } from '../../../src/errors/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { openTestRegistry } from '../../support/registry.js';
import { assertProblem } from '../native/helpers.js';
import { parseExposition, samplesOf, valueOf } from '../../observability/exposition.js';
import { eventually, openObservedApp, type ObservedApp } from './support.js';

const ROUTE_LABELS = /^(unmatched|\/|\/health|\/ready|\/metrics|\/v2\/.*|\/[a-z/.:_-]*)$/;

describeEachDatabase('GET /metrics', (target) => {
  let observed: ObservedApp;
  beforeEach(async () => {
    observed = await openObservedApp(target);
  });
  afterEach(async () => {
    await observed.dispose();
  });

  it('counts requests by route template, method and status — never by raw path', async () => {
    const { app } = observed;
    const created = await request(app).post('/packages').send({ name: 'metered', producer: 'ci', retention_class: 'transient' }).expect(201);
    const id = created.body.id as string;
    await request(app).get(`/packages/${id}`).expect(200);
    await request(app).get(`/packages/${id}`).expect(200);
    await request(app).get('/packages/00000000-0000-0000-0000-000000000000').expect(404);
    await request(app).head('/v2/some/deep/repo/manifests/latest').expect(404);
    await request(app).get('/v2/').expect(200);
    await request(app).get('/no/such/path').expect(404);
    await request(app).get('/health').expect(200);

    await eventually(async () => {
      const text = await observed.scrape();
      const count = (route: string, method: string, status: string): number => valueOf(text, 'http_requests_total', { route, method, status });
      assert.equal(count('/packages', 'POST', '201'), 1);
      assert.equal(count('/packages/:id', 'GET', '200'), 2);
      assert.equal(count('/packages/:id', 'GET', '404'), 1);
      assert.equal(count('/v2/:name/manifests/:reference', 'HEAD', '404'), 1);
      assert.equal(count('/v2/', 'GET', '200'), 1);
      assert.equal(count('unmatched', 'GET', '404'), 1);
      assert.equal(count('/health', 'GET', '200'), 1);
      for (const sample of parseExposition(text).filter((s) => s.labels.route !== undefined)) {
        assert.match(sample.labels.route!, ROUTE_LABELS);
        assert.ok(!sample.labels.route!.includes(id), `raw path in a label: ${sample.labels.route}`);
        assert.ok(!sample.labels.route!.includes('some/deep'), `raw path in a label: ${sample.labels.route}`);
      }
      // Histograms observe once per request.
      assert.equal(valueOf(text, 'http_request_duration_seconds_count', { route: '/packages/:id', method: 'GET' }), 3);
      assert.equal(valueOf(text, 'http_request_duration_seconds_bucket', { route: '/packages/:id', method: 'GET', le: '+Inf' }), 3);
      assert.ok(valueOf(text, 'http_request_duration_seconds_sum', { route: '/packages', method: 'POST' }) > 0);
    });
  });

  it('counts body bytes in and out, and the database, storage and event log move', async () => {
    const { app, instance } = observed;
    const blob = Buffer.from('observable blob bytes '.repeat(100));
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const before = await observed.scrape();
    await request(app).post(`/v2/team/app/blobs/uploads/?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(blob).expect(201);
    const pulled = await request(app).get(`/v2/team/app/blobs/${digest}`).buffer(true).parse(binaryParser).expect(200);
    assert.equal((pulled.body as Buffer).length, blob.length);
    await request(app).head(`/v2/team/app/blobs/${digest}`).expect(200);

    await eventually(async () => {
      const text = await observed.scrape();
      assert.equal(valueOf(text, 'http_request_bytes_total', { route: '/v2/:name/blobs/uploads/', method: 'POST' }), blob.length);
      assert.equal(valueOf(text, 'http_response_bytes_total', { route: '/v2/:name/blobs/:digest', method: 'GET' }), blob.length);
      assert.equal(valueOf(text, 'http_response_bytes_total', { route: '/v2/:name/blobs/:digest', method: 'HEAD' }), 0);
      assert.equal(valueOf(text, 'storage_operation_duration_seconds_count', { operation: 'stage', backend: 'local', outcome: 'ok' }), 1);
      assert.equal(valueOf(text, 'storage_operation_duration_seconds_count', { operation: 'put', backend: 'local', outcome: 'ok' }), 1);
      assert.ok(valueOf(text, 'storage_operation_duration_seconds_count', { operation: 'get', outcome: 'ok' }) >= 1);
      // On SQLite the view changes run as cached statements, outside knex's query events (ADR 0034).
      if (instance.db.client !== 'sqlite') {
        assert.ok(valueOf(text, 'db_query_duration_seconds_count', { operation: 'insert', outcome: 'ok' }) > valueOf(before, 'db_query_duration_seconds_count', { operation: 'insert', outcome: 'ok' }));
      }
      assert.ok(valueOf(text, 'db_query_duration_seconds_count', { operation: 'select', outcome: 'ok' }) > valueOf(before, 'db_query_duration_seconds_count', { operation: 'select', outcome: 'ok' }));
      const head = await instance.log.lastSequence();
      assert.ok(head > 0);
      assert.equal(valueOf(text, 'event_log_head_sequence'), head);
    });
  });

  it('shows an upload body in flight while it streams, and none after', async () => {
    const { app } = observed;
    const opened = await request(app).post('/v2/team/app/blobs/uploads/').expect(202);
    const location = opened.headers.location as string;
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const patch = http.request({ host: '127.0.0.1', port, method: 'PATCH', path: location, headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } });
      const answered = new Promise<number>((resolve, reject) => {
        patch.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        patch.on('error', reject);
      });
      patch.write(Buffer.alloc(1024, 1));
      await eventually(async () => assert.equal(valueOf(await observed.scrape(), 'uploads_in_flight', { api: 'oci' }), 1));
      patch.end(Buffer.alloc(1024, 2));
      assert.equal(await answered, 202);
      await eventually(async () => {
        const text = await observed.scrape();
        assert.equal(valueOf(text, 'uploads_in_flight', { api: 'oci' }), 0);
        assert.equal(valueOf(text, 'http_request_bytes_total', { route: '/v2/:name/blobs/uploads/:reference', method: 'PATCH' }), 2048);
        assert.equal(valueOf(text, 'storage_operation_duration_seconds_count', { operation: 'appendUpload', outcome: 'ok' }), 1);
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('serves default process metrics alongside', async () => {
    const text = await observed.scrape();
    assert.ok(samplesOf(text, 'process_cpu_seconds_total').length === 1);
    assert.match(text, /^# TYPE nodejs_heap_size_total_bytes gauge$/m);
  });

  it('is refused with a 403 problem when authorizeMetrics says no', async () => {
    await observed.dispose();
    observed = await openObservedApp(target, { authorizeMetrics: () => false });
    const response = await request(observed.app).get('/metrics');
    assertProblem(response, 403, 'DENIED');
    assert.doesNotMatch(response.text, /http_requests_total/);
  });

  it('lets the hook answer asynchronously, or with its own error', async () => {
    const instance = await openTestRegistry(target);
    try {
      const logger = pino({ level: 'silent' });
      const allowed = createHttpApp(instance.registry, logger, undefined, { authorizeMetrics: async () => true });
      assert.match((await request(allowed).get('/metrics').expect(200)).text, /^# HELP http_requests_total/m);
      const challenging = createHttpApp(instance.registry, logger, undefined, {
        authorizeMetrics: () => {
          throw new RegistryError('UNAUTHORIZED', 'authentication required');
        },
      });
      assertProblem(await request(challenging).get('/metrics'), 401, 'UNAUTHORIZED');
    } finally {
      await instance.dispose();
    }
  });

  it('works without instance metrics: the application makes its own, event log head included', async () => {
    const { instance } = observed;
    const app = createHttpApp(instance.registry, pino({ level: 'silent' }));
    await request(app).get('/').expect(200);
    await eventually(async () => {
      const text = (await request(app).get('/metrics').expect(200)).text;
      assert.equal(valueOf(text, 'http_requests_total', { route: '/', method: 'GET', status: '200' }), 1);
      assert.equal(valueOf(text, 'event_log_head_sequence'), await instance.log.lastSequence());
    });
  });
});

function binaryParser(res: unknown, callback: (error: Error | null, body: Buffer) => void): void {
  const response = res as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  response.on('data', (chunk: Buffer) => chunks.push(chunk));
  response.on('end', () => callback(null, Buffer.concat(chunks)));
}
