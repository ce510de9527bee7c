/**
 * `ingest`: the real CLI (`node bin/artifactstore.js ingest <dir> …`)
 * ingesting a directory holding one 1 GiB random file into a fresh SQLite
 * database and storage root, timed end to end (process start, migrations,
 * read, both digests, staging write + fsync, publish, finalize), with the
 * child's peak RSS.
 *
 * Fair baseline: `cp` of the same file to the same disk, run twice (the
 * first warms the page cache, as it is for the ingest that follows) and the
 * second timed. cp reads and writes the bytes once, which ingest must do too;
 * it neither hashes nor fsyncs, so it is the stricter bound. Info rows break
 * the gap down: cp + `sync` of the copy (what durability costs), reading the
 * file through DualDigestHasher without writing (the hashing ceiling), and
 * the CLI's fixed cost (start-up, migrations, finalize) on a 1-byte file.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DualDigestHasher } from '../src/identity/index.js';
import { MiB, num, printTable, secondsSince, timed, times, withTempDir, type Benchmark } from './lib.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILE_MIB = 1024;
const WRITE_CHUNK = 4 * MiB;
const TARGET_RATIO = 0.5;
const TARGET_RSS_MB = 150; // 10^6 bytes

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  /** Peak resident set in KiB, when measured. */
  readonly peakKiB?: number;
}

/** Runs a command to completion; with `measureRss`, also its peak RSS. */
async function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; measureRss?: string } = {}): Promise<Finished> {
  const useTime = options.measureRss !== undefined && existsSync('/usr/bin/time');
  const [file, argv] = useTime ? ['/usr/bin/time', ['-o', options.measureRss!, '-f', '%M', command, ...args]] : [command, args];
  const start = process.hrtime.bigint();
  const child = spawn(file, argv, { cwd: REPO, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  let polledKiB = 0;
  const poll = options.measureRss !== undefined && !useTime
    ? setInterval(() => (polledKiB = Math.max(polledKiB, vmHwmKiB(child.pid))), 20)
    : undefined;
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exit) => resolve(exit));
  });
  const seconds = secondsSince(start);
  if (poll) clearInterval(poll);
  let peakKiB: number | undefined;
  if (useTime) peakKiB = Number((await readFile(options.measureRss!, 'utf8')).trim().split('\n').pop());
  else if (options.measureRss !== undefined) peakKiB = polledKiB;
  return { code, stdout, stderr, seconds, ...(peakKiB !== undefined ? { peakKiB } : {}) };
}

function vmHwmKiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0; // the process has exited
  }
}

async function checked(what: string, finished: Promise<Finished>): Promise<Finished> {
  const result = await finished;
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}: ${result.stderr.trim()}`);
  return result;
}

/** Runs the real CLI's ingest of `input` against a fresh database and storage root under `home`. */
async function cliIngest(home: string, input: string): Promise<Finished> {
  await mkdir(home, { recursive: true });
  const env = {
    ...process.env,
    ARTIFACTSTORE_DATABASE_URL: path.join(home, 'db', 'artifactstore.db'),
    ARTIFACTSTORE_STORAGE_LOCAL_ROOT: path.join(home, 'storage'),
    ARTIFACTSTORE_LOG_LEVEL: 'warn',
  };
  const args = ['bin/artifactstore.js', 'ingest', input, '--name', 'b', '--producer', 'bench', '--retention-class', 'transient', '--json'];
  return checked('artifactstore ingest', run(process.execPath, args, { env, measureRss: path.join(home, 'rss.txt') }));
}

/** Flushes dirty pages so each timed run starts without writeback of the previous one pending. */
const settle = (): Promise<Finished> => checked('sync', run('sync', []));

export const ingest: Benchmark = {
  name: 'ingest',
  summary: 'CLI ingest of a 1 GiB file vs cp (throughput and peak RSS)',
  async run() {
    console.log('building dist/ (npx tsc -p tsconfig.build.json) …');
    await checked('tsc', run('npx', ['tsc', '-p', 'tsconfig.build.json']));

    await withTempDir('ingest', async (dir) => {
      const input = path.join(dir, 'input');
      const source = path.join(input, 'blob.bin');
      await mkdir(input);
      const chunk = Buffer.allocUnsafe(WRITE_CHUNK);
      const fd = openSync(source, 'w');
      for (let written = 0; written < FILE_MIB * MiB; written += WRITE_CHUNK) writeSync(fd, randomFillSync(chunk));
      closeSync(fd);
      const bytes = (await stat(source)).size;

      // Baseline: cp twice (the first warms the page cache), the second timed.
      const copy = path.join(dir, 'copy.bin');
      await settle();
      await checked('cp (warm-up)', run('cp', [source, copy]));
      await rm(copy);
      await settle();
      const cp = await checked('cp', run('cp', [source, copy]));
      await rm(copy);

      // Info: cp made durable, the in-process hashing ceiling, the CLI's fixed cost.
      await settle();
      const cpSync = await timed(async () => {
        await checked('cp', run('cp', [source, copy]));
        await checked('sync', run('sync', [copy]));
      });
      await rm(copy);
      const hashing = await timed(async () => {
        const hasher = new DualDigestHasher();
        for await (const piece of createReadStream(source, { highWaterMark: WRITE_CHUNK })) hasher.update(piece as Buffer);
        return hasher.digest();
      });
      const tiny = path.join(dir, 'tiny');
      await mkdir(tiny);
      await writeFile(path.join(tiny, 'one.txt'), 'x');
      const fixed = await cliIngest(path.join(dir, 'home-tiny'), tiny);

      await settle();
      const cli = await cliIngest(path.join(dir, 'home'), input);
      const outcome = JSON.parse(cli.stdout) as { package_id: string; manifest_digest: string };
      if (!outcome.package_id || !/^blake3:[0-9a-f]{64}$/.test(outcome.manifest_digest)) throw new Error(`unexpected CLI output: ${cli.stdout}`);

      const mibps = (seconds: number): string => `${num(bytes / MiB / seconds)} (${seconds.toFixed(2)} s)`;
      const ratio = cp.seconds / cli.seconds;
      const rssMB = ((cli.peakKiB ?? NaN) * 1024) / 1e6;
      const how = existsSync('/usr/bin/time') ? '/usr/bin/time %M' : '/proc VmHWM polling';
      printTable(`ingest: ${num(bytes / MiB)} MiB file, whole CLI command vs cp on the same disk`, [
        { measure: 'CLI ingest MiB/s', figure: mibps(cli.seconds), baseline: `${mibps(cp.seconds)} cp`, ratio: times(ratio), target: `≥ ${times(TARGET_RATIO)}`, pass: ratio >= TARGET_RATIO },
        { measure: `CLI peak RSS (${how})`, figure: `${num(rssMB)} MB`, target: `< ${TARGET_RSS_MB} MB`, pass: rssMB < TARGET_RSS_MB },
        { measure: 'cp + sync of the copy MiB/s', figure: mibps(cpSync.seconds), baseline: `${mibps(cp.seconds)} cp`, ratio: times(cp.seconds / cpSync.seconds) },
        { measure: 'read + DualDigestHasher, no write MiB/s', figure: mibps(hashing.seconds), baseline: `${mibps(cp.seconds)} cp`, ratio: times(cp.seconds / hashing.seconds) },
        { measure: 'CLI fixed cost (1-byte directory)', figure: `${fixed.seconds.toFixed(2)} s`, ratio: `${num((100 * fixed.seconds) / cli.seconds)} % of run` },
        { measure: 'CLI MiB/s without its fixed cost', figure: mibps(cli.seconds - fixed.seconds), baseline: `${mibps(cp.seconds)} cp`, ratio: times(cp.seconds / (cli.seconds - fixed.seconds)) },
      ]);
    });
  },
};
