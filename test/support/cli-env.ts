/**
 * Environments for running the real CLI as a child process against a test
 * database target: SQLite files, or a throwaway PostgreSQL schema selected
 * through the connection URL's `options=-c search_path=…`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openDatabase } from '../../src/db/index.js';
import type { DatabaseTarget } from './databases.js';

const run = promisify(execFile);
const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.ts');

/** A CLI environment: a database, a storage root and a work dir. */
export interface CliEnv {
  readonly env: NodeJS.ProcessEnv;
  readonly workDir: string;
  readonly storageRoot: string;
  /** Runs `artifactstore …args`; never throws on a non-zero exit. */
  cli(args: string[], options?: { encoding?: 'buffer' }): Promise<{ code: number; stdout: string; stderr: string; raw: Buffer }>;
  /** Spawns a TS script with this environment. */
  spawnScript(script: string, args: string[]): ChildProcess;
  /** Spawns `artifactstore …args` with this environment plus `extra`. */
  spawnCli(args: string[], extra?: NodeJS.ProcessEnv): ChildProcess;
  dispose(): Promise<void>;
}

/** Creates a fresh CLI environment for `target`. */
export async function createCliEnv(target: DatabaseTarget): Promise<CliEnv> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-cli-'));
  const storageRoot = path.join(workDir, 'storage');
  const { settings, options, drop } = await target.create();
  let databaseUrl = settings.connection;
  if (settings.client === 'postgres' && options.schema) {
    const admin = await openDatabase(settings, options); // creates the schema
    await admin.close();
    const url = new URL(settings.connection);
    url.searchParams.set('options', `-c search_path=${options.schema}`);
    databaseUrl = url.toString();
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ARTIFACTSTORE_DATABASE_URL: databaseUrl,
    ARTIFACTSTORE_STORAGE_LOCAL_ROOT: storageRoot,
    ARTIFACTSTORE_LOG_LEVEL: 'warn',
  };
  return {
    env,
    workDir,
    storageRoot,
    cli: async (args) => {
      try {
        const result = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { env, encoding: 'buffer', maxBuffer: 64 << 20 });
        return { code: 0, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8'), raw: result.stdout };
      } catch (error) {
        const failed = error as { code?: number; stdout?: Buffer; stderr?: Buffer };
        if (typeof failed.code !== 'number') throw error;
        return { code: failed.code, stdout: failed.stdout?.toString('utf8') ?? '', stderr: failed.stderr?.toString('utf8') ?? '', raw: failed.stdout ?? Buffer.alloc(0) };
      }
    },
    spawnCli: (args, extra = {}) => spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] }),
    spawnScript: (script, args) => spawn(process.execPath, ['--import', 'tsx', script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    dispose: async () => {
      await drop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
