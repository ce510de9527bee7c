/**
 * @module registry/maintenance
 * Operator use cases: health, verification, replay.
 */
import { replayViews, verifyViews, type ReplayProgress, type ReplayResult, type ViewDifference } from '../views/index.js';
import type { BackendHealth } from '../storage/index.js';
import type { RegistryContext } from './context.js';

/** Overall health of the process's dependencies. */
export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly database: { readonly ok: boolean; readonly client: string; readonly lastSequence: number | null; readonly detail?: string };
  readonly storage: BackendHealth;
}

/** Checks the database and the storage backend. Never throws. */
export async function health(ctx: RegistryContext): Promise<HealthReport> {
  let database: HealthReport['database'];
  try {
    database = { ok: true, client: ctx.db.client, lastSequence: await ctx.log.lastSequence() };
  } catch (error) {
    database = { ok: false, client: ctx.db.client, lastSequence: null, detail: (error as Error).message };
  }
  let storage: BackendHealth;
  try {
    storage = await ctx.dataPlane.backendHealth();
  } catch (error) {
    storage = { ok: false, backend: ctx.dataPlane.backendId, freeBytes: null, totalBytes: null, detail: (error as Error).message };
  }
  return { status: database.ok && storage.ok ? 'ok' : 'degraded', database, storage };
}

/** One problem found with a stored object. */
export interface ObjectProblem {
  readonly contentAddress: string;
  readonly problem: string;
}

/** Outcome of {@link verify}. */
export interface VerifyReport {
  readonly ok: boolean;
  readonly events: number;
  readonly rowsCompared: number;
  readonly viewDifferences: ViewDifference[];
  /** Present when objects were checked. */
  readonly objects?: { readonly checked: number; readonly problems: ObjectProblem[]; readonly unreferenced: string[] };
}

/**
 * Verifies that the views equal a fresh replay of a gapless, untampered log;
 * with `objects`, also re-hashes every stored object against both recorded
 * digests. Objects in the store that no view references are listed, not
 * failed: an ingest interrupted after storing its bytes leaves one, and
 * garbage collection owns them.
 */
export async function verify(ctx: RegistryContext, options: { objects?: boolean; onProgress?: (stage: string, progress: ReplayProgress) => void } = {}): Promise<VerifyReport> {
  const views = await verifyViews(ctx.db, { onProgress: (p) => options.onProgress?.('views', p) });
  if (!options.objects) {
    return { ok: views.ok, events: views.events, rowsCompared: views.rowsCompared, viewDifferences: views.differences };
  }
  const problems: ObjectProblem[] = [];
  const known = new Set<string>();
  const rows = await ctx.db.knex('objects').select('content_address', 'digest_sha256', 'size').orderBy('content_address');
  let checked = 0;
  for (const row of rows) {
    const address = row.content_address as string;
    known.add(address);
    const result = await ctx.dataPlane.verifyObject(address, { sha256: row.digest_sha256 as string, size: Number(row.size) });
    checked += 1;
    for (const problem of result.problems) problems.push({ contentAddress: address, problem });
    options.onProgress?.('objects', { applied: checked, total: rows.length });
  }
  const unreferenced: string[] = [];
  for await (const address of ctx.dataPlane.listObjects()) if (!known.has(address)) unreferenced.push(address);
  return {
    ok: views.ok && problems.length === 0,
    events: views.events,
    rowsCompared: views.rowsCompared,
    viewDifferences: views.differences,
    objects: { checked, problems, unreferenced },
  };
}

/** Rebuilds every view from the log. */
export function replay(ctx: RegistryContext, onProgress?: (progress: ReplayProgress) => void): Promise<ReplayResult> {
  return replayViews(ctx.db, onProgress ? { onProgress } : {});
}
