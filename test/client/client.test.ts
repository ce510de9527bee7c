import { strict as assert } from 'node:assert';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeEachDatabase } from '../support/databases.js';
import { walk } from '../../src/cli/ingest.js';
import { guessMediaType } from '../../src/registry/index.js';
import { blake3Hex, dualDigestOf } from '../../src/identity/index.js';
import {
  ArtifactstoreClient,
  PushStateFile,
  RemoteError,
  TransportError,
  openFileSource,
  pullPackage,
  pushPackage,
  type ChunkSource,
  type PushFile,
  type RemoteEvent,
} from '../../src/client/index.js';
import { FAST_RETRY, bytesOf, readTree, recordingFetch, serve, writeTree, type Served } from './helpers.js';
import { latch } from '../support/latch.js';

const CREATE = { name: 'nightly-42', producer: 'ci', retention_class: 'transient', subject: 'svc-a', metadata: { run: '42' } } as const;

/** Asserts the package holds one file, recorded with both digests of `content`. */
async function assertSoleFileIs(client: ArtifactstoreClient, packageId: string, content: Uint8Array): Promise<void> {
  const files = await client.listFiles(packageId);
  assert.equal(files.length, 1);
  const digest = dualDigestOf(content);
  assert.equal(files[0]!.content_address, `blake3:${digest.blake3}`);
  assert.equal(files[0]!.digest_sha256, `sha256:${digest.sha256}`);
}

async function pushFilesOf(dir: string): Promise<PushFile[]> {
  return (await walk(dir)).map((file) => ({ relative_path: file.relative, absolute_path: file.absolute, size: file.size }));
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describeEachDatabase('client', (target) => {
  let served: Served;
  let client: ArtifactstoreClient;
  let work: string;

  beforeEach(async () => {
    served = await serve(target);
    client = served.client;
    work = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-client-'));
  });
  afterEach(async () => {
    await served.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('pushes a directory in chunks and pulls it back byte for byte, manifest included', async () => {
    const source = path.join(work, 'source');
    await writeTree(source, {
      'run.json': '{"run_id":"r-1"}',
      'reports/summary.html': '<html>ok</html>',
      'reports/deep/junit.xml': '<testsuite/>',
      'empty.log': '',
      'big.bin': bytesOf((3 << 20) + 17),
    });
    const pushed = await pushPackage(client, { create: CREATE, files: await pushFilesOf(source), chunkSize: 1 << 20, mediaType: guessMediaType });
    assert.match(pushed.manifest_digest!, /^blake3:[0-9a-f]{64}$/);
    assert.equal(pushed.uploaded.length, 5);

    const pkg = await client.getPackage(pushed.package_id);
    assert.equal(pkg.status, 'finalized');
    assert.equal(pkg.manifest_digest, pushed.manifest_digest);
    assert.equal(pkg.file_count, 5);
    const files = await client.listFiles(pkg.id);
    assert.deepEqual(
      files.map((file) => [file.relative_path, file.media_type]),
      [
        ['big.bin', 'application/octet-stream'],
        ['empty.log', 'text/plain'],
        ['reports/deep/junit.xml', 'application/xml'],
        ['reports/summary.html', 'text/html'],
        ['run.json', 'application/json'],
      ],
    );

    const target = path.join(work, 'target');
    const manifestPath = path.join(work, 'manifest.cbor');
    const pulled = await pullPackage(client, pkg.id, target, { manifestPath });
    assert.equal(pulled.downloaded, 5);
    assert.deepEqual(await readTree(target), await readTree(source));
    const manifest = await readFile(manifestPath);
    assert.equal(`blake3:${blake3Hex(manifest)}`, pushed.manifest_digest);

    // Pulling again finds every file present and verified.
    const again = await pullPackage(client, pkg.id, target);
    assert.equal(again.present, 5);
    assert.equal(again.downloaded, 0);
  });

  it('uploads several files at once, never more than --parallel', async () => {
    const source = path.join(work, 'source');
    const tree: Record<string, Buffer> = {};
    for (let i = 0; i < 8; i += 1) tree[`part-${i}.bin`] = bytesOf(1 << 20);
    await writeTree(source, tree);
    const recorder = recordingFetch();
    const observed = new ArtifactstoreClient({ url: served.url, fetch: recorder.fetch, retry: FAST_RETRY });
    const pushed = await pushPackage(observed, { create: CREATE, files: await pushFilesOf(source), chunkSize: 128 << 10, parallel: 4 });
    assert.ok(recorder.inFlight.max > 1, `expected concurrent requests, saw at most ${recorder.inFlight.max}`);
    assert.ok(recorder.inFlight.max <= 4, `expected at most 4 concurrent requests, saw ${recorder.inFlight.max}`);
    assert.equal(recorder.requests.filter((request) => request.method === 'PATCH').length, 8 * 8);
    const target = path.join(work, 'target');
    await pullPackage(client, pushed.package_id, target, { parallel: 3 });
    assert.deepEqual(await readTree(target), await readTree(source));
  });

  it('re-reads the server offset after a chunk whose answer was lost, and resends from there', async () => {
    const source = path.join(work, 'source');
    const content = bytesOf((2 << 20) + 5);
    await writeTree(source, { 'data.bin': content });
    let patches = 0;
    let uploadUrl = '';
    // The third PATCH reaches the server, but its answer is "lost".
    const base = recordingFetch();
    const lossy: typeof fetch = async (input, init) => {
      const response = await base.fetch(input, init);
      if (init?.method === 'PATCH' && ++patches === 3) {
        uploadUrl = String(input);
        await response.arrayBuffer();
        throw new TypeError('fetch failed', { cause: new Error('socket hang up (test)') });
      }
      return response;
    };
    const flaky = new ArtifactstoreClient({ url: served.url, fetch: lossy, retry: FAST_RETRY });
    const pushed = await pushPackage(flaky, { create: CREATE, files: await pushFilesOf(source), chunkSize: 512 << 10 });
    const sent = base.requests.filter((request) => request.url === uploadUrl);
    const patchRanges = sent.filter((request) => request.method === 'PATCH').map((request) => request.headers['content-range']);
    assert.deepEqual(patchRanges, [
      'bytes 0-524287/2097157',
      'bytes 524288-1048575/2097157',
      'bytes 1048576-1572863/2097157',
      'bytes 1572864-2097151/2097157',
      'bytes 2097152-2097156/2097157',
    ]);
    assert.ok(sent.some((request) => request.method === 'HEAD'), 'the offset was re-read with HEAD');
    await assertSoleFileIs(client, pushed.package_id, content);
  });

  it('hashes each chunk while it travels, once, also when the server did not keep it and it is sent again', async () => {
    const source = path.join(work, 'source');
    const content = bytesOf((2 << 20) + 7);
    await writeTree(source, { 'data.bin': content });
    let patches = 0;
    // The third PATCH never reaches the server, after the client has hashed its bytes.
    const recorder = recordingFetch((request) => request.method === 'PATCH' && ++patches === 3);
    const flaky = new ArtifactstoreClient({ url: served.url, fetch: recorder.fetch, retry: FAST_RETRY });
    const pushed = await pushPackage(flaky, { create: CREATE, files: await pushFilesOf(source), chunkSize: 512 << 10 });
    const patchRanges = recorder.requests.filter((request) => request.method === 'PATCH').map((request) => request.headers['content-range']);
    assert.equal(patchRanges.filter((range) => range === 'bytes 1048576-1572863/2097159').length, 2, 'the lost chunk was sent again');
    // uploadSource compares its digest with the server's record: a digest that kept the lost chunk would have failed the push.
    await assertSoleFileIs(client, pushed.package_id, content);
  });

  it('sends the next chunk while the previous one waits for its answer', async () => {
    const source = path.join(work, 'source');
    const content = bytesOf((3 << 20) + 13);
    await writeTree(source, { 'data.bin': content });
    let patches = 0;
    const second = latch();
    // The first PATCH's answer is held until the second PATCH has been sent:
    // a client that waited for each answer before sending on would never finish.
    const holding: typeof fetch = async (input, init) => {
      if (init?.method !== 'PATCH') return fetch(input, init);
      const number = ++patches;
      if (number === 2) second.open();
      const response = await fetch(input, init);
      if (number === 1) await second.opened;
      return response;
    };
    const pipelined = new ArtifactstoreClient({ url: served.url, fetch: holding, retry: FAST_RETRY });
    const pushed = await pushPackage(pipelined, { create: CREATE, files: await pushFilesOf(source), chunkSize: 1 << 20 });
    assert.equal(patches, 4);
    await assertSoleFileIs(client, pushed.package_id, content);
  });

  it('sends a large chunk as a stream with its Content-Length, not chunked, byte for byte', async () => {
    const seen: { contentLength?: string; transferEncoding?: string; bytes: Buffer }[] = [];
    const server = http.createServer((request, response) => {
      const pieces: Buffer[] = [];
      request.on('data', (piece: Buffer) => pieces.push(piece));
      request.on('end', () => {
        const bytes = Buffer.concat(pieces);
        seen.push({ contentLength: request.headers['content-length'], transferEncoding: request.headers['transfer-encoding'], bytes });
        response.writeHead(200, { 'Content-Type': 'application/json', 'Upload-Offset': String(bytes.length) }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const direct = new ArtifactstoreClient({ url: `http://127.0.0.1:${port}`, retry: FAST_RETRY });
      const big = bytesOf((3 << 20) + 11);
      const small = bytesOf(1000);
      assert.equal((await direct.appendChunk('u', big, 0, big.length)).offset, big.length);
      assert.equal((await direct.appendChunk('u', small, 0, small.length)).offset, small.length);
      assert.equal(seen[0]!.contentLength, String(big.length));
      assert.equal(seen[0]!.transferEncoding, undefined);
      assert.ok(seen[0]!.bytes.equals(big));
      assert.equal(seen[1]!.contentLength, String(small.length));
      assert.ok(seen[1]!.bytes.equals(small));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('resumes an interrupted push from the server offset; present files are skipped', async () => {
    const source = path.join(work, 'source');
    const big = bytesOf((5 << 20) + 3);
    await writeTree(source, { 'a-small.txt': 'first', 'big.bin': big, 'z-later.txt': 'last' });
    const files = await pushFilesOf(source);
    const statePath = path.join(work, 'push-state.json');
    const failAt = (2 << 20) + 100;
    const failing = async (file: PushFile): Promise<ChunkSource> => {
      const real = await openFileSource(file.absolute_path, file.size);
      if (file.relative_path !== 'big.bin') return real;
      return {
        size: real.size,
        read: async (offset, length) => {
          if (offset + length > failAt) throw new Error('the disk went away (test)');
          return real.read(offset, length);
        },
        close: () => real.close(),
      };
    };
    await assert.rejects(
      pushPackage(client, { create: CREATE, files, chunkSize: 1 << 20, parallel: 1, state: new PushStateFile(statePath), openSource: failing }),
      /the disk went away/,
    );
    const state = JSON.parse(await readFile(statePath, 'utf8')) as Record<string, Record<string, string>>;
    const [packageId] = Object.keys(state);
    const uploadId = state[packageId!]!['big.bin']!;
    assert.ok(uploadId, 'the in-flight session is remembered');
    assert.deepEqual((await client.uploadStatus(uploadId)).offset, 2 << 20);
    assert.equal((await client.getPackage(packageId!)).status, 'created');

    const recorder = recordingFetch();
    const resumer = new ArtifactstoreClient({ url: served.url, fetch: recorder.fetch, retry: FAST_RETRY });
    const resumed = await pushPackage(resumer, { resume: packageId!, files, chunkSize: 1 << 20, state: new PushStateFile(statePath) });
    assert.deepEqual(resumed.skipped, ['a-small.txt']);
    assert.deepEqual(resumed.uploaded.map((file) => file.relative_path).sort(), ['big.bin', 'z-later.txt']);
    const firstPatch = recorder.requests.find((request) => request.method === 'PATCH' && request.url.endsWith(`/uploads/${uploadId}`));
    assert.equal(firstPatch?.headers['content-range'], `bytes ${2 << 20}-${(3 << 20) - 1}/${big.length}`);
    assert.equal(resumed.bytes_uploaded, big.length - (2 << 20) + 'last'.length);
    assert.match(resumed.manifest_digest!, /^blake3:/);
    assert.equal(await exists(statePath), false, 'the state file is removed once the push is done');

    const target = path.join(work, 'target');
    await pullPackage(client, packageId!, target);
    assert.deepEqual(await readTree(target), await readTree(source));
  });

  it('resumes a download from a partial file with a Range request', async () => {
    const source = path.join(work, 'source');
    const content = bytesOf((3 << 20) + 11);
    await writeTree(source, { 'data.bin': content });
    const pushed = await pushPackage(client, { create: CREATE, files: await pushFilesOf(source) });
    const [file] = await client.listFiles(pushed.package_id);
    const destination = path.join(work, 'out.bin');
    await writeFile(`${destination}.partial`, content.subarray(0, 1_234_567));

    const recorder = recordingFetch();
    const observed = new ArtifactstoreClient({ url: served.url, fetch: recorder.fetch, retry: FAST_RETRY });
    const result = await observed.download(file!, destination);
    assert.equal(result.resumed_from, 1_234_567);
    assert.deepEqual(
      recorder.requests.map((request) => request.headers.range),
      ['bytes=1234567-'],
    );
    assert.ok((await readFile(destination)).equals(content));
    assert.equal(await exists(`${destination}.partial`), false);
  });

  it('retries a download that fails to connect, and refuses a partial whose bytes are wrong', async () => {
    const source = path.join(work, 'source');
    const content = bytesOf(300_000);
    await writeTree(source, { 'data.bin': content });
    const pushed = await pushPackage(client, { create: CREATE, files: await pushFilesOf(source) });
    const [file] = await client.listFiles(pushed.package_id);

    const recorder = recordingFetch((_request, index) => index < 2);
    const flaky = new ArtifactstoreClient({ url: served.url, fetch: recorder.fetch, retry: FAST_RETRY });
    const destination = path.join(work, 'out.bin');
    await flaky.download(file!.id, destination);
    assert.ok((await readFile(destination)).equals(content));

    // A partial that is not a prefix of the file: detected, deleted.
    const other = path.join(work, 'other.bin');
    const wrong = Buffer.from(content.subarray(0, 1000));
    wrong[10] = wrong[10]! ^ 0xff;
    await writeFile(`${other}.partial`, wrong);
    await assert.rejects(client.download(file!, other), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'DIGEST_MISMATCH');
      return true;
    });
    assert.equal(await exists(`${other}.partial`), false);
    assert.equal(await exists(other), false);
  });

  it('detects a tampered object on download and deletes the partial', async () => {
    const source = path.join(work, 'source');
    const content = bytesOf(200_000);
    await writeTree(source, { 'data.bin': content });
    const pushed = await pushPackage(client, { create: CREATE, files: await pushFilesOf(source) });
    const [file] = await client.listFiles(pushed.package_id);
    const hex = file!.content_address.slice('blake3:'.length);
    const stored = [...(await readTree(served.instance.storageRoot)).keys()].find((key) => key.endsWith(hex));
    assert.ok(stored, `object ${hex} under the storage root`);
    const handle = await open(path.join(served.instance.storageRoot, stored!), 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 12_345);
    byte[0] = byte[0]! ^ 0x01;
    await handle.write(byte, 0, 1, 12_345);
    await handle.close();

    const destination = path.join(work, 'out', 'data.bin');
    await assert.rejects(pullPackage(client, pushed.package_id, path.join(work, 'out')), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'DIGEST_MISMATCH');
      assert.match(String((error as Error).message), /data\.bin/);
      return true;
    });
    assert.equal(await exists(`${destination}.partial`), false, 'the partial is deleted');
    assert.equal(await exists(destination), false, 'nothing unverified is left at the destination');
  });

  it('follows the event log: new events arrive, in order, once', async () => {
    const before = await client.fetchEvents({ since: 0, limit: 1000 });
    const since = before.events.at(-1)?.sequence ?? 0;
    const controller = new AbortController();
    const received: RemoteEvent[] = [];
    const following = (async () => {
      for await (const event of client.events({ since, wait: 5, signal: controller.signal })) {
        received.push(event);
        if (received.length === 4) break;
      }
    })();
    await delay(200);
    const first = await client.createPackage({ name: 'a', producer: 'p', retention_class: 'transient' });
    await delay(100);
    const second = await client.createPackage({ name: 'b', producer: 'p', retention_class: 'transient' });
    const timer = setTimeout(() => controller.abort(), 20_000);
    await following;
    clearTimeout(timer);
    assert.deepEqual(
      received.map((event) => event.sequence),
      [since + 1, since + 2, since + 3, since + 4],
    );
    assert.deepEqual(
      received.map((event) => [event.event_type, event.subject_id]),
      [
        ['v1.package.created', first.id],
        ['v1.retention.default_applied', first.id],
        ['v1.package.created', second.id],
        ['v1.retention.default_applied', second.id],
      ],
    );
  });

  it('reads the whole log through failing connections without skipping or repeating', async () => {
    for (let i = 0; i < 4; i += 1) await client.createPackage({ name: `p${i}`, producer: 'p', retention_class: 'transient' });
    const recorder = recordingFetch((request, index) => request.url.includes('/events') && index % 2 === 0);
    const flaky = new ArtifactstoreClient({ url: served.url, fetch: recorder.fetch, retry: FAST_RETRY });
    const sequences: number[] = [];
    for await (const event of flaky.events({ since: 0, limit: 3, follow: false })) sequences.push(event.sequence);
    assert.deepEqual(sequences, Array.from({ length: 8 }, (_, i) => i + 1));
    assert.ok(recorder.requests.length >= 8, 'several pages, several failures');
  });

  it('reports problem documents as RemoteError and unreachable servers as TransportError', async () => {
    await assert.rejects(client.getPackage('01900000-0000-7000-8000-000000000000'), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'PACKAGE_NOT_FOUND');
      assert.match(error.detail, /01900000-0000-7000-8000-000000000000/);
      return true;
    });
    await assert.rejects(client.createPackage({ name: 'n', producer: 'p', retention_class: 'forever' }), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.status, 400);
      assert.equal(error.code, 'RETENTION_CLASS_UNKNOWN');
      return true;
    });
    const closed = new ArtifactstoreClient({ url: 'http://127.0.0.1:9', retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    await assert.rejects(closed.getPackage('01900000-0000-7000-8000-000000000000'), (error: unknown) => {
      assert.ok(error instanceof TransportError);
      assert.equal(error.attempts, 2);
      return true;
    });
  });

  it('lists packages page by page following next_cursor', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push((await client.createPackage({ name: `p${i}`, producer: 'lister', retention_class: 'transient', metadata: { i: String(i % 2) } })).id);
    await client.createPackage({ name: 'other', producer: 'someone-else', retention_class: 'transient' });
    const listed: string[] = [];
    for await (const pkg of client.listPackages({ producer: 'lister', limit: 2 })) listed.push(pkg.id);
    assert.deepEqual(listed, created);
    const odd: string[] = [];
    for await (const pkg of client.listPackages({ producer: 'lister', metadata: { i: '1' } })) odd.push(pkg.name);
    assert.deepEqual(odd, ['p1', 'p3']);
  });

  it('uploads and completes a session by hand, cancels another', async () => {
    const pkg = await client.createPackage(CREATE);
    const session = await client.startUpload(pkg.id, { relative_path: 'x/y.txt', media_type: 'text/plain', size: 11 });
    assert.equal(session.offset, 0);
    assert.equal((await client.appendChunk(session.id, Buffer.from('hello '), 0, 11)).offset, 6);
    await assert.rejects(client.appendChunk(session.id, Buffer.from('world'), 3, 11), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.code, 'UPLOAD_OFFSET_MISMATCH');
      assert.equal(error.headers.get('upload-offset'), '6');
      return true;
    });
    assert.deepEqual(await client.uploadStatus(session.id), { offset: 6, size: 11 });
    await client.appendChunk(session.id, Buffer.from('world'), 6, 11);
    const file = await client.completeUpload(session.id);
    assert.equal(file.relative_path, 'x/y.txt');
    assert.equal(file.size, 11);

    const other = await client.startUpload(pkg.id, { relative_path: 'z.txt', media_type: 'text/plain' });
    await client.cancelUpload(other.id);
    await assert.rejects(client.uploadStatus(other.id), (error: unknown) => error instanceof RemoteError && error.status === 404);

    const finalized = await client.finalize(pkg.id);
    const cbor = await client.getManifest(pkg.id, 'cbor');
    assert.equal(cbor.digest, finalized.manifest_digest);
    const json = await client.getManifest(pkg.id, 'json');
    assert.equal(json.digest, finalized.manifest_digest);
    assert.equal((JSON.parse(json.bytes.toString('utf8')) as { package: { id: string } }).package.id, pkg.id);
  });
});
