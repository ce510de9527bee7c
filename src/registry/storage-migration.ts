/**
 * @module registry/storage-migration
 * Copying every object from one storage backend to another, for moving a
 * deployment between backends (e.g. local disk to S3) without downtime.
 *
 * Each object the registry knows is read from the source data plane and
 * ingested into the destination with both recorded digests and the size as
 * expectations (a mismatch publishes nothing), then re-read and re-hashed on
 * the destination; only a copy that verifies is recorded, as a
 * `v1.storage.location_added` event (its projection adds the
 * `storage_locations` row). Objects that already have a location on the
 * destination are skipped, so an interrupted run resumes where it stopped,
 * and objects ingested meanwhile are picked up by the next run. Readers are
 * untouched: the serving processes keep using their configured backend
 * until the operator switches it.
 */
import { isRegistryError, RegistryError } from '../errors/index.js';
import type { DataPlane } from '../dataplane/index.js';
import type { JournalTransaction } from '../views/index.js';
import type { Actor, RegistryContext } from './context.js';

/** Options of {@link migrateStorage}. */
export interface StorageMigrationOptions {
  /** Recorded as the actor of each location event. */
  readonly actor: Actor;
  /** Copy at most this many objects, then stop (the rest is left for another run). */
  readonly limit?: number;
  /** Objects copied at once; default {@link DEFAULT_MIGRATION_CONCURRENCY}. */
  readonly concurrency?: number;
  /** After each object, copied or not. */
  readonly onProgress?: (progress: StorageMigrationProgress) => void;
  /** Stops taking new objects once aborted; objects in flight finish. */
  readonly signal?: AbortSignal;
}

/** Where a migration stands. */
export interface StorageMigrationProgress {
  /** Objects handled by this run so far (copied or failed). */
  readonly done: number;
  /** Objects this run set out to handle. */
  readonly total: number;
  /** Bytes copied so far. */
  readonly bytes: number;
}

/** One object that could not be migrated. */
export interface StorageMigrationProblem {
  readonly contentAddress: string;
  readonly problem: string;
}

/** The outcome of {@link migrateStorage}. */
export interface StorageMigrationReport {
  /** True when no object failed (objects left by `limit` or an abort are not failures). */
  readonly ok: boolean;
  readonly source: string;
  readonly destination: string;
  /** Objects the registry knows. */
  readonly objects: number;
  /** Objects that already had a location on the destination. */
  readonly alreadyPresent: number;
  /** Objects copied, verified and recorded by this run. */
  readonly copied: number;
  /** Bytes of those objects. */
  readonly bytes: number;
  /** Objects still without a location on the destination (failed, or left by `limit` or an abort). */
  readonly remaining: number;
  readonly problems: StorageMigrationProblem[];
}

/** Objects copied at once unless told otherwise. */
export const DEFAULT_MIGRATION_CONCURRENCY = 4;

/** Rows read from the object index at a time. */
const PAGE_SIZE = 500;

/** One object of the index, as a copy needs it. */
export interface ObjectRow {
  contentAddress: string;
  digestSha256: string;
  size: number;
}

/**
 * Copies every object without a location on `destination` from `source`,
 * verifying and recording each (see the module comment).
 * @throws RegistryError `CONFIG_INVALID` when both data planes are over the
 *   same backend id; `FIELD_INVALID` for a bad `limit` or `concurrency`.
 *   Failures of single objects are reported, not thrown.
 */
export async function migrateStorage(ctx: RegistryContext, source: DataPlane, destination: DataPlane, options: StorageMigrationOptions): Promise<StorageMigrationReport> {
  if (source.backendId === destination.backendId) {
    throw new RegistryError('CONFIG_INVALID', `source and destination are the same backend (${source.backendId})`);
  }
  const concurrency = options.concurrency ?? DEFAULT_MIGRATION_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new RegistryError('FIELD_INVALID', `concurrency must be an integer from 1 to 64, got ${String(concurrency)}`);
  }
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new RegistryError('FIELD_INVALID', `limit must be a non-negative integer, got ${String(limit)}`);
  }
  const knex = ctx.db.knex;
  const target = destination.backendId;
  const objects = Number((await knex('objects').count({ n: '*' }).first())?.n ?? 0);
  const pending = Number((await pendingQuery(ctx, target).count({ n: '*' }).first())?.n ?? 0);
  const total = Math.min(pending, limit);

  const problems: StorageMigrationProblem[] = [];
  let done = 0;
  let copied = 0;
  let bytes = 0;
  let taken = 0;
  let after = '';
  let page: ObjectRow[] = [];
  let exhausted = false;
  // Workers take objects from one cursor over the index, in address order.
  const next = async (): Promise<ObjectRow | undefined> => {
    if (taken >= total || options.signal?.aborted) return undefined;
    while (page.length === 0 && !exhausted) {
      const rows = await pendingQuery(ctx, target)
        .where('o.content_address', '>', after)
        .orderBy('o.content_address')
        .limit(PAGE_SIZE)
        .select('o.content_address', 'o.digest_sha256', 'o.size');
      if (rows.length < PAGE_SIZE) exhausted = true;
      page = rows.map((row) => ({ contentAddress: row.content_address as string, digestSha256: row.digest_sha256 as string, size: Number(row.size) }));
      if (rows.length > 0) after = page[page.length - 1]!.contentAddress;
    }
    const row = page.shift();
    if (row !== undefined) taken += 1;
    return row;
  };
  // The page reads of concurrent workers must not interleave.
  let cursor: Promise<unknown> = Promise.resolve();
  const take = (): Promise<ObjectRow | undefined> => {
    const result = cursor.then(next);
    cursor = result.catch(() => undefined);
    return result;
  };

  const worker = async (): Promise<void> => {
    for (let row = await take(); row !== undefined; row = await take()) {
      const problem = await copyObject(ctx, source, destination, row, options.actor);
      if (problem === null) {
        copied += 1;
        bytes += row.size;
      } else {
        problems.push({ contentAddress: row.contentAddress, problem });
      }
      done += 1;
      options.onProgress?.({ done, total, bytes });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));

  const remaining = Number((await pendingQuery(ctx, target).count({ n: '*' }).first())?.n ?? 0);
  problems.sort((a, b) => (a.contentAddress < b.contentAddress ? -1 : a.contentAddress > b.contentAddress ? 1 : 0));
  return {
    ok: problems.length === 0,
    source: source.backendId,
    destination: target,
    objects,
    alreadyPresent: objects - pending,
    copied,
    bytes,
    remaining,
    problems,
  };
}

/** Objects of the index without a location on `backendId`. */
function pendingQuery(ctx: RegistryContext, backendId: string) {
  const knex = ctx.db.knex;
  return knex('objects as o').whereNotExists(
    knex('storage_locations as l').select(knex.raw('1')).whereRaw('l.content_address = o.content_address').andWhere('l.backend_id', backendId),
  );
}

/**
 * Copies, verifies and records one object; null when done, else what went
 * wrong. Also used by retrieval tiers (`tiers.ts`: moves and restores), which
 * pass `alsoRecord` to record their own event in the same transaction as the
 * location (whether this call or an earlier one recorded it).
 */
export async function copyObject(
  ctx: RegistryContext,
  source: DataPlane,
  destination: DataPlane,
  row: ObjectRow,
  actor: Actor,
  alsoRecord?: (tx: JournalTransaction) => Promise<void>,
): Promise<string | null> {
  const expected = { blake3: row.contentAddress, sha256: row.digestSha256, size: row.size };
  try {
    let read;
    try {
      read = await source.serveObject(row.contentAddress, undefined, { expectedSize: row.size });
    } catch (error) {
      if (isRegistryError(error, 'OBJECT_NOT_FOUND')) return `not stored on the source backend ${source.backendId}`;
      throw error;
    }
    let receipt;
    try {
      // Hashed on the way in: bytes that do not match both digests are never published.
      receipt = await destination.ingestStream(read.stream, expected);
    } finally {
      read.stream.destroy();
    }
    const verified = await destination.verifyObject(row.contentAddress, { sha256: row.digestSha256, size: row.size });
    if (!verified.ok) return `the copy on ${destination.backendId} does not verify: ${verified.problems.join('; ')}`;
    await ctx.journal.transact(async (tx) => {
      // Another run may have recorded it meanwhile: one event per location.
      const known = await tx.trx('storage_locations').where({ content_address: row.contentAddress, backend_id: receipt.backend }).first('backend_id');
      if (known) return alsoRecord?.(tx);
      await tx.record({
        type: 'v1.storage.location_added',
        subjectId: row.contentAddress,
        actor,
        payload: { content_address: row.contentAddress, backend_id: receipt.backend, object_key: receipt.objectKey, retrieval_tier: receipt.retrievalTier },
      });
      await alsoRecord?.(tx);
    });
    return null;
  } catch (error) {
    if (isRegistryError(error, 'DIGEST_MISMATCH') || isRegistryError(error, 'SIZE_MISMATCH')) {
      return `the bytes on ${source.backendId} do not match the recorded digests: ${error.message}`;
    }
    return error instanceof Error ? `${isRegistryError(error) ? `${error.code}: ` : ''}${error.message}` : String(error);
  }
}
