/**
 * The servers of the `native` benchmark:
 *
 * - ours, the real CLI (`node bin/artifactstore.js serve`, built from
 *   `dist/`) on a fresh SQLite database and storage root, a child process
 *   this benchmark starts and stops by pid. The per-caller request limits
 *   (`ARTIFACTSTORE_HTTP_RATE_LIMIT`, `…_MAX_CONCURRENT_UPLOADS`) are turned
 *   off: one benchmark client making thousands of requests is exactly what
 *   they exist to stop, and the benchmark measures serving, not throttling;
 * - the download baseline: a bare `node:http` server in a worker thread of
 *   the benchmark process that pipes `fs.createReadStream(file,
 *   {highWaterMark: 1 MiB})` into the response. A worker, not the main
 *   thread, so it has an event loop of its own as our server has, instead
 *   of sharing one with the client that downloads from it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { freePort, REPO_ROOT } from './oci-servers.js';
import { serverNodeArgs } from './lib.js';

/** A server process we started. */
export interface NativeServer {
  readonly url: string;
  readonly pid: number;
  readonly databasePath: string;
  readonly storageRoot: string;
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Where a server's database and storage live under `home`. */
export function serverPaths(home: string): { databasePath: string; storageRoot: string } {
  return { databasePath: path.join(home, 'db', 'artifactstore.db'), storageRoot: path.join(home, 'storage') };
}

/** Starts the built CLI's `serve` on the database and storage under `home`; resolves once `/health` answers 200. */
export async function startNativeServer(home: string): Promise<NativeServer> {
  const { databasePath, storageRoot } = serverPaths(home);
  await mkdir(path.dirname(databasePath), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ARTIFACTSTORE_LISTEN: `127.0.0.1:${port}`,
    ARTIFACTSTORE_DATABASE_URL: databasePath,
    ARTIFACTSTORE_STORAGE_LOCAL_ROOT: storageRoot,
    ARTIFACTSTORE_LOG_LEVEL: 'warn',
    ARTIFACTSTORE_HTTP_RATE_LIMIT: '0',
    ARTIFACTSTORE_HTTP_MAX_CONCURRENT_UPLOADS: '0',
  };
  const child: ChildProcess = spawn(process.execPath, [...serverNodeArgs(), path.join(REPO_ROOT, 'bin', 'artifactstore.js'), 'serve'], { cwd: home, env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid === undefined) throw new Error('could not start artifactstore serve');
  const pid = child.pid;
  let tail = '';
  child.stderr?.on('data', (data: Buffer) => (tail = (tail + data.toString()).slice(-8192)));
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  const server: NativeServer = {
    url,
    pid,
    databasePath,
    storageRoot,
    stderrTail: () => tail.trim(),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`artifactstore serve exited during start-up (${child.exitCode ?? child.signalCode}): ${server.stderrTail()}`);
    const status = await new Promise<number>((resolve) => {
      http.get(`${url}/health`, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).once('error', () => resolve(0));
    });
    if (status === 200) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`artifactstore serve did not answer /health within 60 s: ${server.stderrTail()}`);
}

/** The baseline file server (worker thread); answers every GET with the whole file. */
export interface BaselineServer {
  readonly url: string;
  stop(): Promise<void>;
}

const BASELINE_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const http = require('node:http');
const { file, size } = workerData;
const server = http.createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
  fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(response);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
`;

/** Starts the baseline server for `file` (of `size` bytes) in a worker thread. */
export async function startBaselineServer(file: string, size: number): Promise<BaselineServer> {
  const worker = new Worker(BASELINE_SOURCE, { eval: true, workerData: { file, size } });
  const [port] = (await once(worker, 'message')) as [number];
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      const done = once(worker, 'exit');
      worker.postMessage('stop');
      await done;
    },
  };
}
