import { strict as assert } from 'node:assert';
import pino from 'pino';
import request from 'supertest';
import { startMetricsServer, type RunningMetricsServer } from '../../../src/http/observability/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { valueOf } from '../../observability/exposition.js';
import { eventually, openObservedApp, type ObservedApp } from './support.js';

describeEachDatabase('metrics listener', (target) => {
  let observed: ObservedApp;
  let listener: RunningMetricsServer;
  beforeEach(async () => {
    // The main listener refuses /metrics; the metrics listener serves it to anyone who reaches it.
    observed = await openObservedApp(target, { authorizeMetrics: () => false });
    listener = await startMetricsServer(observed.instance.metrics, { host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
  });
  afterEach(async () => {
    await listener.close();
    await observed.dispose();
  });

  const url = (path: string): string => `http://127.0.0.1:${listener.address.port}${path}`;

  it('serves /metrics without authentication, with the instance series', async () => {
    await request(observed.app).get('/metrics').expect(403);
    await request(observed.app).get('/health').expect(200);
    await eventually(async () => {
      const response = await fetch(url('/metrics'));
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      assert.equal(valueOf(text, 'http_requests_total', { route: '/health', method: 'GET', status: '200' }), 1);
      assert.equal(valueOf(text, 'http_requests_total', { route: '/metrics', method: 'GET', status: '403' }), 1);
      assert.equal(valueOf(text, 'event_log_head_sequence'), await observed.instance.log.lastSequence());
      assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
    });
    const head = await fetch(url('/metrics?x=1'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('serves nothing else', async () => {
    assert.equal((await fetch(url('/'))).status, 404);
    assert.equal((await fetch(url('/health'))).status, 404);
    assert.equal((await fetch(url('/v2/'))).status, 404);
    const post = await fetch(url('/metrics'), { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });
});
