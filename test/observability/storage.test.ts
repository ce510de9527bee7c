import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RegistryError } from '../../src/errors/index.js';
import { createMetrics, observeBackend, storageOutcomeOf, type StorageOperation, type StorageOutcome } from '../../src/observability/index.js';
import { openLocalBackend } from '../../src/storage/backends/local/index.js';
import type { StorageBackend } from '../../src/storage/index.js';
import { runBackendSuite } from '../storage/backend-suite.js';
import { addressOf, chunked, collect, failingAfter, patternBytes, rejectsWithCode, toArray } from '../storage/support.js';
import { samplesOf, valueOf } from './exposition.js';

// The decorator must be invisible: the whole backend contract holds through it.
runBackendSuite('local, observed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-observed-'));
  const root = path.join(dir, 'storage');
  const ignore = (): void => undefined;
  return {
    backend: observeBackend(await openLocalBackend({ root }), ignore),
    cleanup: () => rm(dir, { recursive: true, force: true }),
    openAnother: async () => observeBackend(await openLocalBackend({ root }), ignore),
  };
});

describe('observed storage backend', () => {
  let dir: string;
  let calls: Array<{ operation: StorageOperation; seconds: number; outcome: StorageOutcome }>;
  let backend: StorageBackend;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-observed-'));
    calls = [];
    backend = observeBackend(await openLocalBackend({ root: path.join(dir, 'storage') }), (operation, seconds, outcome) => calls.push({ operation, seconds, outcome }));
  });
  afterEach(async () => {
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports each call with its operation, a duration and ok', async () => {
    const bytes = patternBytes(100_000);
    const address = addressOf(bytes);
    const staged = await backend.stage(chunked(bytes, [4096]));
    assert.deepEqual(await backend.put(staged, address), { key: backend.keyFor(address), created: true });
    assert.deepEqual(await backend.head(address), { size: bytes.length });
    const read = await backend.get(address, { start: 0, end: 9 });
    assert.deepEqual(await collect(read.stream), bytes.subarray(0, 10));
    assert.deepEqual(await toArray(backend.list()), [address]);
    assert.equal(await backend.delete(address), true);
    assert.deepEqual(
      calls.map((call) => [call.operation, call.outcome]),
      [['stage', 'ok'], ['put', 'ok'], ['head', 'ok'], ['get', 'ok'], ['list', 'ok'], ['delete', 'ok']],
    );
    for (const call of calls) assert.ok(call.seconds >= 0 && call.seconds < 60, `${call.operation} took ${call.seconds}s`);
  });

  it('labels contract refusals, aborts and failures apart', async () => {
    await rejectsWithCode(backend.get(addressOf(Buffer.from('absent'))), 'OBJECT_NOT_FOUND');
    const id = randomUUID();
    await backend.createUpload(id);
    await rejectsWithCode(backend.appendUpload(id, 5, chunked(Buffer.from('x'))), 'UPLOAD_OFFSET_MISMATCH');
    const controller = new AbortController();
    controller.abort(new Error('client went away'));
    await assert.rejects(backend.appendUpload(id, 0, chunked(Buffer.from('abc')), controller.signal));
    await assert.rejects(backend.stage(failingAfter([Buffer.from('partial')], new Error('source broke'))), /source broke/);
    assert.deepEqual(
      calls.map((call) => [call.operation, call.outcome]),
      [['get', 'refused'], ['createUpload', 'ok'], ['appendUpload', 'refused'], ['appendUpload', 'aborted'], ['stage', 'error']],
    );
  });

  it('classifies errors', () => {
    assert.equal(storageOutcomeOf(new RegistryError('STORAGE_FAILURE', 'disk on fire')), 'error');
    assert.equal(storageOutcomeOf(new RegistryError('UPLOAD_NOT_FOUND', 'gone')), 'refused');
    assert.equal(storageOutcomeOf(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), 'aborted');
    assert.equal(storageOutcomeOf(new Error('whatever')), 'error');
    assert.equal(storageOutcomeOf(new Error('whatever'), AbortSignal.abort()), 'aborted');
  });

  it('times a walk until the consumer stops, and reports health by its verdict', async () => {
    for (const text of ['a', 'b', 'c']) {
      const bytes = Buffer.from(text);
      await backend.put(await backend.stage(chunked(bytes)), addressOf(bytes));
    }
    calls = [];
    for await (const address of backend.list()) {
      assert.match(address, /^blake3:/);
      break;
    }
    assert.deepEqual(calls.map((call) => [call.operation, call.outcome]), [['list', 'ok']]);
    assert.equal((await backend.health()).ok, true);
    await rm(path.join(dir, 'storage'), { recursive: true, force: true });
    assert.equal((await backend.health()).ok, false);
    assert.deepEqual(calls.slice(1).map((call) => [call.operation, call.outcome]), [['health', 'ok'], ['health', 'error']]);
  });

  it('never lets a throwing observer fail a call', async () => {
    const throwing = observeBackend(await openLocalBackend({ root: path.join(dir, 'other') }), () => {
      throw new Error('observer bug');
    });
    assert.equal(await throwing.head(addressOf(Buffer.from('x'))), null);
  });

  it('feeds storage_operation_duration_seconds through Metrics', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observed = observeBackend(await openLocalBackend({ root: path.join(dir, 'metered') }), metrics.storageObserver('local'));
    const bytes = Buffer.from('metered bytes');
    await observed.put(await observed.stage(chunked(bytes)), addressOf(bytes));
    await rejectsWithCode(observed.get(addressOf(Buffer.from('nope'))), 'OBJECT_NOT_FOUND');
    const { body } = await metrics.exposition();
    assert.equal(valueOf(body, 'storage_operation_duration_seconds_count', { operation: 'stage', backend: 'local', outcome: 'ok' }), 1);
    assert.equal(valueOf(body, 'storage_operation_duration_seconds_count', { operation: 'put', backend: 'local', outcome: 'ok' }), 1);
    assert.equal(valueOf(body, 'storage_operation_duration_seconds_count', { operation: 'get', backend: 'local', outcome: 'refused' }), 1);
    assert.ok(samplesOf(body, 'storage_operation_duration_seconds_bucket', { operation: 'stage', le: '+Inf' }).length === 1);
  });
});
