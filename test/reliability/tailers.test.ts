/**
 * Ten tailers follow the event log over HTTP while four concurrent writers
 * commit 5,000 writes (createPackage and ingestFile, alternately) through
 * the registry: two in this process, through the instance the server reads
 * (tailers are woken in-process), and two in a child process with its own
 * registry on the same database and storage root, as a CLI ingest beside
 * the server would be (woken by NOTIFY on PostgreSQL, by polling on SQLite).
 *
 * Five long-poll readers (`GET /events?since&wait`, with different page
 * sizes; one cuts off some of its own polls and asks again, one joins late)
 * and five SSE readers (`GET /events/stream`; three are disconnected midway,
 * one of them three times, and resume with `Last-Event-ID`; one joins late).
 * Every one must receive every event exactly once, in order: its sequences
 * are exactly 1..N and each event's payload digest is the log's.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { serveNative, type NativeHarness } from '../http/native/helpers.js';
import { logEvents, longPollTailer, sseTailer, writeLoop, type SeenEvent, type TailPlan } from './helpers.js';

/** createPackage and ingestFile calls, all writers together. */
const WRITES = 5_000;
/** Writers in this process, and in the child. */
const LOCAL_WRITERS = 2;
const CHILD_WRITERS = 2;
/** After the last write, how long the tailers may take to catch up. */
const DRAIN_MS = 30_000;
const WRITER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer-process.ts');

/** Runs the child writer; resolves with the writes it made. */
async function childWriters(instance: TestRegistry, writes: number): Promise<number> {
  const config = JSON.stringify({ settings: instance.settings, options: instance.openOptions });
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER_SCRIPT, config, String(writes), String(CHILD_WRITERS), 'child'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `the child writer failed: ${stderr}`);
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { writes: number }).writes;
}

describeEachDatabase('reliability: ten HTTP tailers during 5,000 concurrent writes', (target) => {
  let instance: TestRegistry;
  let native: NativeHarness;
  before(async () => {
    instance = await openTestRegistry(target);
    native = await serveNative(instance);
  });
  after(async () => {
    await native?.close();
    await instance?.dispose();
  });

  it('every tailer receives every event exactly once, in order, through forced disconnects and late joins', async function () {
    this.timeout(240_000);
    const base = native.url('').replace(/\/$/, '');
    const known: { total?: number } = {};
    const deadline = new AbortController();
    const plan: TailPlan = { total: () => known.total, signal: deadline.signal };

    const localBudget = { left: WRITES / 2 };
    let lateStart: () => void = () => undefined;
    const late = new Promise<void>((resolve) => (lateStart = resolve));
    const onWrite = (): void => {
      if (localBudget.left <= WRITES / 2 - WRITES / 6) lateStart(); // a third of the local writes are made
    };

    const tailers: Array<{ label: string; run: Promise<SeenEvent[]>; reconnects?: () => number }> = [];
    const longPoll = (label: string, limit: number, abortEvery = 0, after?: Promise<void>): void => {
      tailers.push({ label, run: (async () => { await after; return longPollTailer(base, limit, plan, abortEvery); })() });
    };
    const sse = (label: string, disconnectAt: number[], after?: Promise<void>): void => {
      let reconnects = 0;
      tailers.push({
        label,
        reconnects: () => reconnects,
        run: (async () => {
          await after;
          const result = await sseTailer(base, plan, disconnectAt);
          reconnects = result.reconnects;
          return result.seen;
        })(),
      });
    };
    longPoll('long-poll limit 1000', 1000);
    longPoll('long-poll limit 100', 100);
    longPoll('long-poll limit 37', 37);
    longPoll('long-poll limit 500, every 5th poll cut off', 500, 5);
    longPoll('long-poll limit 250, joins late', 250, 0, late);
    sse('SSE', []);
    sse('SSE, joins late', [], late);
    sse('SSE, disconnected once', [1_500]);
    sse('SSE, disconnected twice', [700, 4_000]);
    sse('SSE, disconnected three times', [1, 2_500, 5_500]);
    // Tailers never hang the suite: one failing, or the deadline, stops them all; the assertions below say why.
    tailers.forEach((tailer) => tailer.run.catch(() => deadline.abort()));

    const started = Date.now();
    let writes: number[];
    try {
      writes = await Promise.all([
        childWriters(instance, WRITES / 2),
        ...Array.from({ length: LOCAL_WRITERS }, (_, w) => writeLoop(instance.registry, `local${w}`, localBudget, onWrite)),
      ]);
    } catch (error) {
      deadline.abort();
      await Promise.allSettled(tailers.map((tailer) => tailer.run));
      throw error;
    }
    const writeSeconds = (Date.now() - started) / 1000;
    assert.equal(writes.reduce((sum, n) => sum + n, 0), WRITES);
    const total = await instance.log.lastSequence();
    known.total = total;
    const timer = setTimeout(() => deadline.abort(), DRAIN_MS);
    const settled = await Promise.allSettled(tailers.map((tailer) => tailer.run));
    clearTimeout(timer);
    // A tailer that failed stopped the others: report it, not their shortfall.
    settled.forEach((result, i) => {
      if (result.status === 'rejected') throw new Error(`${tailers[i]!.label} failed: ${String(result.reason)}`);
    });

    const truth = await logEvents(instance);
    assert.equal(truth.length, total);
    assert.deepEqual(truth.map((event) => event.sequence), Array.from({ length: total }, (_, i) => i + 1), 'the log itself is 1..N');
    assert.ok(total >= WRITES, `${WRITES} writes recorded at least ${WRITES} events (got ${total} in ${writeSeconds.toFixed(1)} s)`);
    settled.forEach((result, i) => {
      const { label } = tailers[i]!;
      const seen = (result as PromiseFulfilledResult<SeenEvent[]>).value;
      const sequences = seen.map((event) => event.sequence);
      const repeats = sequences.length - new Set(sequences).size;
      assert.equal(repeats, 0, `${label}: ${repeats} events received more than once`);
      assert.equal(seen.length, total, `${label}: received ${seen.length} of ${total} events within ${DRAIN_MS} ms of the last write`);
      assert.deepEqual(sequences, truth.map((event) => event.sequence), `${label}: sequences are 1..${total} in order`);
      assert.deepEqual(seen, truth, `${label}: every event's payload digest is the log's`);
    });
    for (const tailer of tailers) {
      if (tailer.label.includes('disconnected')) assert.ok(tailer.reconnects!() >= 1, `${tailer.label} was disconnected and resumed`);
    }
  });
});
