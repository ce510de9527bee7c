/**
 * Helpers for the hardening tests: a registry served by the real
 * `startServer` on loopback under given limits, and raw sockets that record
 * what came back and when the server hung up.
 */
import net from 'node:net';
import pino, { type Logger } from 'pino';
import type { HttpLimits } from '../../../src/config.js';
import { EMBEDDED_HTTP_LIMITS } from '../../../src/http/hardening/index.js';
import { startServer, type RunningServer } from '../../../src/http/server.js';
import { databaseTargets } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';

/** A registry served over loopback HTTP. */
export interface Served {
  readonly instance: TestRegistry;
  readonly server: RunningServer;
  readonly port: number;
  url(path: string): string;
  close(): Promise<void>;
}

/** Serves a fresh SQLite registry under `limits` (over {@link EMBEDDED_HTTP_LIMITS}). */
export async function serve(limits: Partial<HttpLimits>, logger: Logger = pino({ level: 'silent' })): Promise<Served> {
  const instance = await openTestRegistry(databaseTargets()[0]!);
  const server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, logger, { ...EMBEDDED_HTTP_LIMITS, ...limits });
  const port = server.address.port;
  return {
    instance,
    server,
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      server.server.closeAllConnections();
      await server.close();
      await instance.dispose();
    },
  };
}

/** A raw client connection. */
export interface RawClient {
  readonly socket: net.Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the elapsed milliseconds (since connecting) once the server closes the connection. */
  readonly closed: Promise<number>;
  /** Resolves once `text` has been received. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  write(data: string | Buffer): Promise<void>;
  /** Writes `data` one byte every `intervalMs` until the connection closes or `stop()` is called. */
  drip(data: string, intervalMs: number): { stop(): void };
  destroy(): void;
}

/** Opens a raw TCP connection to the server. */
export async function connect(port: number): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const started = Date.now();
  let data = '';
  let isClosed = false;
  const waiters = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('latin1');
    for (const waiter of waiters) waiter();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => {
    socket.once('close', () => {
      isClosed = true;
      for (const waiter of waiters) waiter();
      resolve(Date.now() - started);
    });
  });
  return {
    socket,
    received: () => data,
    closed,
    waitFor: (text, timeoutMs = 10_000) =>
      new Promise<string>((resolve, reject) => {
        const matches = (): boolean => (typeof text === 'string' ? data.includes(text) : text.test(data));
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${String(text)}; received ${JSON.stringify(data)}`));
        }, timeoutMs);
        const check = (): void => {
          if (matches()) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(data);
          } else if (isClosed) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`connection closed before ${String(text)}; received ${JSON.stringify(data)}`));
          }
        };
        waiters.add(check);
        check();
      }),
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        socket.write(chunk, (error) => (error ? reject(error) : resolve()));
      }),
    drip: (text, intervalMs) => {
      let index = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || index >= text.length) {
          clearInterval(timer);
          return;
        }
        socket.write(text[index]!);
        index += 1;
      }, intervalMs);
      return { stop: () => clearInterval(timer) };
    },
    destroy: () => socket.destroy(),
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until true (or fails after `timeoutMs`). */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/** Starts an OCI upload session on `repository`; returns its location path. */
export async function startOciUpload(served: Served, repository = 'hardening/test'): Promise<string> {
  const response = await fetch(served.url(`/v2/${repository}/blobs/uploads/`), { method: 'POST' });
  if (response.status !== 202) throw new Error(`POST upload session answered ${response.status}: ${await response.text()}`);
  return response.headers.get('location')!;
}
