/**
 * A fully wired registry on a fresh database and a temp storage root, for
 * tests that exercise use cases end to end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RETENTION_DURATIONS, type Settings } from '../../src/config.js';
import { openRegistry, type RegistryInstance } from '../../src/app.js';
import type { DatabaseTarget } from './databases.js';

/** A registry for one test suite, and how to get rid of it. */
export interface TestRegistry extends RegistryInstance {
  readonly storageRoot: string;
  readonly workDir: string;
  /** Open options another "process" needs to reach the same database (the PostgreSQL schema). */
  readonly openOptions: { schema?: string };
  dispose(): Promise<void>;
}

/** Opens a registry on `target` with its own storage root. */
export async function openTestRegistry(target: DatabaseTarget, overrides: Partial<Settings> = {}): Promise<TestRegistry> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-test-'));
  const storageRoot = path.join(workDir, 'storage');
  const { settings: database, options, drop } = await target.create();
  const settings: Settings = {
    listen: { host: '127.0.0.1', port: 0 },
    database,
    storage: { backend: 'local', localRoot: storageRoot },
    logLevel: 'silent',
    retentionDurations: { ...DEFAULT_RETENTION_DURATIONS },
    oci: { manifestMaxBytes: 4 * 1024 * 1024, uploadTtlSeconds: 86_400 },
    ...overrides,
  };
  const instance = await openRegistry(settings, { ...options, cleanStaging: true });
  return {
    ...instance,
    storageRoot,
    workDir,
    openOptions: options,
    dispose: async () => {
      await instance.close();
      await drop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** An async iterable over `chunks` (strings are UTF-8). */
export async function* bytes(...chunks: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
