/**
 * @module registry/gc
 * Online garbage collection of unreferenced bytes (docs/adr/0020).
 *
 * References are read from the views: package files, OCI manifests (their
 * own bytes, and config, layers, index children and subject by digest),
 * per-repository blob links, and native upload sessions expecting the
 * content. A run
 * 1. **scans**: queues every object nothing references in `gc_candidates`
 *    (operational state: rebuilt from the views, never replayed) with the
 *    time it was first seen so, and drops candidates that gained a reference;
 * 2. **claims** candidates unreferenced for longer than the grace period, a
 *    batch at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
 *    workers share the queue), committing the claim before anything else;
 * 3. **reviews** the batch in one write transaction, which holds the event
 *    sequence lock every writer takes: re-checks each object's references,
 *    removes the bytes of those still unreferenced from every recorded
 *    location, and records `v1.object.deleted` (the projector drops the
 *    object and location rows) — bytes and rows go together, and no writer
 *    can record a reference meanwhile. Writers re-check under the same lock
 *    ({@link referenceGuard}), which closes the dedup-put race.
 */
import { RegistryError } from '../errors/index.js';
import { rowsOf } from '../db/index.js';
import type { DataPlane } from '../dataplane/index.js';
import type { Actor, RegistryContext } from './context.js';

/** Where GC reports what it reclaims (the composition root wires Prometheus here). */
export interface GcObserver {
  /** Called after each committed batch. */
  reclaimed(objects: number, bytes: number): void;
  /** Candidates queued after a run. */
  queueSize(size: number): void;
}

/** Options of one GC run. */
export interface GcOptions {
  /** Seconds an object must have been unreferenced before its bytes go (0: at once). */
  readonly graceSeconds: number;
  /** List what would be deleted; write nothing, delete nothing. */
  readonly dryRun?: boolean;
  /** Delete (or, dry, list) at most this many objects. */
  readonly limit?: number;
  /** Stops the run between objects; what was done stays done. */
  readonly signal?: AbortSignal;
  /** Called after each batch. */
  readonly onProgress?: (progress: GcProgress) => void;
  /** Data planes of other backends holding copies (`storage migrate`); an object with a location on a backend not given here is skipped. */
  readonly dataPlanes?: readonly DataPlane[];
  /** Recorded as the actor of `v1.object.deleted` (default `system:gc`). */
  readonly actor?: Actor;
  /** Objects reviewed per transaction (default {@link DEFAULT_GC_BATCH}). */
  readonly batchSize?: number;
  /** Names this worker's claims (default a random id). */
  readonly workerId?: string;
  readonly observer?: GcObserver;
  /** The clock (tests). */
  readonly now?: () => Date;
}

/** Progress of a run, after each batch. */
export interface GcProgress {
  /** Candidates due for review when the review started. */
  readonly due: number;
  readonly reviewed: number;
  readonly deleted: number;
  readonly bytes: number;
}

/** An object a dry run would delete, or a run deleted. */
export interface GcObject {
  readonly contentAddress: string;
  readonly digestSha256: string;
  readonly size: number;
  /** When a scan first found it unreferenced; null in a dry run for an object not queued yet. */
  readonly unreferencedSince: string | null;
}

/** What one run did. */
export interface GcReport {
  readonly dryRun: boolean;
  readonly graceSeconds: number;
  /** Objects newly queued by the scan. */
  readonly queued: number;
  /** Candidates dropped because they gained a reference (scan and review). */
  readonly dropped: number;
  /** Candidates past their grace period when the review started. */
  readonly due: number;
  readonly reviewed: number;
  /** Objects whose bytes were removed (dry run: that would be). */
  readonly deleted: number;
  readonly bytes: number;
  /** Objects left alone because a location's backend was not available to this run. */
  readonly skipped: number;
  /** Candidates left in the queue afterwards. */
  readonly queueSize: number;
  /** The objects deleted (dry run: that would be). */
  readonly objects: readonly GcObject[];
  /** One line per object whose bytes could not be removed (it stays claimed and is retried). */
  readonly problems: readonly string[];
  readonly cancelled: boolean;
  readonly durationMs: number;
}

/** Objects reviewed per transaction: small, because the transaction holds the write lock while bytes are removed. */
export const DEFAULT_GC_BATCH = 32;
/** A claim older than this is considered abandoned (its worker died) and may be taken over. */
export const GC_CLAIM_SECONDS = 600;

/**
 * "Nothing references `o`" over the views, for `objects o`. Each clause is an
 * index probe (migration 0008 adds the upload-session ones). Manifest
 * references point at digests; `sha256:` ones resolve through the object
 * index, and a `sha512:` blob is only reachable through its blob link.
 */
export const UNREFERENCED_SQL = [
  'NOT EXISTS (SELECT 1 FROM artifact_files f WHERE f.content_address = o.content_address)',
  'NOT EXISTS (SELECT 1 FROM oci_blob_links l WHERE l.content_address = o.content_address)',
  'NOT EXISTS (SELECT 1 FROM oci_manifests m WHERE m.content_address = o.content_address)',
  'NOT EXISTS (SELECT 1 FROM oci_manifest_references r WHERE r.digest = o.digest_sha256)',
  'NOT EXISTS (SELECT 1 FROM upload_sessions u WHERE u.expected_blake3 = o.content_address)',
  'NOT EXISTS (SELECT 1 FROM upload_sessions u WHERE u.expected_sha256 = o.digest_sha256)',
].join(' AND ');

/**
 * Runs one GC pass: scan, then review every due candidate (up to `limit`).
 * @throws RegistryError `FIELD_INVALID` for options out of range.
 */
export async function collectGarbage(ctx: RegistryContext, options: GcOptions): Promise<GcReport> {
  const started = Date.now();
  const graceSeconds = options.graceSeconds;
  if (!Number.isSafeInteger(graceSeconds) || graceSeconds < 0) throw new RegistryError('FIELD_INVALID', `grace must be a non-negative number of seconds, got ${String(graceSeconds)}`, { field: 'grace' });
  const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RegistryError('FIELD_INVALID', `limit must be a non-negative integer, got ${String(limit)}`, { field: 'limit' });
  const batchSize = options.batchSize ?? DEFAULT_GC_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RegistryError('FIELD_INVALID', `batch size must be a positive integer, got ${String(batchSize)}`, { field: 'batch' });
  const clock = options.now ?? (() => new Date());
  const now = clock();
  const cutoff = new Date(now.getTime() - graceSeconds * 1000).toISOString();
  if (options.dryRun) return dryRun(ctx, options, now, cutoff, limit, started);

  const { queued, dropped: scanDropped } = await scan(ctx, now);
  const knex = ctx.db.knex;
  const dueRow = await knex('gc_candidates').where('unreferenced_since', '<=', cutoff).count({ n: '*' }).first();
  const due = Number(dueRow?.n ?? 0);
  const planes = new Map<string, DataPlane>([[ctx.dataPlane.backendId, ctx.dataPlane]]);
  // A configured cold tier (ADR 0022) holds copies too; read structurally, so GC does not depend on tiering.
  const cold = (ctx as { readonly coldTier?: { readonly cold: DataPlane } }).coldTier?.cold;
  for (const plane of [...(cold ? [cold] : []), ...(options.dataPlanes ?? [])]) if (!planes.has(plane.backendId)) planes.set(plane.backendId, plane);
  const worker = options.workerId ?? `gc-${Math.random().toString(36).slice(2, 12)}`;
  const actor = options.actor ?? 'system:gc';

  const objects: GcObject[] = [];
  const problems: string[] = [];
  let reviewed = 0;
  let dropped = scanDropped;
  let skipped = 0;
  let bytes = 0;
  // Candidates this run set aside (skipped or failed): not claimed again in this run.
  const setAside = new Set<string>();
  while (!options.signal?.aborted && objects.length < limit) {
    const claimed = await claim(ctx, worker, cutoff, Math.min(batchSize, limit - objects.length), clock(), setAside);
    if (claimed.length === 0) break;
    const outcome = await review(ctx, claimed, planes, actor, options.signal);
    reviewed += outcome.reviewed;
    dropped += outcome.dropped;
    skipped += outcome.skipped.length;
    for (const address of [...outcome.skipped, ...outcome.failed.map((failure) => failure.address)]) setAside.add(address);
    problems.push(...outcome.failed.map((failure) => `${failure.address}: ${failure.reason}`));
    objects.push(...outcome.deleted);
    const batchBytes = outcome.deleted.reduce((sum, object) => sum + object.size, 0);
    bytes += batchBytes;
    options.observer?.reclaimed(outcome.deleted.length, batchBytes);
    // Claims of objects not reviewed (cancelled) or skipped are released;
    // failed ones stay claimed: their bytes may be partly gone.
    const release = [...outcome.unreviewed, ...outcome.skipped];
    if (release.length > 0) await knex('gc_candidates').whereIn('content_address', release).where('claimed_by', worker).update({ claimed_by: null, claim_expires: null });
    options.onProgress?.({ due, reviewed, deleted: objects.length, bytes });
    if (outcome.unreviewed.length > 0) break;
  }
  const queueSize = await countQueue(ctx);
  options.observer?.queueSize(queueSize);
  return {
    dryRun: false,
    graceSeconds,
    queued,
    dropped,
    due,
    reviewed,
    deleted: objects.length,
    bytes,
    skipped,
    queueSize,
    objects,
    problems,
    cancelled: options.signal?.aborted === true,
    durationMs: Date.now() - started,
  };
}

/** Candidates in the queue now (the `gc_queue_size` gauge). */
export async function countQueue(ctx: RegistryContext): Promise<number> {
  const row = await ctx.db.knex('gc_candidates').count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/**
 * Queues unreferenced objects not queued yet and drops unclaimed candidates
 * that gained a reference (or whose object is gone). Advisory: the review
 * re-checks everything under the lock, so this runs without it.
 */
async function scan(ctx: RegistryContext, now: Date): Promise<{ queued: number; dropped: number }> {
  const knex = ctx.db.knex;
  const at = now.toISOString();
  const dropped = await knex('gc_candidates')
    .where((builder) => builder.whereNull('claimed_by').orWhere('claim_expires', '<', at))
    .whereRaw(`NOT EXISTS (SELECT 1 FROM objects o WHERE o.content_address = gc_candidates.content_address AND ${UNREFERENCED_SQL})`)
    .delete();
  const inserted = await knex.raw(
    `INSERT INTO gc_candidates (content_address, unreferenced_since, claimed_by, claim_expires, review_count)
     SELECT o.content_address, ?, NULL, NULL, 0 FROM objects o
     WHERE ${UNREFERENCED_SQL} AND NOT EXISTS (SELECT 1 FROM gc_candidates c WHERE c.content_address = o.content_address)
     ON CONFLICT (content_address) DO NOTHING`,
    [at],
  );
  return { queued: insertedCount(inserted), dropped };
}

function insertedCount(result: unknown): number {
  const pg = (result as { rowCount?: number } | undefined)?.rowCount;
  if (typeof pg === 'number') return pg;
  const sqlite = (result as { changes?: number } | undefined)?.changes;
  return typeof sqlite === 'number' ? sqlite : 0;
}

/**
 * Claims up to `count` due candidates nobody holds (or whose claim expired)
 * and commits the claim: from then on writers referencing them look at the
 * bytes. PostgreSQL workers skip rows another worker is claiming.
 */
async function claim(ctx: RegistryContext, worker: string, cutoff: string, count: number, now: Date, setAside: ReadonlySet<string>): Promise<Array<{ address: string; since: string }>> {
  const at = now.toISOString();
  const expires = new Date(now.getTime() + GC_CLAIM_SECONDS * 1000).toISOString();
  const excluded = [...setAside];
  const exclusion = excluded.length > 0 ? ` AND content_address NOT IN (${excluded.map(() => '?').join(', ')})` : '';
  const skipLocked = ctx.db.client === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  const result = await ctx.db.knex.raw(
    `UPDATE gc_candidates SET claimed_by = ?, claim_expires = ?, review_count = review_count + 1
     WHERE content_address IN (
       SELECT content_address FROM gc_candidates
       WHERE unreferenced_since <= ? AND (claimed_by IS NULL OR claim_expires < ?)${exclusion}
       ORDER BY unreferenced_since, content_address LIMIT ?${skipLocked})
     RETURNING content_address, unreferenced_since`,
    [worker, expires, cutoff, at, ...excluded, count],
  );
  return rowsOf<{ content_address: string; unreferenced_since: string }>(result)
    .map((row) => ({ address: row.content_address, since: row.unreferenced_since }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

interface ReviewOutcome {
  reviewed: number;
  dropped: number;
  deleted: GcObject[];
  skipped: string[];
  failed: Array<{ address: string; reason: string }>;
  unreviewed: string[];
}

/**
 * One write transaction over a claimed batch: re-check, remove bytes,
 * record. Holding the sequence lock is what makes the re-check final: no
 * writer can record a reference until this commits, and writers that stored
 * or found the bytes before look again once it has (the guard).
 */
async function review(
  ctx: RegistryContext,
  claimed: ReadonlyArray<{ address: string; since: string }>,
  planes: ReadonlyMap<string, DataPlane>,
  actor: Actor,
  signal: AbortSignal | undefined,
): Promise<ReviewOutcome> {
  return ctx.journal.transact(async (tx) => {
    const outcome: ReviewOutcome = { reviewed: 0, dropped: 0, deleted: [], skipped: [], failed: [], unreviewed: [] };
    if (signal?.aborted) {
      outcome.unreviewed.push(...claimed.map((entry) => entry.address));
      return outcome;
    }
    // The batch's re-check in three set queries rather than three per object.
    const addresses = claimed.map((entry) => entry.address);
    const rows = (await tx.trx('objects').whereIn('content_address', addresses).select('content_address', 'digest_sha256', 'size')) as ObjectRow[];
    const objects = new Map(rows.map((row) => [row.content_address, row]));
    const unreferenced = new Set((await tx.trx('objects as o').whereIn('o.content_address', addresses).whereRaw(UNREFERENCED_SQL).pluck('o.content_address')) as string[]);
    const locationRows = (await tx.trx('storage_locations').whereIn('content_address', addresses).orderBy(['content_address', 'backend_id']).select('content_address', 'backend_id', 'object_key')) as Array<{ content_address: string; backend_id: string; object_key: string }>;
    const locationsOf = new Map<string, Array<{ backend_id: string; object_key: string }>>();
    for (const row of locationRows) {
      const list = locationsOf.get(row.content_address) ?? [];
      list.push({ backend_id: row.backend_id, object_key: row.object_key });
      locationsOf.set(row.content_address, list);
    }
    const finished: string[] = [];
    const doomed: Array<{ object: GcObject; locations: Array<{ backend_id: string; object_key: string }>; planes: DataPlane[] }> = [];
    for (const candidate of claimed) {
      outcome.reviewed += 1;
      const object = objects.get(candidate.address);
      if (!object || !unreferenced.has(candidate.address)) {
        // Gone already (another worker) or in use again: off the queue.
        finished.push(candidate.address);
        if (object) outcome.dropped += 1;
        continue;
      }
      const locations = locationsOf.get(candidate.address) ?? [];
      if (locations.some((location) => !planes.has(location.backend_id))) {
        outcome.skipped.push(candidate.address);
        continue;
      }
      // The serving backend too, even without a location row: removing bytes
      // nobody references is always safe, and leaves nothing behind.
      const targets = new Set<string>([ctx.dataPlane.backendId, ...locations.map((location) => location.backend_id)]);
      doomed.push({
        object: { contentAddress: object.content_address, digestSha256: object.digest_sha256, size: Number(object.size), unreferencedSince: candidate.since },
        locations,
        planes: [...targets].map((id) => planes.get(id)!),
      });
    }
    const removals = await Promise.allSettled(doomed.map(async (entry) => {
      for (const plane of entry.planes) await plane.deleteObject(entry.object.contentAddress);
    }));
    for (const [index, entry] of doomed.entries()) {
      const removal = removals[index]!;
      if (removal.status === 'rejected') {
        const reason = removal.reason instanceof Error ? removal.reason.message : String(removal.reason);
        outcome.failed.push({ address: entry.object.contentAddress, reason });
        continue;
      }
      await tx.record({
        type: 'v1.object.deleted',
        subjectId: entry.object.contentAddress,
        actor,
        payload: {
          content_address: entry.object.contentAddress,
          digest_sha256: entry.object.digestSha256,
          size: entry.object.size,
          locations: entry.locations,
          unreferenced_since: entry.object.unreferencedSince!,
        },
      });
      finished.push(entry.object.contentAddress);
      outcome.deleted.push(entry.object);
    }
    if (finished.length > 0) await tx.trx('gc_candidates').whereIn('content_address', finished).delete();
    return outcome;
  });
}

type ObjectRow = { content_address: string; digest_sha256: string; size: number };

async function dryRun(ctx: RegistryContext, options: GcOptions, now: Date, cutoff: string, limit: number, started: number): Promise<GcReport> {
  const knex = ctx.db.knex;
  // What a run now would delete: unreferenced objects queued before the
  // cutoff, or not queued yet when the grace period is zero.
  const rows = (await knex('objects as o')
    .leftJoin('gc_candidates as c', 'c.content_address', 'o.content_address')
    .whereRaw(UNREFERENCED_SQL)
    .where((builder) => {
      builder.where('c.unreferenced_since', '<=', cutoff);
      if (cutoff >= now.toISOString()) builder.orWhereNull('c.content_address');
    })
    .orderBy('o.content_address')
    .modify((builder) => {
      if (options.limit !== undefined) void builder.limit(limit);
    })
    .select('o.content_address', 'o.digest_sha256', 'o.size', 'c.unreferenced_since')) as Array<ObjectRow & { unreferenced_since: string | null }>;
  const objects = rows.map((row) => ({ contentAddress: row.content_address, digestSha256: row.digest_sha256, size: Number(row.size), unreferencedSince: row.unreferenced_since }));
  const queueSize = await countQueue(ctx);
  options.onProgress?.({ due: objects.length, reviewed: objects.length, deleted: objects.length, bytes: objects.reduce((sum, object) => sum + object.size, 0) });
  return {
    dryRun: true,
    graceSeconds: options.graceSeconds,
    queued: 0,
    dropped: 0,
    due: objects.length,
    reviewed: 0,
    deleted: objects.length,
    bytes: objects.reduce((sum, object) => sum + object.size, 0),
    skipped: 0,
    queueSize,
    objects,
    problems: [],
    cancelled: false,
    durationMs: Date.now() - started,
  };
}
