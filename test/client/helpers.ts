/**
 * Shared set-up of the client tests: a real registry served over loopback,
 * a client pointed at it, directories of files, and a fetch that records
 * (and can sabotage) what the client sends.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { ArtifactstoreClient } from '../../src/client/index.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import type { DatabaseTarget } from '../support/databases.js';

/** A registry, its server and a client of it. */
export interface Served {
  readonly instance: TestRegistry;
  readonly server: RunningServer;
  readonly url: string;
  readonly client: ArtifactstoreClient;
  dispose(): Promise<void>;
}

/** Opens a registry on `target` and serves it on 127.0.0.1:<free port>. */
export async function serve(target: DatabaseTarget): Promise<Served> {
  const instance = await openTestRegistry(target);
  const server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${server.address.port}`;
  return {
    instance,
    server,
    url,
    client: new ArtifactstoreClient({ url, retry: FAST_RETRY }),
    dispose: async () => {
      server.server.closeAllConnections();
      await server.close();
      await instance.dispose();
    },
  };
}

/** A retry policy that keeps tests quick. */
export const FAST_RETRY = { attempts: 5, baseDelayMs: 10, maxDelayMs: 50 } as const;

/** One recorded request. */
export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** A fetch that records every request and lets `sabotage` fail some before they leave. */
export function recordingFetch(sabotage?: (request: Recorded, index: number) => boolean): { fetch: typeof fetch; requests: Recorded[]; inFlight: { current: number; max: number } } {
  const requests: Recorded[] = [];
  const inFlight = { current: 0, max: 0 };
  const wrapped: typeof fetch = async (input, init) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const recorded = { method: init?.method ?? 'GET', url: String(input), headers };
    const index = requests.length;
    requests.push(recorded);
    if (sabotage?.(recorded, index)) throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNRESET (sabotaged by the test)'), { code: 'ECONNRESET' }) });
    inFlight.current += 1;
    inFlight.max = Math.max(inFlight.max, inFlight.current);
    try {
      return await fetch(input, init);
    } finally {
      inFlight.current -= 1;
    }
  };
  return { fetch: wrapped, requests, inFlight };
}

/** Writes `files` (relative path → content) under `dir`. */
export async function writeTree(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const absolute = path.join(dir, ...relative.split('/'));
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, content);
  }
}

/** Every regular file under `dir` (relative path → bytes). */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const visit = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const absolute = path.join(current, entry.name);
      if (entry.isDirectory()) await visit(absolute);
      else found.set(path.relative(dir, absolute).split(path.sep).join('/'), await readFile(absolute));
    }
  };
  await visit(dir);
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Deterministic-enough random bytes. */
export function bytesOf(size: number): Buffer {
  return randomBytes(size);
}

/**
 * A proxy in front of `target` that holds every PATCH for `delayMs` before
 * forwarding it: slows uploads down enough to interrupt one on purpose.
 */
export async function slowProxy(target: string, delayMs: number): Promise<{ url: string; seen: Recorded[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const seen: Recorded[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(incoming.headers)) if (typeof value === 'string') headers[key] = value;
    seen.push({ method: incoming.method ?? 'GET', url: incoming.url ?? '/', headers });
    const forward = (): void => {
      const proxied = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      proxied.on('error', () => outgoing.destroy());
      incoming.pipe(proxied);
    };
    if (incoming.method === 'PATCH') setTimeout(forward, delayMs);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
