/**
 * `sinks`: how fast outbound sinks drain a 10,000-event SQLite log from
 * sequence 0 (a new sink delivering the history): a webhook on loopback that
 * accepts every batch (100 events per POST, the default), and NATS JetStream
 * on 127.0.0.1:4222 (one acknowledged publish per event, in order).
 *
 * The baseline, measured in the same run, is reading the same log with
 * `EventLog.fetchSince` in batches of 100 (no rendering, no delivery): the
 * ratio says how much of the read rate survives rendering, the peer and the
 * cursor writes. No target: informational.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { connect } from 'nats';
import { openRegistry, type RegistryInstance } from '../src/app.js';
import { DEFAULT_RETENTION_DURATIONS } from '../src/config.js';
import { CursorStore, parseSinks, startSinks } from '../src/sinks/index.js';
import { num, printTable, timed, times, withTempDir, type Benchmark, type ResultRow } from './lib.js';

const EVENTS = 10_000;
const NATS_URL = process.env.ARTIFACTSTORE_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Seconds until the sink `name` has delivered through the head. */
async function drain(instance: RegistryInstance, list: unknown[], name: string): Promise<number> {
  const runner = startSinks({ db: instance.db, log: instance.log, registry: instance.registry }, parseSinks({ sinks: list }).sinks, pino({ level: 'silent' }));
  const store = new CursorStore(instance.db);
  const head = await instance.log.lastSequence();
  try {
    const { seconds } = await timed(async () => {
      for (;;) {
        if ((await store.get(name))?.deliveredSequence === head) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    return seconds;
  } finally {
    await runner.stop();
  }
}

export const sinks: Benchmark = {
  name: 'sinks',
  summary: 'outbound sinks draining 10,000 events: webhook and NATS JetStream vs a bare fetchSince read',
  run: () =>
    withTempDir('sinks', async (dir) => {
      const instance = await openRegistry({
        listen: { host: '127.0.0.1', port: 0 },
        database: { client: 'sqlite', connection: path.join(dir, 'bench.db') },
        storage: { backend: 'local', localRoot: path.join(dir, 'storage') },
        logLevel: 'silent',
        retentionDurations: { ...DEFAULT_RETENTION_DURATIONS },
        oci: { manifestMaxBytes: 4 * 1024 * 1024, uploadTtlSeconds: 86_400 },
      });
      const server = createServer((request, response) => {
        request.resume();
        request.on('end', () => response.writeHead(204).end());
      });
      try {
        // Packages with metadata: two events each, payloads of a realistic size.
        while ((await instance.log.lastSequence()) < EVENTS) {
          await instance.registry.createPackage({ name: `bench-${randomBytes(4).toString('hex')}`, producer: 'bench', retentionClass: 'transient', metadata: { run: 'sinks-bench', build: randomBytes(8).toString('hex') } }, 'bench');
        }
        const head = await instance.log.lastSequence();
        const read = await timed(async () => {
          for (let since = 0; since < head; ) since = (await instance.log.fetchSince(since, 100)).at(-1)!.sequence;
        });
        const readRate = head / read.seconds;
        const baseline = `${num(readRate)} (fetchSince ×100)`;
        const rows: ResultRow[] = [{ measure: 'bare fetchSince read, events/s', figure: `${num(readRate)} (${read.seconds.toFixed(2)} s)` }];

        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
        const webhook = await drain(instance, [{ name: 'hook', type: 'webhook', url, secret: 'bench' }], 'hook');
        rows.push({ measure: 'webhook (100/POST, HMAC) events/s', figure: `${num(head / webhook)} (${webhook.toFixed(2)} s)`, baseline, ratio: times(read.seconds / webhook) });

        const stream = `AS_BENCH_${randomBytes(4).toString('hex')}`;
        const nc = await connect({ servers: NATS_URL });
        try {
          const published = await drain(instance, [{ name: 'bus', type: 'nats', url: NATS_URL, stream, subject_prefix: `asbench.${stream}` }], 'bus');
          rows.push({ measure: 'NATS JetStream (acked, in order) events/s', figure: `${num(head / published)} (${published.toFixed(2)} s)`, baseline, ratio: times(read.seconds / published) });
          const info = await (await nc.jetstreamManager()).streams.info(stream);
          if (info.state.messages !== head) throw new Error(`the stream holds ${info.state.messages} messages, expected ${head}`);
        } finally {
          await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
          await nc.close();
        }
        printTable(`sinks [sqlite]: ${num(head)} events from sequence 0`, rows);
      } finally {
        server.close();
        await instance.close();
      }
    }),
};
