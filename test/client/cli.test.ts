import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { describeEachDatabase } from '../support/databases.js';
import { blake3Hex } from '../../src/identity/index.js';
import { bytesOf, readTree, serve, slowProxy, writeTree, type Served } from './helpers.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/cli.ts');

/** Runs `artifactstore …args`; never throws on a non-zero exit. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describeEachDatabase('cli push / pull / events --url', (target) => {
  let served: Served;
  let work: string;
  let source: string;

  beforeEach(async () => {
    served = await serve(target);
    work = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-client-cli-'));
    source = path.join(work, 'source');
  });
  afterEach(async () => {
    await served.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('pushes a directory, pulls it into another, and prints remote events', async function () {
    this.timeout(120_000);
    await writeTree(source, { 'run.json': '{"run_id":"r-1"}', 'reports/summary.html': '<html>ok</html>', 'empty.log': '', 'blob.bin': bytesOf((1 << 20) + 3) });
    const statePath = path.join(work, 'state.json');
    const pushed = await cli([
      'push', source, '--url', served.url, '--name', 'run r-1', '--producer', 'ci', '--retention-class', 'raw-evidence',
      '--subject', 'svc-a', '--metadata', 'run_id=r-1', '--parallel', '2', '--chunk-size', '256KiB', '--state-file', statePath, '--json',
    ]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const { package_id: packageId, manifest_digest: manifestDigest } = JSON.parse(pushed.stdout) as { package_id: string; manifest_digest: string };
    assert.match(manifestDigest, /^blake3:[0-9a-f]{64}$/);
    const pkg = await served.client.getPackage(packageId);
    assert.equal(pkg.status, 'finalized');
    assert.deepEqual(pkg.metadata, { run_id: 'r-1' });
    assert.equal(pkg.subject, 'svc-a');

    const into = path.join(work, 'pulled');
    const manifestPath = path.join(work, 'saved', 'manifest.cbor');
    const pulled = await cli(['pull', packageId, into, '--url', served.url, '--manifest', manifestPath]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, new RegExp(`package ${packageId}\\nmanifest ${manifestDigest}\\nfiles 4, ${(1 << 20) + 3 + 16 + 15} bytes \\(downloaded 4, resumed 0, already present 0\\)`));
    assert.deepEqual(await readTree(into), await readTree(source));
    assert.equal(`blake3:${blake3Hex(await readFile(manifestPath))}`, manifestDigest);

    const events = await cli(['events', '--url', served.url, '--since', '0', '--limit', '3']);
    assert.equal(events.code, 0, events.stderr);
    const lines = events.stdout.trim().split('\n').map((line) => JSON.parse(line) as { sequence: number; event_type: string; subject_id: string });
    assert.deepEqual(lines.map((event) => event.sequence), [1, 2, 3]);
    assert.deepEqual(lines.slice(0, 2).map((event) => [event.event_type, event.subject_id]), [['v1.package.created', packageId], ['v1.retention.default_applied', packageId]]);
  });

  it('events --url --follow prints events as they commit', async function () {
    this.timeout(60_000);
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'events', '--url', served.url, '--follow', '--limit', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await delay(1500);
    const created = await served.client.createPackage({ name: 'live', producer: 'p', retention_class: 'transient' });
    assert.equal(await exited, 0);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { sequence: number; subject_id: string });
    assert.deepEqual(lines.map((event) => [event.sequence, event.subject_id]), [[1, created.id], [2, created.id]]);
  });

  it('continues a push killed mid-transfer with --resume, from the server offset', async function () {
    this.timeout(120_000);
    const big = bytesOf(16 << 20);
    await writeTree(source, { 'big.bin': big, 'note.txt': 'note' });
    const proxy = await slowProxy(served.url, 100);
    try {
      const statePath = path.join(work, 'state.json');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLI, 'push', source, '--url', proxy.url, '--name', 'n', '--producer', 'p', '--retention-class', 'transient', '--chunk-size', '1MiB', '--parallel', '1', '--state-file', statePath, '--json'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

      // Wait until the server holds a few MiB of big.bin, then kill the pusher outright.
      let packageId = '';
      let uploadId = '';
      const deadline = Date.now() + 60_000;
      for (;;) {
        assert.ok(Date.now() < deadline, `the push never got going: ${stderr}`);
        const state = await readFile(statePath, 'utf8').then((text) => JSON.parse(text) as Record<string, Record<string, string>>, () => ({}) as Record<string, Record<string, string>>);
        const entry = Object.entries(state)[0];
        if (entry?.[1]['big.bin']) {
          [packageId, { 'big.bin': uploadId }] = [entry[0], entry[1] as { 'big.bin': string }];
          if ((await served.client.uploadStatus(uploadId)).offset >= 3 << 20) break;
        }
        await delay(20);
      }
      child.kill('SIGKILL');
      await exited;
      await delay(500); // let a chunk the proxy still held land (or not)
      const offset = (await served.client.uploadStatus(uploadId)).offset;
      assert.ok(offset >= 3 << 20 && offset < big.length, `interrupted at ${offset}`);
      assert.equal((await served.client.getPackage(packageId)).status, 'created');

      const before = proxy.seen.length;
      const resumed = await cli(['push', source, '--url', proxy.url, '--resume', packageId, '--chunk-size', '1MiB', '--state-file', statePath, '--json']);
      assert.equal(resumed.code, 0, resumed.stderr);
      const result = JSON.parse(resumed.stdout) as { package_id: string; manifest_digest: string };
      assert.equal(result.package_id, packageId);
      const patches = proxy.seen.slice(before).filter((request) => request.method === 'PATCH' && request.url === `/uploads/${uploadId}`);
      assert.equal(patches[0]?.headers['content-range'], `bytes ${offset}-${offset + (1 << 20) - 1}/${big.length}`, 'the resumed upload starts at the server offset');

      const into = path.join(work, 'pulled');
      const pulled = await cli(['pull', packageId, into, '--url', served.url, '--json']);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal((JSON.parse(pulled.stdout) as { manifest_digest: string }).manifest_digest, result.manifest_digest);
      assert.deepEqual(await readTree(into), await readTree(source));
    } finally {
      await proxy.close();
    }
  });

  it('refuses bad usage and reports remote failures on stderr', async function () {
    this.timeout(120_000);
    await writeTree(source, { 'a.txt': 'a' });
    const missing = await cli(['push', source, '--url', served.url, '--name', 'n']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--producer/);
    assert.match(missing.stderr, /--resume/);

    const badClass = await cli(['push', source, '--url', served.url, '--name', 'n', '--producer', 'p', '--retention-class', 'forever']);
    assert.equal(badClass.code, 1);
    assert.match(badClass.stderr, /^artifactstore: unknown retention class/m);

    const unknown = await cli(['pull', '01900000-0000-7000-8000-000000000000', path.join(work, 'x'), '--url', served.url]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /package not found/);

    const unreachable = await cli(['events', '--url', 'http://127.0.0.1:9']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^artifactstore: GET http:\/\/127\.0\.0\.1:9\/events/m);
  });
});
