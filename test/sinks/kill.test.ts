/**
 * A real `serve` child delivering to a slow, HMAC-checking webhook consumer
 * and to NATS JetStream is killed with SIGKILL mid-batch; a second `serve`
 * takes the lease once it expires and resumes from the stored cursor.
 * Every consumer must have received every event at least once, first
 * deliveries in order without a gap; the webhook's repeats are counted, and
 * the JetStream stream must hold each sequence exactly once.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { stringify as toYaml } from 'yaml';
import { createCliEnv, type CliEnv } from '../support/cli-env.js';
import { describeEachDatabase } from '../support/databases.js';
import { listeningUrl, stopChild } from '../reliability/helpers.js';
import {
  assertAtLeastOnceInOrder,
  connectNats,
  deleteStream,
  eventually,
  NATS_URL,
  startPeer,
  streamMessages,
  uniqueStream,
  webhookSequences,
  type RecordingPeer,
} from './peers.js';

const BATCH = 10;

async function createPackages(base: string, count: number, tag: string): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${base}/packages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `killed-${tag}-${i}`, producer: 'sink-kill', retention_class: 'transient' }),
    });
    assert.equal(response.status, 201, await response.text());
  }
}

interface SinkHealth {
  name: string;
  lag: number;
  healthy: boolean;
  delivered_sequence: number | null;
  head: number;
}

async function sinkHealth(base: string): Promise<SinkHealth[]> {
  const body = (await (await fetch(`${base}/health`)).json()) as { sinks: SinkHealth[] };
  return body.sinks;
}

describeEachDatabase('sinks: SIGKILL mid-delivery, then resume in another process', (target) => {
  let env: CliEnv;
  let hook: RecordingPeer;
  let nc: NatsConnection;
  const children: ChildProcess[] = [];
  const { stream, subjectPrefix } = uniqueStream();

  before(async function () {
    this.timeout(60_000);
    env = await createCliEnv(target);
    const migrated = await env.cli(['migrate']);
    assert.equal(migrated.code, 0, migrated.stderr);
    hook = await startPeer({ secret: 'kill-secret', delayMs: 120 });
    nc = await connectNats();
  });
  after(async function () {
    this.timeout(60_000);
    for (const child of children) await stopChild(child);
    await hook?.close();
    if (nc) {
      await deleteStream(nc, stream);
      await nc.close();
    }
    await env?.dispose();
  });

  it('delivers every event at least once, in order, to the webhook and exactly once into JetStream', async function () {
    this.timeout(120_000);
    const sinksFile = path.join(env.workDir, 'sinks.yaml');
    await writeFile(
      sinksFile,
      toYaml({
        lease_ttl: '3s',
        sinks: [
          { name: 'hook', type: 'webhook', url: `${hook.url}/events`, secret: 'kill-secret', batch_size: BATCH, timeout: '2s' },
          { name: 'bus', type: 'nats', url: NATS_URL, stream, subject_prefix: subjectPrefix, batch_size: BATCH, timeout: '2s' },
        ],
      }),
    );
    const serve = (): ChildProcess => {
      const child = env.spawnCli(['serve'], { ARTIFACTSTORE_LISTEN: '127.0.0.1:0', ARTIFACTSTORE_LOG_LEVEL: 'info', ARTIFACTSTORE_SINKS_FILE: sinksFile, ARTIFACTSTORE_AUTH_KEY_FILE: path.join(env.workDir, `key-${children.length}.jwk.json`) });
      children.push(child);
      return child;
    };

    const first = serve();
    const firstUrl = await listeningUrl(first);
    await createPackages(firstUrl, 40, 'a'); // 80 events
    // Kill while the slow consumer holds a batch: it records it, the cursor never moves past it.
    await eventually(() => hook.accepted().length >= 3 && hook.inFlight() > 0, 30_000, 'a batch in flight after three accepted');
    const exited = new Promise<void>((resolve) => first.once('exit', () => resolve()));
    first.kill('SIGKILL');
    await exited;
    const beforeRestart = webhookSequences(hook).length;

    const second = serve();
    const secondUrl = await listeningUrl(second);
    await createPackages(secondUrl, 20, 'b'); // 40 more, while the second catches up
    let last: SinkHealth[] = [];
    await eventually(async () => (last = await sinkHealth(secondUrl)).every((sink) => sink.lag === 0 && sink.head >= 120), 60_000, 'both sinks at the head').catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(last)}`);
    });
    await eventually(() => hook.inFlight() === 0, 5_000, 'the last answer recorded');
    // 120 events of the packages, plus any the server records on its own.
    const head = last[0]!.head;

    const expected = Array.from({ length: head }, (_, i) => i + 1);
    assert.ok(hook.received.every((entry) => entry.status === 200), 'every webhook request carried a valid signature');
    const duplicates = assertAtLeastOnceInOrder(webhookSequences(hook), expected, 'webhook');
    // The batch in flight at the kill was recorded by the consumer but not by the cursor: it comes again.
    assert.ok(duplicates >= 1 && duplicates <= BATCH, `duplicates seen by the webhook: ${duplicates}`);
    const messages = await streamMessages(nc, stream);
    assert.deepEqual(messages.map((message) => message.msgId), expected.map(String), 'JetStream holds each sequence exactly once');
    assert.deepEqual(messages.map((message) => message.event.sequence), expected);

    env.env.ARTIFACTSTORE_SINKS_FILE = sinksFile; // the CLI reads the same file
    const status = await env.cli(['sinks', 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout) as { sinks: SinkHealth[] };
    assert.deepEqual(report.sinks.map((sink) => [sink.name, sink.delivered_sequence, sink.lag, sink.healthy]), [['hook', head, 0, true], ['bus', head, 0, true]]);
    const text = await env.cli(['sinks', 'status']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^NAME\s+TYPE\s+HEALTH\s+CURSOR\s+LAG/);
    assert.match(text.stdout, new RegExp(`\\nhook\\s+webhook\\s+healthy\\s+${head}\\s+0\\s`));
    if (process.env.ARTIFACTSTORE_SINKS_REPORT) {
      console.log(`      [${target.name}] events ${head}; webhook received ${webhookSequences(hook).length} (${beforeRestart} before the kill), duplicates ${duplicates}; JetStream messages ${messages.length}, duplicates ${messages.length - new Set(messages.map((m) => m.msgId)).size}; lag at the end 0`);
    }
  });
});
