import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerShippedSchemas } from '../../src/cli/shipped-schemas.js';
import { openFileSource } from '../../src/client/index.js';
import { blake3Hex } from '../../src/identity/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { createCliEnv, type CliEnv } from '../support/cli-env.js';
import { readTree, serve, type Served } from '../client/helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '../support/cli.ts');
const FIXTURE = path.join(here, '../fixtures/guide-board/run-gb-20261127-0042');
const RUN_ID = 'gb-20261127-0042';

/** Runs `artifactstore …args`; never throws on a non-zero exit. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Printed {
  package_id: string;
  manifest_digest: string;
  run_id: string;
  retention_class: string;
  outcome: string;
}

describeEachDatabase('cli guide-board ingest', (target) => {
  let served: Served;
  let work: string;

  before(async () => {
    served = await serve(target);
    // As `serve` does at startup.
    await registerShippedSchemas(served.instance.registry);
    work = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-guide-board-'));
  });
  after(async () => {
    await served.dispose();
    await rm(work, { recursive: true, force: true });
  });

  /** A copy of the fixture run with run.json changed by `change`. */
  async function runCopy(name: string, change: (run: Record<string, unknown>) => void): Promise<string> {
    const dir = path.join(work, name);
    await cp(FIXTURE, dir, { recursive: true });
    const run = JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
    change(run);
    await writeFile(path.join(dir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
    return dir;
  }

  const ingest = (dir: string, ...extra: string[]) => cli(['guide-board', 'ingest', dir, '--url', served.url, ...extra], { ARTIFACTSTORE_GUIDE_BOARD_RETENTION: '' });

  it('ingests the fixture run as one finalized package with validated metadata, and returns it again on a re-run', async function () {
    this.timeout(120_000);
    const first = await ingest(FIXTURE, '--json');
    assert.equal(first.code, 0, first.stderr);
    const printed = JSON.parse(first.stdout) as Printed;
    assert.equal(printed.outcome, 'created');
    assert.equal(printed.run_id, RUN_ID);
    assert.equal(printed.retention_class, 'raw-evidence', 'a failed run keeps its raw evidence');

    const run = JSON.parse(await readFile(path.join(FIXTURE, 'run.json'), 'utf8')) as Record<string, unknown>;
    const pkg = await served.client.getPackage(printed.package_id);
    assert.equal(pkg.status, 'finalized');
    assert.equal(pkg.name, `guide-board/${RUN_ID}`);
    assert.equal(pkg.producer, 'guide-board');
    assert.equal(pkg.subject, 'targets/payments-api@staging');
    assert.equal(pkg.metadata_schema, 'guide-board.run.v1');
    assert.deepEqual(pkg.metadata, run);
    assert.equal(pkg.manifest_digest, printed.manifest_digest);
    const manifest = await served.client.getManifest(pkg.id, 'cbor');
    assert.equal(`blake3:${blake3Hex(manifest.bytes)}`, printed.manifest_digest, 'the printed digest is the digest of the manifest bytes');

    const local = await readTree(FIXTURE);
    const files = await served.client.listFiles(pkg.id);
    assert.deepEqual(files.map((file) => file.relative_path), [...local.keys()]);
    assert.deepEqual(files.map((file) => file.relative_path), [
      'evidence/http-probes.json', 'evidence/tls/scan.json', 'logs/harness.log', 'reports/junit.xml', 'reports/summary.html', 'run.json',
    ]);
    for (const file of files) assert.equal(file.content_address, `blake3:${blake3Hex(local.get(file.relative_path)!)}`, file.relative_path);
    assert.deepEqual(Object.fromEntries(files.map((file) => [file.relative_path, file.media_type])), {
      'evidence/http-probes.json': 'application/json',
      'evidence/tls/scan.json': 'application/json',
      'logs/harness.log': 'text/plain',
      'reports/junit.xml': 'application/xml',
      'reports/summary.html': 'text/html',
      'run.json': 'application/json',
    });

    const found = await served.client.listPackagesPage({ metadata: { run_id: RUN_ID } });
    assert.deepEqual(found.items.map((item) => item.id), [pkg.id]);

    const events = await served.instance.log.count();
    const again = await ingest(FIXTURE);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `package ${pkg.id}\nmanifest ${printed.manifest_digest}\nrun ${RUN_ID} was already ingested\n`);
    assert.equal(await served.instance.log.count(), events, 'a re-run records nothing');
  });

  it('finishes an unfinalized package of the same run instead of creating another', async function () {
    this.timeout(120_000);
    const dir = await runCopy('half-finished', (run) => {
      run.run_id = 'gb-half-finished';
      run.result_status = 'passed';
    });
    const run = JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
    // What an ingest killed after its first upload leaves behind.
    const earlier = await served.client.createPackage({
      name: 'guide-board/gb-half-finished', producer: 'guide-board', subject: String(run.target_profile_ref), retention_class: 'summary-evidence', metadata: run, metadata_schema: 'guide-board.run.v1',
    });
    const runFile = path.join(dir, 'run.json');
    const size = (await readFile(runFile)).byteLength;
    const session = await served.client.startUpload(earlier.id, { relative_path: 'run.json', media_type: 'application/json', size });
    const source = await openFileSource(runFile, size);
    try {
      await served.client.uploadFile(session.id, source);
    } finally {
      await source.close();
    }
    assert.equal((await served.client.listFiles(earlier.id)).length, 1);
    // A run.json changed since the interrupted ingest cannot finish that package.
    const changed = await runCopy('half-finished-changed', (copy) => {
      Object.assign(copy, run, { harness_version: 'guide-board 9.9.9' });
    });
    const refused = await ingest(changed);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`run\\.json differs from the metadata of package ${earlier.id}`));
    const resumed = await ingest(dir, '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    const printed = JSON.parse(resumed.stdout) as Printed;
    assert.equal(printed.package_id, earlier.id);
    assert.equal(printed.outcome, 'resumed');
    assert.equal(printed.retention_class, 'summary-evidence', 'a passed run keeps its summary evidence');
    const pkg = await served.client.getPackage(earlier.id);
    assert.equal(pkg.status, 'finalized');
    assert.equal(pkg.file_count, 6);
    const all = await served.client.listPackagesPage({ producer: 'guide-board', metadata: { run_id: 'gb-half-finished' } });
    assert.deepEqual(all.items.map((item) => item.id), [earlier.id]);
  });

  it('maps result_status to the retention class from --retention or ARTIFACTSTORE_GUIDE_BOARD_RETENTION', async function () {
    this.timeout(120_000);
    const flagged = await runCopy('flagged', (run) => {
      run.run_id = 'gb-retention-flag';
      run.result_status = 'error';
    });
    const byFlag = await ingest(flagged, '--json', '--retention', 'error=raw-evidence');
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.equal((await served.client.getPackage((JSON.parse(byFlag.stdout) as Printed).package_id)).retention_class, 'raw-evidence');
    const fromEnv = await runCopy('from-env', (run) => {
      run.run_id = 'gb-retention-env';
      run.result_status = 'passed';
    });
    const byEnv = await cli(['guide-board', 'ingest', fromEnv, '--url', served.url, '--json'], { ARTIFACTSTORE_GUIDE_BOARD_RETENTION: 'passed=release-evidence' });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.equal((await served.client.getPackage((JSON.parse(byEnv.stdout) as Printed).package_id)).retention_class, 'release-evidence');
  });

  it('refuses a run.json that violates the schema, listing every violation, and creates nothing', async function () {
    this.timeout(120_000);
    const dir = await runCopy('invalid', (run) => {
      delete run.assessment_profile_ref;
      run.result_status = 'maybe';
      run.source_commits = { 'acme/payments-api': 'abc123' };
      run.finding_counts = { high: -1, urgent: 2 };
      run.report_paths = ['../outside.html'];
    });
    const events = await served.instance.log.count();
    const refused = await ingest(dir);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /run\.json does not conform to guide-board\.run\.v1 \(\d+ violations\); nothing was created/);
    for (const expected of [
      "(root): must have required property 'assessment_profile_ref'",
      '/result_status: must be equal to one of the allowed values',
      '/source_commits/acme~1payments-api: must match pattern',
      '/finding_counts/high: must be >= 0',
      '/finding_counts: property name must be valid',
      '/report_paths/0: must match pattern',
    ]) {
      assert.ok(refused.stderr.includes(`  - ${expected}`), `${expected} is listed in:\n${refused.stderr}`);
    }
    const missingReport = await runCopy('missing-report', (run) => {
      run.run_id = 'gb-missing-report';
      run.report_paths = ['reports/summary.html', 'reports/absent.pdf'];
    });
    const absent = await ingest(missingReport);
    assert.equal(absent.code, 1);
    assert.ok(absent.stderr.includes('  - /report_paths/1: reports/absent.pdf is not a file of the run directory'), absent.stderr);
    assert.equal(await served.instance.log.count(), events, 'nothing was recorded');
    const listed = await served.client.listPackagesPage({ producer: 'guide-board', metadata: { run_id: 'gb-missing-report' } });
    assert.deepEqual(listed.items, []);
  });
});

describeEachDatabase('cli guide-board ingest (local registry)', (target) => {
  let env: CliEnv;
  before(async () => {
    env = await createCliEnv(target);
  });
  after(async () => {
    await env.dispose();
  });

  it('ingests into the embedded registry, registering the schema once, and returns the package again', async function () {
    this.timeout(120_000);
    const first = await env.cli(['guide-board', 'ingest', FIXTURE, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const printed = JSON.parse(first.stdout) as Printed;
    assert.equal(printed.outcome, 'created');
    const second = await env.cli(['guide-board', 'ingest', FIXTURE, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), { ...printed, outcome: 'existing' });
    const events = await env.cli(['events']);
    const types = events.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { event_type: string }).event_type);
    assert.equal(types.filter((type) => type === 'v1.metadata_schema.registered').length, 1);
    assert.equal(types.filter((type) => type === 'v1.package.finalized').length, 1);
    const verify = await env.cli(['verify', '--json']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
