import { strict as assert } from 'node:assert';
import { mkdir, readdir, writeFile, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeEachDatabase } from '../support/databases.js';
import { createCliEnv, type CliEnv } from '../support/cli-env.js';
import { blake3Hex } from '../../src/identity/index.js';
import { decodeManifest } from '../../src/manifest/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const absolute = path.join(current, entry.name);
      if (entry.isDirectory()) await visit(absolute);
      else found.push(path.relative(dir, absolute));
    }
  };
  await visit(dir);
  return found.sort();
}

describeEachDatabase('cli', (target) => {
  let env: CliEnv;
  let runDir: string;

  beforeEach(async () => {
    env = await createCliEnv(target);
    runDir = path.join(env.workDir, 'run');
    await mkdir(path.join(runDir, 'reports'), { recursive: true });
    await writeFile(path.join(runDir, 'run.json'), '{"run_id":"r-1"}');
    await writeFile(path.join(runDir, 'reports', 'summary.html'), '<html>ok</html>');
    await writeFile(path.join(runDir, 'reports', 'junit.xml'), '<testsuite/>');
    await writeFile(path.join(runDir, 'empty.log'), '');
  });
  afterEach(async () => {
    await env.dispose();
  });

  it('ingests a directory, prints its manifest, events, and verifies', async function () {
    this.timeout(120_000);
    const migrated = await env.cli(['migrate']);
    assert.equal(migrated.code, 0, migrated.stderr);
    const ingested = await env.cli(['ingest', runDir, '--name', 'run r-1', '--producer', 'guide-board', '--retention-class', 'raw-evidence', '--subject', 'svc-a', '--metadata', 'run_id=r-1', '--json']);
    assert.equal(ingested.code, 0, ingested.stderr);
    const { package_id: packageId, manifest_digest: manifestDigest } = JSON.parse(ingested.stdout) as { package_id: string; manifest_digest: string };
    assert.match(manifestDigest, /^blake3:[0-9a-f]{64}$/);

    const cbor = await env.cli(['manifest', packageId]);
    assert.equal(cbor.code, 0, cbor.stderr);
    assert.equal(`blake3:${blake3Hex(cbor.raw)}`, manifestDigest, 'manifest bytes hash to the manifest digest');
    const manifest = decodeManifest(cbor.raw);
    assert.deepEqual(manifest.files.map((file) => [file.relative_path, file.media_type, file.size]), [
      ['empty.log', 'text/plain', 0],
      ['reports/junit.xml', 'application/xml', 12],
      ['reports/summary.html', 'text/html', 15],
      ['run.json', 'application/json', 16],
    ]);
    assert.deepEqual(manifest.package.metadata, { run_id: 'r-1' });
    assert.equal(manifest.package.subject, 'svc-a');

    const json = await env.cli(['manifest', packageId, '--format', 'json']);
    assert.equal(JSON.parse(json.stdout).package.id, packageId);

    const events = await env.cli(['events', '--since', '1', '--limit', '3']);
    const lines = events.stdout.trim().split('\n').map((line) => JSON.parse(line) as { sequence: number; event_type: string });
    assert.deepEqual(lines.map((event) => event.sequence), [2, 3, 4]);
    assert.equal(lines[0]!.event_type, 'v1.retention.default_applied');

    const verified = await env.cli(['verify', '--objects']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /verify: ok/);
    // 4 files, plus the package's OCI face: the empty config and its OCI manifest.
    assert.match(verified.stdout, /objects checked 6, unreferenced 0/);

    const replayed = await env.cli(['replay']);
    assert.equal(replayed.code, 0, replayed.stderr);
    const all = await env.cli(['events']);
    const total = all.stdout.trim().split('\n').length;
    assert.match(replayed.stdout, new RegExp(`replayed ${total} events .* events/s`));

    const health = await env.cli(['health']);
    assert.equal(health.code, 0, health.stderr);
    assert.equal(JSON.parse(health.stdout).status, 'ok');
  });

  it('verify --objects reports a flipped byte in a stored object', async function () {
    this.timeout(120_000);
    const ingested = await env.cli(['ingest', runDir, '--name', 'n', '--producer', 'p', '--retention-class', 'transient', '--json']);
    assert.equal(ingested.code, 0, ingested.stderr);
    const objectPath = (await filesUnder(env.storageRoot)).find((file) => file.startsWith('blake3/') && !file.endsWith(blake3Hex(Buffer.alloc(0))))!;
    const handle = await open(path.join(env.storageRoot, objectPath), 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 0);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, 0);
    await handle.close();
    const verified = await env.cli(['verify', '--objects']);
    assert.equal(verified.code, 1);
    assert.match(verified.stdout, new RegExp(`OBJECT blake3:${path.basename(objectPath)}`));
    assert.match(verified.stdout, /verify: FAILED/);
  });

  it('refuses bad input with a clear message and a non-zero exit', async () => {
    const badClass = await env.cli(['ingest', runDir, '--name', 'n', '--producer', 'p', '--retention-class', 'forever']);
    assert.equal(badClass.code, 1);
    assert.match(badClass.stderr, /unknown retention class/);
    const missing = await env.cli(['ingest', runDir, '--name', 'n']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--producer/);
    const badMetadata = await env.cli(['ingest', runDir, '--name', 'n', '--producer', 'p', '--retention-class', 'transient', '--metadata', 'novalue']);
    assert.equal(badMetadata.code, 1);
    assert.match(badMetadata.stderr, /key=value/);
  });

  it('leaves no partial object or temp file after a SIGKILL mid-ingest, and verify --objects passes', async function () {
    this.timeout(120_000);
    assert.equal((await env.cli(['migrate'])).code, 0);
    const child = env.spawnScript(path.join(here, '../support/slow-ingest.ts'), ['64']);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('midway')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${output}`)));
    });
    const staged = (await filesUnder(env.storageRoot)).filter((file) => !file.startsWith('blake3/'));
    assert.ok(staged.length > 0, 'the interrupted write left a staging file behind');
    let stagedBytes = 0;
    for (const file of staged) stagedBytes += (await stat(path.join(env.storageRoot, file))).size;
    assert.ok(stagedBytes > 0, 'the staging file holds part of the upload');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    // Restart the server: its startup removes leftovers; verify is then clean.
    const server = env.spawnCli(['serve'], { ARTIFACTSTORE_LISTEN: '127.0.0.1:0', ARTIFACTSTORE_LOG_LEVEL: 'info' });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      server.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('listening on')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`serve exited (${code}): ${log}`)));
    });
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    assert.deepEqual(await filesUnder(env.storageRoot).then((files) => files.filter((file) => !file.startsWith('blake3/'))), [], 'no temp file survives startup');
    assert.deepEqual(await filesUnder(path.join(env.storageRoot, 'blake3')), [], 'no partial object was published');
    const cleaned = await env.cli(['verify', '--objects']);
    assert.equal(cleaned.code, 0, cleaned.stdout + cleaned.stderr);
    assert.match(cleaned.stdout, /objects checked 0/);
  });
});
