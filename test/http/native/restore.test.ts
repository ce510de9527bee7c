/**
 * Retrieval tiers over HTTP (ADR 0022), on every database, through a real
 * server on loopback: an object moved to an archive tier answers 409 on
 * `GET /objects/{address}` (problem+json with `restore_status`), on the file
 * download and on `/v2/` (the OCI envelope, code `UNAVAILABLE`);
 * `POST /objects/{address}/restore` answers 202 and the restore completes in
 * the background, after which every route serves identical bytes.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { startServer, type RunningServer } from '../../../src/http/server.js';
import { describeEachDatabase } from '../../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../../support/registry.js';

const silent = pino({ level: 'silent' });
const actor = 'restore-tester';

describeEachDatabase('POST /objects/{address}/restore and archived reads', (target) => {
  let instance: TestRegistry;
  let server: RunningServer;
  let base: string;
  let content: Buffer;
  let address: string;
  let sha256: string;
  let fileId: string;

  before(async () => {
    const probe = await openTestRegistry(target);
    const workDir = probe.workDir;
    await probe.dispose();
    instance = await openTestRegistry(target, {
      storage: { backend: 'local', localRoot: path.join(workDir, 'hot'), cold: { backend: 'local', localRoot: path.join(workDir, 'archive'), streamable: false } },
    });
    server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, silent);
    base = `http://127.0.0.1:${server.address.port}`;
    const pkg = await instance.registry.createPackage({ name: 'restore-http', producer: 'ci', retentionClass: 'transient' }, actor);
    content = randomBytes(300_000);
    const file = await instance.registry.ingestFile(pkg.id, { relativePath: 'blob.bin', mediaType: 'application/octet-stream' }, bytes(content), actor);
    await instance.registry.finalizePackage(pkg.id, actor);
    address = file.contentAddress;
    sha256 = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    fileId = file.id;
    const moved = await instance.registry.moveToColdTier({ olderThanSeconds: 0, actor });
    assert.ok(moved.ok && moved.moved >= 1);
  });
  after(async () => {
    await server?.close();
    await instance?.dispose();
  });

  it('answers 409 problem+json naming the restore route on the native API, and the OCI envelope on /v2/', async () => {
    const object = await fetch(`${base}/objects/${address}`);
    assert.equal(object.status, 409);
    assert.match(object.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = (await object.json()) as Record<string, unknown>;
    assert.equal(problem['code'], 'OBJECT_ARCHIVED');
    assert.equal(problem['status'], 409);
    assert.equal(problem['restore_status'], 'none');
    assert.equal(problem['restore'], `/objects/${address}/restore`);

    const download = await fetch(`${base}/files/${fileId}/download`);
    assert.equal(download.status, 409);
    assert.equal(((await download.json()) as Record<string, unknown>)['code'], 'OBJECT_ARCHIVED');

    const blob = await fetch(`${base}/v2/packages/blobs/${sha256}`);
    assert.equal(blob.status, 409);
    const envelope = (await blob.json()) as { errors: { code: string; message: string }[] };
    assert.equal(envelope.errors[0]?.code, 'UNAVAILABLE');
    assert.match(envelope.errors[0]?.message ?? '', /restore/);
  });

  it('restores on request (202, then completed) and serves identical bytes everywhere', async () => {
    const first = await fetch(`${base}/objects/${address}/restore`, { method: 'POST' });
    assert.equal(first.status, 202);
    const body = (await first.json()) as { restore_status: string; retrieval_tier: string; scheduled: boolean };
    assert.equal(body.retrieval_tier, 'archive');
    assert.equal(body.restore_status, 'requested');
    assert.equal(body.scheduled, true);

    let status = 0;
    let last: { restore_status?: string; retrieval_tier?: string } = {};
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
      const poll = await fetch(`${base}/objects/${sha256}/restore`, { method: 'POST' });
      status = poll.status;
      last = (await poll.json()) as typeof last;
      if (status === 200) break;
    }
    assert.equal(status, 200, JSON.stringify(last));
    assert.equal(last.retrieval_tier, 'hot');
    assert.equal(last.restore_status, 'completed');

    const object = await fetch(`${base}/objects/${address}`);
    assert.equal(object.status, 200);
    assert.ok(Buffer.from(await object.arrayBuffer()).equals(content));
    const blob = await fetch(`${base}/v2/packages/blobs/${sha256}`);
    assert.equal(blob.status, 200);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(content));

    const verified = await instance.registry.verify({ objects: true });
    assert.ok(verified.ok, JSON.stringify(verified).slice(0, 2000));
  });

  it('answers 404 for an unknown object', async () => {
    const response = await fetch(`${base}/objects/blake3:${'0'.repeat(64)}/restore`, { method: 'POST' });
    assert.equal(response.status, 404);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
  });
});
