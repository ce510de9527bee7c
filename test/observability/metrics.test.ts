import { strict as assert } from 'node:assert';
import { createMetrics } from '../../src/observability/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { samplesOf, valueOf } from './exposition.js';

describe('Metrics', () => {
  it('exposes every series in Prometheus text format', async () => {
    const metrics = createMetrics();
    const { contentType, body } = await metrics.exposition();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    for (const name of [
      'http_requests_total',
      'http_request_duration_seconds',
      'http_request_bytes_total',
      'http_response_bytes_total',
      'uploads_in_flight',
      'event_log_head_sequence',
      'db_query_duration_seconds',
      'storage_operation_duration_seconds',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.equal(valueOf(body, 'uploads_in_flight', { api: 'oci' }), 0);
    assert.equal(valueOf(body, 'uploads_in_flight', { api: 'native' }), 0);
  });

  it('keeps instances apart (a registry per instance) and can leave out process metrics', async () => {
    const first = createMetrics({ processMetrics: false });
    const second = createMetrics({ processMetrics: false });
    first.observeRequest({ route: '/packages', method: 'GET', status: 200, seconds: 0.01, bytesIn: 0, bytesOut: 10 });
    const one = (await first.exposition()).body;
    const two = (await second.exposition()).body;
    assert.equal(valueOf(one, 'http_requests_total', { route: '/packages', method: 'GET', status: '200' }), 1);
    assert.equal(valueOf(one, 'http_response_bytes_total', { route: '/packages', method: 'GET' }), 10);
    assert.equal(samplesOf(two, 'http_requests_total').length, 0);
    assert.doesNotMatch(one, /process_cpu_seconds_total/);
  });

  it('counts upload bodies in flight, once per end', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const end = metrics.uploadStarted('oci');
    metrics.uploadStarted('native');
    assert.equal(valueOf((await metrics.exposition()).body, 'uploads_in_flight', { api: 'oci' }), 1);
    end();
    end();
    const body = (await metrics.exposition()).body;
    assert.equal(valueOf(body, 'uploads_in_flight', { api: 'oci' }), 0);
    assert.equal(valueOf(body, 'uploads_in_flight', { api: 'native' }), 1);
  });

  it('reads event_log_head_sequence on scrape, NaN when the read fails', async () => {
    const metrics = createMetrics({ processMetrics: false });
    let head = 7;
    metrics.trackEventLogHead(async () => head);
    assert.equal(valueOf((await metrics.exposition()).body, 'event_log_head_sequence'), 7);
    head = 9;
    assert.equal(valueOf((await metrics.exposition()).body, 'event_log_head_sequence'), 9);
    metrics.trackEventLogHead(async () => {
      throw new Error('database gone');
    });
    assert.ok(Number.isNaN(valueOf((await metrics.exposition()).body, 'event_log_head_sequence')));
  });
});

describeEachDatabase('instance metrics', (target) => {
  let instance: TestRegistry;
  beforeEach(async () => {
    instance = await openTestRegistry(target);
  });
  afterEach(async () => {
    await instance.dispose();
  });

  it('follow the event log head and the database and storage of the instance', async () => {
    const before = (await instance.metrics.exposition()).body;
    assert.equal(valueOf(before, 'event_log_head_sequence'), await instance.log.lastSequence());
    const selects = valueOf(before, 'db_query_duration_seconds_count', { operation: 'select' });
    const pkg = await instance.registry.createPackage({ name: 'observed', producer: 'ci', retentionClass: 'transient' }, 'tester');
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('observed bytes');
    }
    await instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, body(), 'tester');
    const after = (await instance.metrics.exposition()).body;
    const head = await instance.log.lastSequence();
    assert.ok(head >= 2);
    assert.equal(valueOf(after, 'event_log_head_sequence'), head);
    assert.ok(valueOf(after, 'db_query_duration_seconds_count', { operation: 'insert', outcome: 'ok' }) > 0);
    assert.ok(valueOf(after, 'db_query_duration_seconds_count', { operation: 'select' }) > selects);
    assert.equal(valueOf(after, 'storage_operation_duration_seconds_count', { operation: 'stage', backend: 'local', outcome: 'ok' }), 1);
    assert.equal(valueOf(after, 'storage_operation_duration_seconds_count', { operation: 'put', backend: 'local', outcome: 'ok' }), 1);
  });
});
