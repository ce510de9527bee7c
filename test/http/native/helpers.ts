/**
 * Helpers for the native API tests: a registry served over loopback HTTP,
 * multipart bodies built byte for byte, and problem-document assertions.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import pino from 'pino';
import request, { type Response } from 'supertest';
import { createHttpApp } from '../../../src/http/app.js';
import { createNativeRouter, type NativeOptions } from '../../../src/http/native/index.js';
import { notFoundHandler, problemHandler } from '../../../src/http/problem.js';
import type { Registry } from '../../../src/registry/index.js';
import type { DatabaseTarget } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';
import { PackageSchema } from '../../../src/http/native/schemas.js';

/** A registry with the native API listening on loopback. */
export interface NativeHarness {
  readonly instance: TestRegistry;
  readonly app: Express;
  readonly agent: ReturnType<typeof request>;
  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string;
  close(): Promise<void>;
}

const logger = pino({ level: 'silent' });

/**
 * Serves `registry` (default: the instance's) with the real application,
 * or — when `options` are given — with the native router alone, configured.
 */
export async function serveNative(instance: TestRegistry, options?: { native?: Partial<NativeOptions>; registry?: Registry }): Promise<NativeHarness> {
  let app: Express;
  if (options === undefined) {
    app = createHttpApp(instance.registry, logger);
  } else {
    app = express();
    app.use(createNativeRouter(options.registry ?? instance.registry, logger, options.native ?? {}));
    app.use(notFoundHandler);
    app.use(problemHandler(logger));
  }
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    instance,
    app,
    agent: request(app),
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a fresh registry on `target` and serves it. */
export async function openNative(target: DatabaseTarget): Promise<NativeHarness> {
  const instance = await openTestRegistry(target);
  const harness = await serveNative(instance);
  return {
    ...harness,
    close: async () => {
      await harness.close();
      await instance.dispose();
    },
  };
}

/** Creates a package over HTTP and returns its JSON. */
export async function createPackage(agent: NativeHarness['agent'], overrides: Record<string, unknown> = {}): Promise<ReturnType<typeof PackageSchema.parse>> {
  const response = await agent
    .post('/packages')
    .send({ name: 'nightly-42', producer: 'ci', retention_class: 'raw-evidence', ...overrides })
    .expect(201);
  return PackageSchema.parse(response.body);
}

/** Asserts `response` is an RFC 7807 problem with `status` and `code`; returns the body. */
export function assertProblem(response: Response, status: number, code: string): Record<string, unknown> {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${response.text}`);
  assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(response.text) as Record<string, unknown>;
  assert.equal(body.code, code, response.text);
  assert.equal(body.status, status);
  assert.equal(body.type, `https://artifactstore.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(typeof body.instance, 'string');
  return body;
}

/** One part of a multipart/form-data body. */
export type FormPart =
  | { field: string; value: string }
  | { file: string; filename?: string; contentType?: string; content: Uint8Array | string; rawDisposition?: string };

/** A multipart/form-data body with exactly these parts, in order. */
export function multipartBody(parts: readonly FormPart[]): { body: Buffer; contentType: string } {
  const boundary = `----native-test-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 16)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('field' in part) {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.field}"\r\n\r\n${part.value}\r\n`, 'utf8'));
      continue;
    }
    const disposition = part.rawDisposition ?? `form-data; name="${part.file}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`Content-Disposition: ${disposition}\r\n`, 'utf8'));
    if (part.contentType) chunks.push(Buffer.from(`Content-Type: ${part.contentType}\r\n`));
    chunks.push(Buffer.from('\r\n'), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** BLAKE3 of bytes by an independent implementation, as `blake3:<hex>`. */
export function blake3Of(bytes: Uint8Array | string): string {
  return `blake3:${Buffer.from(nobleBlake3(typeof bytes === 'string' ? Buffer.from(bytes) : bytes)).toString('hex')}`;
}

/** SHA-256 of bytes, as `sha256:<hex>`. */
export function sha256Of(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Deterministic pseudo-random bytes. */
export function patternBytes(size: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < size; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

/** A promise with its resolver exposed. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** A supertest parser that keeps binary bodies as Buffers. */
export function binary(res: unknown, callback: (error: Error | null, body: Buffer) => void): void {
  const response = res as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  response.on('data', (chunk: Buffer) => chunks.push(chunk));
  response.on('end', () => callback(null, Buffer.concat(chunks)));
  response.on('error', (error: Error) => callback(error, Buffer.alloc(0)));
}
