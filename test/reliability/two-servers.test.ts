/**
 * Two real server processes (`node --import tsx test/support/cli.ts serve`)
 * on one database (for PostgreSQL, the test schema through the URL's
 * `options=-c search_path=…`) and one storage root, on different ports, as
 * two replicas behind a load balancer would be: an upload started on one is
 * continued and completed on the other (native sessions and OCI chunked
 * uploads), both serve the same event log and each sees the other's commits
 * as they happen, and `verify --objects` passes afterwards.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { blake3Hex } from '../../src/identity/index.js';
import { createCliEnv, type CliEnv } from '../support/cli-env.js';
import { describeEachDatabase } from '../support/databases.js';
import { listeningUrl, sseMessages, stopChild } from './helpers.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  log(): string;
}

interface EventJson {
  sequence: number;
  event_type: string;
  subject_id: string;
  payload_digest: string;
}

/** `fetch` of `path` on `replica`, failing with the replica's log tail when `status` differs. */
async function call(replica: Replica, method: string, where: string, status: number, init: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Response> {
  const response = await fetch(new URL(where, replica.url), { method, ...init });
  if (response.status !== status) {
    const text = await response.text();
    assert.fail(`${replica.name}: ${method} ${where} answered ${response.status}, expected ${status}: ${text.slice(0, 500)}\n--- log ---\n${replica.log().slice(-1500)}`);
  }
  return response;
}

/** `event_readers_waiting` from the replica's `/metrics` (open to loopback callers while the server runs open). */
async function readersWaiting(replica: Replica): Promise<number> {
  const text = await (await call(replica, 'GET', '/metrics', 200)).text();
  const line = /^event_readers_waiting (\S+)$/m.exec(text);
  assert.ok(line, `${replica.name}: /metrics has event_readers_waiting`);
  return Number(line[1]);
}

/** Resolves once `condition` holds; fails after `timeoutMs`. */
async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const json = (body: unknown): { body: string; headers: Record<string, string> } => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

async function allEvents(replica: Replica): Promise<EventJson[]> {
  const events: EventJson[] = [];
  for (let since = 0; ;) {
    const page = (await (await call(replica, 'GET', `/events?since=${since}&limit=1000`, 200)).json()) as { events: EventJson[]; next_since: number };
    if (page.events.length === 0) return events;
    events.push(...page.events.map(({ sequence, event_type, subject_id, payload_digest }) => ({ sequence, event_type, subject_id, payload_digest })));
    since = page.next_since;
  }
}

describeEachDatabase('reliability: two server processes on one database and storage root', (target) => {
  let env: CliEnv;
  const replicas: Replica[] = [];
  let a: Replica;
  let b: Replica;

  before(async function () {
    this.timeout(120_000);
    env = await createCliEnv(target);
    const migrated = await env.cli(['migrate']);
    assert.equal(migrated.code, 0, migrated.stderr);
    for (const name of ['A', 'B']) {
      const child = env.spawnCli(['serve'], {
        ARTIFACTSTORE_LISTEN: '127.0.0.1:0',
        ARTIFACTSTORE_LOG_LEVEL: 'info',
        ARTIFACTSTORE_AUTH_KEY_FILE: path.join(env.workDir, `auth-${name}`, 'token-signing-key.jwk.json'),
      });
      let log = '';
      const keep = (chunk: Buffer): void => {
        log = (log + chunk.toString()).slice(-20_000);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      replicas.push({ name, child, url: await listeningUrl(child), log: () => log });
    }
    [a, b] = replicas as [Replica, Replica];
    assert.notEqual(a.url, b.url);
  });
  after(async function () {
    this.timeout(60_000);
    for (const replica of replicas) await stopChild(replica.child);
    await env?.dispose();
  });

  it('continues and completes on one server a native upload session started on the other', async function () {
    this.timeout(60_000);
    const content = randomBytes(3 * MiB + 123);
    const digest = sha256(content);
    const blake3 = `blake3:${blake3Hex(content)}`;
    const pkg = (await (await call(a, 'POST', '/packages', 201, json({ name: 'two-servers', producer: 'reliability', retention_class: 'transient' }))).json()) as { id: string };
    const session = (await (await call(a, 'POST', `/packages/${pkg.id}/uploads`, 201, json({ relative_path: 'data/big.bin', media_type: 'application/octet-stream', size: content.length, sha256: digest, blake3 }))).json()) as { id: string; location: string };
    const patch = async (replica: Replica, start: number, end: number, header: 'range' | 'offset', status = 200): Promise<Response> =>
      call(replica, 'PATCH', session.location, status, {
        body: content.subarray(start, end),
        headers: {
          'content-type': 'application/octet-stream',
          ...(header === 'range' ? { 'content-range': `bytes ${start}-${end - 1}/${content.length}` } : { 'upload-offset': String(start) }),
        },
      });

    assert.equal((await patch(a, 0, MiB, 'range')).headers.get('upload-offset'), String(MiB));
    const progress = await call(b, 'HEAD', session.location, 200);
    assert.equal(progress.headers.get('upload-offset'), String(MiB), 'B sees the bytes A stored');
    assert.equal(progress.headers.get('upload-length'), String(content.length));
    assert.equal((await patch(b, MiB, 2 * MiB, 'offset')).headers.get('upload-offset'), String(2 * MiB));
    // A's view of the session is B's: resending the first chunk there is refused at B's offset.
    const stale = await patch(a, 0, MiB, 'range', 416);
    assert.equal(stale.headers.get('upload-offset'), String(2 * MiB));
    assert.equal(((await stale.json()) as { code: string }).code, 'UPLOAD_OFFSET_MISMATCH');
    await patch(a, 2 * MiB, content.length, 'range');
    const file = (await (await call(b, 'POST', `${session.location}/complete`, 201)).json()) as { id: string; size: number; digest_sha256: string; content_address: string };
    assert.equal(file.size, content.length);
    assert.equal(file.digest_sha256, digest);
    assert.equal(file.content_address, blake3);
    await call(a, 'GET', session.location, 404); // the session is gone everywhere

    const downloaded = Buffer.from(await (await call(a, 'GET', `/files/${file.id}/download`, 200)).arrayBuffer());
    assert.ok(downloaded.equals(content), 'A serves the bytes completed on B');
    const finalized = (await (await call(a, 'POST', `/packages/${pkg.id}/finalize`, 200)).json()) as { manifest_digest: string };
    const seenByB = (await (await call(b, 'GET', `/packages/${pkg.id}`, 200)).json()) as { status: string; manifest_digest: string; file_count: number };
    assert.equal(seenByB.status, 'finalized');
    assert.equal(seenByB.manifest_digest, finalized.manifest_digest);
    assert.equal(seenByB.file_count, 1);
    const etags = await Promise.all([a, b].map(async (replica) => (await call(replica, 'GET', `/packages/${pkg.id}/manifest`, 200)).headers.get('etag')));
    assert.equal(etags[0], etags[1]);
  });

  it('continues and completes on one server an OCI chunked upload started on the other', async function () {
    this.timeout(60_000);
    const repository = 'reliability/two-servers';
    const layer = randomBytes(2 * MiB + 7);
    const layerDigest = sha256(layer);
    let location = (await call(a, 'POST', `/v2/${repository}/blobs/uploads/`, 202)).headers.get('location')!;
    const chunk = async (replica: Replica, start: number, end: number): Promise<void> => {
      const response = await call(replica, 'PATCH', location, 202, {
        body: layer.subarray(start, end),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
      });
      assert.equal(response.headers.get('range'), `0-${end - 1}`);
      location = response.headers.get('location')!;
    };
    await chunk(a, 0, MiB);
    const status = await call(b, 'GET', location, 204);
    assert.equal(status.headers.get('range'), `0-${MiB - 1}`, 'B sees the chunk A stored');
    await chunk(b, MiB, 2 * MiB);
    const closed = await call(a, 'PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${layerDigest}`, 201, {
      body: layer.subarray(2 * MiB),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${2 * MiB}-${layer.length - 1}` },
    });
    assert.equal(closed.headers.get('docker-content-digest'), layerDigest);
    const pulled = Buffer.from(await (await call(b, 'GET', `/v2/${repository}/blobs/${layerDigest}`, 200)).arrayBuffer());
    assert.ok(pulled.equals(layer), 'B serves the blob completed on A');

    // A manifest over it pushed to B is served by A.
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    await call(b, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(config)}`, 201, { body: config, headers: { 'content-type': 'application/octet-stream' } });
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }));
    await call(b, 'PUT', `/v2/${repository}/manifests/latest`, 201, { body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    const served = await call(a, 'GET', `/v2/${repository}/manifests/latest`, 200, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(served.headers.get('docker-content-digest'), sha256(manifest));
    assert.ok(Buffer.from(await served.arrayBuffer()).equals(manifest));
  });

  it('serves the same event sequence on both, each seeing the other’s commits as they happen', async function () {
    this.timeout(60_000);
    const since = ((await (await call(a, 'GET', '/health', 200)).json()) as { database: { lastSequence: number } }).database.lastSequence;

    // A long poll on B wakes for a commit made through A: committed only once
    // B's metrics show the poll waiting on its event feed, so the answer can
    // only come through B's wake-up path (SQLite: the data_version probe;
    // PostgreSQL: NOTIFY), not from the poll's first read.
    const started = Date.now();
    const waitingBefore = await readersWaiting(b);
    const poll = fetch(new URL(`/events?since=${since}&wait=20&event_type=v1.package.created`, b.url));
    await until(async () => (await readersWaiting(b)) > waitingBefore, 'B reports the long poll waiting');
    const viaA = (await (await call(a, 'POST', '/packages', 201, json({ name: 'seen-by-b', producer: 'reliability', retention_class: 'transient' }))).json()) as { id: string };
    const page = (await (await poll).json()) as { events: EventJson[] };
    assert.deepEqual(page.events.map((event) => event.subject_id), [viaA.id]);
    assert.ok(Date.now() - started < 15_000, `B's long poll answered in ${Date.now() - started} ms, not at its timeout`);

    // An SSE stream on A delivers a commit made through B.
    const controller = new AbortController();
    const streamsWaitingBefore = await readersWaiting(a);
    const stream = await fetch(new URL(`/events/stream?since=${since + 2}&event_type=v1.package.created`, a.url), { signal: controller.signal });
    assert.equal(stream.status, 200);
    await until(async () => (await readersWaiting(a)) > streamsWaitingBefore, 'A reports the stream waiting');
    const viaB = (await (await call(b, 'POST', '/packages', 201, json({ name: 'seen-by-a', producer: 'reliability', retention_class: 'transient' }))).json()) as { id: string };
    const timer = setTimeout(() => controller.abort(), 15_000);
    let streamed: EventJson | undefined;
    try {
      for await (const message of sseMessages(stream.body!)) {
        if (message.data === undefined) continue;
        streamed = JSON.parse(message.data) as EventJson;
        break;
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    assert.equal(streamed?.subject_id, viaB.id, 'A streamed the package created through B');

    const [fromA, fromB] = await Promise.all([allEvents(a), allEvents(b)]);
    assert.ok(fromA.length > 0);
    assert.deepEqual(fromA.map((event) => event.sequence), Array.from({ length: fromA.length }, (_, i) => i + 1), 'the log is 1..N');
    assert.deepEqual(fromB, fromA, 'both servers serve the same events');
  });

  it('passes verify --objects once both have stopped', async function () {
    this.timeout(60_000);
    for (const replica of replicas) await stopChild(replica.child);
    const verified = await env.cli(['verify', '--objects']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /verify: ok/);
    const checked = Number(/objects checked (\d+)/.exec(verified.stdout)?.[1]);
    assert.ok(checked >= 3, `verify re-hashed the native file, the layer and the config (checked ${checked})`);
  });
});
