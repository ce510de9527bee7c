/**
 * Helpers of the HTTP observability tests: an application over a test
 * registry whose log lines are captured, and polling for what is recorded
 * when a response closes (just after the client has it).
 */
import { Writable } from 'node:stream';
import type { Express } from 'express';
import pino from 'pino';
import request from 'supertest';
import { createHttpApp } from '../../../src/http/app.js';
import type { HttpObservabilityOptions } from '../../../src/http/observability/index.js';
import type { DatabaseTarget } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';

/** Log lines captured from a pino logger, parsed. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly raw: string[] = [];
  readonly logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line === '') continue;
          this.raw.push(line);
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    }),
  );

  /** Access log lines (`msg: request`). */
  accessLines(): Array<Record<string, unknown>> {
    return this.lines.filter((line) => line.msg === 'request');
  }

  /** Waits for the access log line of request `id`. */
  async accessLineOf(id: string): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await eventually(() => {
      found = this.accessLines().find((line) => line.request_id === id);
      if (!found) throw new Error(`no access log line for ${id}`);
    });
    return found!;
  }
}

/** Retries `check` until it stops throwing (or 3 s pass, then throws its last error). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** A registry, its application (metrics: the instance's) and the captured log. */
export interface ObservedApp {
  readonly instance: TestRegistry;
  readonly app: Express;
  readonly log: LogCapture;
  /** Scrapes `/metrics` and returns the exposition. */
  scrape(): Promise<string>;
  dispose(): Promise<void>;
}

/** Opens a registry on `target` and builds its application with `options`. */
export async function openObservedApp(target: DatabaseTarget, options: HttpObservabilityOptions = {}): Promise<ObservedApp> {
  const instance = await openTestRegistry(target);
  const log = new LogCapture();
  const app = createHttpApp(instance.registry, log.logger, undefined, { metrics: instance.metrics, ...options });
  return {
    instance,
    app,
    log,
    scrape: async () => (await request(app).get('/metrics').expect(200)).text,
    dispose: () => instance.dispose(),
  };
}
