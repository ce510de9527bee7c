/**
 * @module observability/readiness
 * Readiness: may this process take traffic? Unlike liveness (`/health`,
 * process up), it answers yes only when the database answers, every
 * migration is applied, and the storage backend reports itself healthy.
 * Each check is bounded by a timeout so a hung dependency reads as "not
 * ready" instead of hanging the probe.
 */
import { pendingMigrations, type Database } from '../db/index.js';
import type { DataPlane } from '../dataplane/index.js';

/** One check's result. */
export interface ReadinessCheck {
  readonly ok: boolean;
  /** Why it failed (or operator notes). */
  readonly detail?: string;
}

/** The readiness report `/ready` renders. */
export interface ReadinessReport {
  readonly status: 'ready' | 'not_ready';
  /** Names of the checks that failed, in check order; empty when ready. */
  readonly failed: string[];
  readonly checks: {
    readonly database: ReadinessCheck & { readonly client: string };
    readonly migrations: ReadinessCheck & { readonly pending?: string[] };
    readonly storage: ReadinessCheck & { readonly backend: string };
  };
}

/** What readiness looks at (a `RegistryContext` is one). */
export interface ReadinessDependencies {
  readonly db: Database;
  readonly dataPlane: DataPlane;
}

/** Default bound of each check, in milliseconds. */
export const DEFAULT_READINESS_TIMEOUT_MS = 5_000;

/** Runs the checks. Never throws. */
export async function checkReadiness(deps: ReadinessDependencies, options: { timeoutMs?: number } = {}): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS;
  const databaseAndMigrations = (async () => {
    let database: ReadinessReport['checks']['database'];
    try {
      await withTimeout(deps.db.knex.raw('SELECT 1'), timeoutMs, 'the database did not answer');
      database = { ok: true, client: deps.db.client };
    } catch (error) {
      database = { ok: false, client: deps.db.client, detail: messageOf(error) };
      return { database, migrations: { ok: false, detail: 'not checked: the database did not answer' } };
    }
    let migrations: ReadinessReport['checks']['migrations'];
    try {
      const pending = await withTimeout(pendingMigrations(deps.db), timeoutMs, 'listing migrations timed out');
      migrations = pending.length === 0 ? { ok: true } : { ok: false, pending, detail: `${pending.length} migration(s) not applied` };
    } catch (error) {
      migrations = { ok: false, detail: messageOf(error) };
    }
    return { database, migrations };
  })();
  const storage = (async (): Promise<ReadinessReport['checks']['storage']> => {
    try {
      const health = await withTimeout(deps.dataPlane.backendHealth(), timeoutMs, 'the storage backend did not answer');
      return { ok: health.ok, backend: health.backend, ...(health.detail === undefined ? {} : { detail: health.detail }) };
    } catch (error) {
      return { ok: false, backend: deps.dataPlane.backendId, detail: messageOf(error) };
    }
  })();
  const [{ database, migrations }, storageCheck] = await Promise.all([databaseAndMigrations, storage]);
  const checks = { database, migrations, storage: storageCheck };
  const failed = (Object.keys(checks) as Array<keyof typeof checks>).filter((name) => !checks[name].ok);
  return { status: failed.length === 0 ? 'ready' : 'not_ready', failed, checks };
}

async function withTimeout<T>(work: PromiseLike<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([Promise.resolve(work), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
