/**
 * A real S3 server for tests: Ceph RGW on loopback, started by the shared
 * script `../shared/s3/start-rgw.sh` (beside the repository, or beside the local
 * repository it was cloned from) unless
 * `ARTIFACTSTORE_S3_ENDPOINT_URL` already points at one.
 *
 * `ensureRgw()` starts it at most once per test process and resolves with
 * the connection settings. An RGW that is already running (another test
 * process started it: the script records it in `$RGW_DIR/env`) is reused,
 * since starting the script again would kill it under the other run; a lock
 * next to `$RGW_DIR` keeps two processes from starting it at once. An RGW
 * this module started is stopped by a root-level `after` hook once every
 * test has run; one given through the environment or reused is left alone.
 * When the script is missing or fails, the promise rejects with what went
 * wrong, so the tests that need S3 fail rather than skip.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Connection settings of the test S3 server, as the `ARTIFACTSTORE_S3_*` variables give them. */
export interface S3TestEnv {
  endpointUrl: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The workplace's `shared/` directory: next to the repository, or next to
 * the repository it was cloned from when that is a local path (a fresh clone
 * in /tmp of a checkout that sits beside `shared/`).
 */
function sharedDir(): string {
  const beside = path.resolve(repoRoot, '../shared');
  if (existsSync(path.join(beside, 's3', 'start-rgw.sh'))) return beside;
  try {
    const origin = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).trim();
    const local = origin.startsWith('file://') ? fileURLToPath(origin) : origin;
    if (path.isAbsolute(local)) {
      const besideOrigin = path.resolve(local, '../shared');
      if (existsSync(path.join(besideOrigin, 's3', 'start-rgw.sh'))) return besideOrigin;
    }
  } catch {
    // Not a git checkout, or no origin: only the directory beside the repository counts.
  }
  return beside;
}

const SHARED_DIR = sharedDir();
/** The script that starts RGW, shared by every worktree of the repository. */
export const START_RGW_SCRIPT = path.join(SHARED_DIR, 's3', 'start-rgw.sh');
/** The script that stops what START_RGW_SCRIPT started. */
export const STOP_RGW_SCRIPT = path.join(SHARED_DIR, 's3', 'stop-rgw.sh');

/** Where the script keeps its state (its own default unless RGW_DIR is set). */
const RGW_DIR = process.env['RGW_DIR'] || '/tmp/artifactstore-rgw';
/** Held (a directory holding the owner's pid) while one process checks for and starts RGW. */
const START_LOCK = `${RGW_DIR}.start-lock`;

/** Apt installs on a fresh machine take a while; a daemon start never takes this long. */
const START_TIMEOUT_MS = 15 * 60 * 1000;

let pending: Promise<S3TestEnv> | undefined;
let startedHere = false;

/**
 * The test S3 server's settings: from the environment when
 * `ARTIFACTSTORE_S3_ENDPOINT_URL` is set, otherwise from an RGW started now.
 * @throws Error naming the script and its output when RGW cannot be started.
 */
export function ensureRgw(): Promise<S3TestEnv> {
  pending ??= resolveEnv().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

/** Stops RGW if {@link ensureRgw} started it (idempotent). */
export async function stopRgwIfStarted(): Promise<void> {
  if (!startedHere) return;
  startedHere = false;
  pending = undefined;
  await run('bash', [STOP_RGW_SCRIPT], 120_000).catch((error: unknown) => {
    // Leaving a daemon behind must not fail the run; say so.
    process.stderr.write(`warning: stopping RGW failed: ${String(error)}\n`);
  });
}

// One root-level hook for every spec file that uses RGW: stop it after the last test.
if (typeof after === 'function') after(stopRgwIfStarted);

async function resolveEnv(): Promise<S3TestEnv> {
  if (process.env['ARTIFACTSTORE_S3_ENDPOINT_URL']) return envFrom(process.env, 'the environment');
  try {
    await access(START_RGW_SCRIPT);
  } catch {
    throw new Error(
      `S3 tests need a real S3 server: ARTIFACTSTORE_S3_ENDPOINT_URL is not set and ${START_RGW_SCRIPT} does not exist ` +
        '(expected the shared RGW script next to the repository)',
    );
  }
  await lockStart();
  try {
    const running = await runningRgw();
    if (running) return running;
    const { stdout } = await run('bash', [START_RGW_SCRIPT], START_TIMEOUT_MS).catch((error: unknown) => {
      throw new Error(`S3 tests need a real S3 server, and ${START_RGW_SCRIPT} failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    startedHere = true;
    return envFrom(parseExports(stdout), `the output of ${START_RGW_SCRIPT}`);
  } finally {
    await rm(START_LOCK, { recursive: true, force: true });
  }
}

/** The settings of an RGW the script started earlier and that still answers, or null. */
async function runningRgw(): Promise<S3TestEnv | null> {
  let env: S3TestEnv;
  try {
    env = envFrom(parseExports(await readFile(path.join(RGW_DIR, 'env'), 'utf8')), `${RGW_DIR}/env`);
  } catch {
    return null;
  }
  try {
    const response = await fetch(env.endpointUrl, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.ok ? env : null;
  } catch {
    return null;
  }
}

/** Takes {@link START_LOCK}, waiting for a live holder and breaking the lock of a dead one. */
async function lockStart(): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(START_LOCK);
      await writeFile(path.join(START_LOCK, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(await readFile(path.join(START_LOCK, 'pid'), 'utf8').catch(() => ''));
    if (holder > 0 && !isAlive(holder)) await rm(START_LOCK, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${START_LOCK} (held by pid ${holder || 'unknown'})`);
    await sleep(500);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The `export NAME=value` lines of a script's output, as a map. */
function parseExports(text: string): Record<string, string> {
  const exported: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) exported[match[1] as string] = unquote(match[2] as string);
  }
  return exported;
}

function envFrom(source: Record<string, string | undefined>, origin: string): S3TestEnv {
  const get = (name: string): string => {
    const value = source[`ARTIFACTSTORE_S3_${name}`];
    if (!value) throw new Error(`ARTIFACTSTORE_S3_${name} is missing from ${origin}`);
    return value;
  };
  return {
    endpointUrl: get('ENDPOINT_URL'),
    region: source['ARTIFACTSTORE_S3_REGION'] || 'us-east-1',
    bucket: get('BUCKET'),
    accessKeyId: get('ACCESS_KEY_ID'),
    secretAccessKey: get('SECRET_ACCESS_KEY'),
    forcePathStyle: (source['ARTIFACTSTORE_S3_FORCE_PATH_STYLE'] ?? 'true') !== 'false',
  };
}

/** Strips one level of shell quoting from an exported value. */
function unquote(value: string): string {
  if (value.length >= 2 && ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"')))) {
    return value.slice(1, -1);
  }
  return value;
}

/** Runs a command, resolving with its stdout; rejects with the tail of its stderr on a non-zero exit or timeout. */
function run(command: string, args: string[], timeoutMs: number): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout });
      else reject(new Error(`${path.basename(args[0] ?? command)} exited with ${signal ?? `code ${String(code)}`}\n${stderr.split('\n').slice(-40).join('\n')}`));
    });
  });
}
