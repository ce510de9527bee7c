/**
 * The two registries of the `oci` benchmark, each a child process this
 * benchmark starts and stops by pid: ours (`node bin/artifactstore.js serve`
 * on a fresh SQLite database and storage root) and CNCF distribution
 * (`docker-registry serve`, filesystem storage, delete enabled).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverNodeArgs } from './lib.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DISTRIBUTION_BINARY = '/usr/bin/docker-registry';

/** A registry process we started. */
export interface Server {
  readonly label: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The tail of its stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** A port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function launch(label: string, url: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Server {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.on('data', (data: Buffer) => {
    tail = (tail + data.toString()).slice(-8192);
  });
  if (child.pid === undefined) throw new Error(`${label}: could not start ${command}`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    label,
    url,
    child,
    pid,
    stderrTail: () => tail.trim(),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once `GET <url>/v2/` answers 200; fails if the process exits first or after `timeoutMs`. */
async function waitReady(server: Server, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`${server.label} exited during start-up (${server.child.exitCode ?? server.child.signalCode}): ${server.stderrTail()}`);
    }
    const status = await new Promise<number>((resolve) => {
      const request = http.get(`${server.url}/v2/`, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.once('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`${server.label} did not answer GET /v2/ within ${timeoutMs} ms: ${server.stderrTail()}`);
}

/**
 * Starts our server from the built CLI on a fresh database and storage root
 * under `home`, with the launch flags of `bin/artifactstore.js` (and
 * `BENCH_SERVER_NODE_ARGS`); `nodeArgs` go after them (e.g. `--cpu-prof`).
 */
export async function startOurs(home: string, nodeArgs: string[] = []): Promise<Server> {
  await mkdir(home, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    ARTIFACTSTORE_LISTEN: `127.0.0.1:${port}`,
    ARTIFACTSTORE_DATABASE_URL: path.join(home, 'db', 'artifactstore.db'),
    ARTIFACTSTORE_STORAGE_LOCAL_ROOT: path.join(home, 'storage'),
    ARTIFACTSTORE_LOG_LEVEL: 'warn',
    // Distribution limits nothing: measure capacity, not the per-client rate
    // limiter (0 = off; older builds ignore these variables).
    ARTIFACTSTORE_HTTP_RATE_LIMIT: '0',
    ARTIFACTSTORE_HTTP_MAX_CONCURRENT_UPLOADS: '0',
  };
  const server = launch('artifactstore', url, process.execPath, [...serverNodeArgs(nodeArgs), path.join(REPO_ROOT, 'bin', 'artifactstore.js'), 'serve'], env, home);
  await waitReady(server);
  return server;
}

/** Starts distribution with filesystem storage under `home` and delete enabled. */
export async function startDistribution(home: string): Promise<Server> {
  await mkdir(path.join(home, 'storage'), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = path.join(home, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(home, 'storage')}`,
      '  delete:',
      '    enabled: true',
      '  cache:',
      '    blobdescriptor: inmemory',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const server = launch('distribution', url, DISTRIBUTION_BINARY, ['serve', config], { ...process.env }, home);
  await waitReady(server);
  return server;
}

/**
 * Makes sure distribution is installed (`apt-get install -y docker-registry`
 * when missing). Returns why it is unavailable, or null when it is there.
 */
export async function ensureDistribution(): Promise<string | null> {
  if (existsSync(DISTRIBUTION_BINARY)) return null;
  console.log(`${DISTRIBUTION_BINARY} missing: trying apt-get install -y docker-registry …`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('apt-get', ['install', '-y', 'docker-registry'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.once('error', () => resolve(-1));
    child.once('exit', (exit) => resolve(exit));
  });
  if (existsSync(DISTRIBUTION_BINARY)) return null;
  return `docker-registry could not be installed (apt-get exited with ${code})`;
}

/** `field` (VmRSS, VmHWM) of `pid` in KiB; 0 once the process is gone. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Resets `pid`'s VmHWM to its current RSS (Linux ≥ 4.0); false when not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Tracks the peak resident set of `pid` while `work` runs: VmHWM reset just
 * before (when the kernel allows) and read after, and VmRSS polled every
 * 20 ms as a floor; the larger of the two, in bytes.
 */
export async function peakRssDuring<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakBytes: number; idleBytes: number }> {
  const idle = statusKiB(pid, 'VmRSS');
  const reset = resetPeakRss(pid);
  let polled = idle;
  const timer = setInterval(() => (polled = Math.max(polled, statusKiB(pid, 'VmRSS'))), 20);
  try {
    const result = await work();
    const hwm = reset ? statusKiB(pid, 'VmHWM') : 0;
    return { result, peakBytes: Math.max(polled, hwm) * 1024, idleBytes: idle * 1024 };
  } finally {
    clearInterval(timer);
  }
}

let clockTicks: number | undefined;

/** CPU seconds (user + system, all threads) `pid` has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return 0;
  }
}

/**
 * Seconds the threads of `pid` alive now have spent runnable but waiting
 * for a CPU (the second field of /proc/<pid>/task/<tid>/schedstat): how
 * much a run was slowed by other work on the machine.
 */
export function runQueueSeconds(pid: number): number {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1] ?? 0) / 1e9;
      } catch {
        // the thread has exited
      }
    }
  } catch {
    // the process has exited
  }
  return total;
}

/** Runs a command to completion; throws on a non-zero exit. */
export async function runChecked(command: string, args: string[], cwd = REPO_ROOT): Promise<void> {
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('error', reject);
    child.once('close', (exit) => resolve(exit));
  });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
}
