/**
 * Two real server processes (`node --import tsx test/support/cli.ts serve`)
 * on one database (for PostgreSQL, the test schema through the URL's
 * `options=-c search_path=…`) and one bucket and key prefix on a real Ceph
 * RGW (test/support/rgw.ts), as two replicas behind a load balancer would
 * be. B answers downloads with redirects to presigned URLs
 * (`ARTIFACTSTORE_S3_REDIRECT=true`), A streams them. skopeo pushes an image
 * index through A and pulls it back through B (following the redirects to
 * the bucket); an OCI chunked upload started on one is finished on the
 * other; both serve the same event log; `verify --objects` re-hashes every
 * object from the bucket afterwards.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildLayouts, parseJson, type Descriptor } from '../../conformance/fixtures/layouts.js';
import { FIXTURES_DIR } from '../../conformance/fixtures/make-fixtures.js';
import { createCliEnv, type CliEnv } from '../support/cli-env.js';
import { describeEachDatabase } from '../support/databases.js';
import { ensureTools, isolatedToolEnv, runTool } from '../support/containers-tools.js';
import { ensureRgw, type S3TestEnv } from '../support/rgw.js';
import { freshS3Prefix, purgeS3Prefix, s3EnvVars } from '../support/s3.js';
import { listeningUrl, stopChild } from './helpers.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const multiArch = buildLayouts().get('multi-arch')!;

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly host: string;
  log(): string;
}

/** `fetch` of `where` on `replica`, failing with the replica's log tail when `status` differs. */
async function call(replica: Replica, method: string, where: string, status: number, init: { body?: Buffer | string; headers?: Record<string, string>; redirect?: 'follow' | 'manual' } = {}): Promise<Response> {
  const response = await fetch(new URL(where, replica.url), { method, ...init });
  if (response.status !== status) {
    const text = await response.text();
    assert.fail(`${replica.name}: ${method} ${where} answered ${response.status}, expected ${status}: ${text.slice(0, 500)}\n--- log ---\n${replica.log().slice(-1500)}`);
  }
  return response;
}

async function allEvents(replica: Replica): Promise<Array<{ sequence: number; event_type: string; subject_id: string; payload_digest: string }>> {
  const events: Array<{ sequence: number; event_type: string; subject_id: string; payload_digest: string }> = [];
  for (let since = 0; ;) {
    const page = (await (await call(replica, 'GET', `/events?since=${since}&limit=1000`, 200)).json()) as { events: typeof events; next_since: number };
    if (page.events.length === 0) return events;
    events.push(...page.events.map(({ sequence, event_type, subject_id, payload_digest }) => ({ sequence, event_type, subject_id, payload_digest })));
    since = page.next_since;
  }
}

/** skopeo in the isolated environment of test/support/containers-tools; resolves with its stdout. */
async function skopeo(env: NodeJS.ProcessEnv, args: string[]): Promise<Buffer> {
  return (await runTool('skopeo', env, ['--insecure-policy', ...args])).stdout;
}

let s3: S3TestEnv;
before(async function () {
  this.timeout(16 * 60 * 1000);
  s3 = await ensureRgw();
  await ensureTools(['skopeo']);
});

describeEachDatabase('reliability: two server processes on one database and one S3 bucket and prefix', (target) => {
  const prefix = freshS3Prefix(`two-servers-${target.name}`);
  let env: CliEnv;
  let scratch: string;
  let skopeoEnv: NodeJS.ProcessEnv;
  const replicas: Replica[] = [];
  let a: Replica;
  let b: Replica;

  before(async function () {
    this.timeout(100_000);
    env = await createCliEnv(target);
    Object.assign(env.env, s3EnvVars(s3, prefix), { ARTIFACTSTORE_STORAGE_BACKEND: 's3' });
    const migrated = await env.cli(['migrate']);
    assert.equal(migrated.code, 0, migrated.stderr);
    for (const [name, redirect] of [['A', 'false'], ['B', 'true']] as const) {
      const child = env.spawnCli(['serve'], {
        ARTIFACTSTORE_LISTEN: '127.0.0.1:0',
        ARTIFACTSTORE_LOG_LEVEL: 'info',
        ARTIFACTSTORE_S3_REDIRECT: redirect,
        ARTIFACTSTORE_AUTH_KEY_FILE: path.join(env.workDir, `auth-${name}`, 'token-signing-key.jwk.json'),
      });
      let log = '';
      const keep = (chunk: Buffer): void => {
        log = (log + chunk.toString()).slice(-20_000);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      const url = await listeningUrl(child);
      replicas.push({ name, child, url, host: new URL(url).host, log: () => log });
    }
    [a, b] = replicas as [Replica, Replica];
    scratch = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-s3-skopeo-'));
    skopeoEnv = await isolatedToolEnv(scratch);
  });
  after(async function () {
    this.timeout(60_000);
    for (const replica of replicas) await stopChild(replica.child);
    await env?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    await purgeS3Prefix(s3, prefix);
  });

  it('both serve from the bucket, report it in /health, and never log the secret key', async () => {
    for (const replica of [a, b]) {
      const health = (await (await call(replica, 'GET', '/health', 200)).json()) as { storage: { backend: string; ok: boolean } };
      assert.deepEqual(health.storage.backend, 's3');
      assert.equal(health.storage.ok, true);
      assert.match(replica.log(), /"bucket":"/, 'the start line shows the storage settings');
      assert.ok(!replica.log().includes(s3.secretAccessKey), `${replica.name} logged the secret key`);
    }
  });

  it('pulls through B (redirected to the bucket) the image index skopeo pushed through A', async function () {
    this.timeout(100_000);
    await skopeo(skopeoEnv, ['copy', '--dest-tls-verify=false', '--all', '--preserve-digests', `oci:${path.join(FIXTURES_DIR, 'multi-arch')}:${multiArch.tag}`, `docker://${a.host}/s3/multi:v1`]);

    // B redirects blob GETs; A streams them.
    const platform = (parseJson(multiArch.manifest.bytes) as { manifests: Descriptor[] }).manifests[0]!;
    const layer = (parseJson(multiArch.blobs.get(platform.digest)!) as { layers: Descriptor[] }).layers[0]!;
    const redirected = await call(b, 'GET', `/v2/s3/multi/blobs/${layer.digest}`, 307, { redirect: 'manual' });
    assert.ok(redirected.headers.get('location')!.startsWith(`${s3.endpointUrl}/`));
    const streamed = await call(a, 'GET', `/v2/s3/multi/blobs/${layer.digest}`, 200, { redirect: 'manual' });
    assert.ok(Buffer.from(await streamed.arrayBuffer()).equals(multiArch.blobs.get(layer.digest)!));

    const pulled = path.join(scratch, 'pulled');
    await skopeo(skopeoEnv, ['copy', '--src-tls-verify=false', '--all', '--preserve-digests', `docker://${b.host}/s3/multi:v1`, `oci:${pulled}:pulled`]);
    const index = parseJson(await readFile(path.join(pulled, 'index.json'))) as { manifests: Descriptor[] };
    assert.equal(index.manifests[0]?.digest, multiArch.manifest.digest);
    const blobs = new Map<string, Buffer>();
    for (const hex of await readdir(path.join(pulled, 'blobs', 'sha256'))) blobs.set(`sha256:${hex}`, await readFile(path.join(pulled, 'blobs', 'sha256', hex)));
    assert.deepEqual([...blobs.keys()].sort(), [...multiArch.blobs.keys()].sort());
    for (const [digest, bytes] of multiArch.blobs) assert.ok(blobs.get(digest)!.equals(bytes), `${digest} came back byte for byte`);
  });

  it('finishes on one server an OCI chunked upload started on the other', async function () {
    this.timeout(60_000);
    const repository = 's3/chunked';
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
    assert.equal((await call(b, 'GET', location, 204)).headers.get('range'), `0-${MiB - 1}`, 'B sees the chunk A stored in the bucket');
    await chunk(b, MiB, 2 * MiB);
    // A resent chunk is refused on either server at the offset the other left.
    await call(a, 'PATCH', location, 416, { body: layer.subarray(0, MiB), headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${MiB - 1}` } });
    const closed = await call(a, 'PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${layerDigest}`, 201, {
      body: layer.subarray(2 * MiB),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${2 * MiB}-${layer.length - 1}` },
    });
    assert.equal(closed.headers.get('docker-content-digest'), layerDigest);
    await call(b, 'GET', location, 404);
    for (const replica of [a, b]) {
      const pulled = await call(replica, 'GET', `/v2/${repository}/blobs/${layerDigest}`, 200);
      assert.ok(Buffer.from(await pulled.arrayBuffer()).equals(layer), `${replica.name} serves the blob completed on A`);
    }
  });

  it('serves the same event sequence on both', async () => {
    const [fromA, fromB] = await Promise.all([allEvents(a), allEvents(b)]);
    // The index push (blob links, three manifests, the tag) and the chunked layer's link.
    assert.ok(fromA.length >= 8, `${fromA.length} events`);
    assert.deepEqual(fromA.map((event) => event.sequence), Array.from({ length: fromA.length }, (_, i) => i + 1), 'the log is 1..N');
    assert.deepEqual(fromB, fromA);
    assert.ok(fromA.some((event) => event.event_type === 'v1.oci.manifest.put' && event.subject_id.startsWith('s3/multi@')));
  });

  it('passes verify --objects from the bucket once both have stopped', async function () {
    this.timeout(60_000);
    for (const replica of replicas) await stopChild(replica.child);
    const verified = await env.cli(['verify', '--objects']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /verify: ok/);
    const checked = Number(/objects checked (\d+)/.exec(verified.stdout)?.[1]);
    assert.ok(checked >= multiArch.blobs.size + 1, `verify re-hashed every blob of the index and the chunked layer (checked ${checked})`);
  });
});
