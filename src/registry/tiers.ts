/**
 * @module registry/tiers
 * Retrieval tiers (ADR 0022): a second, colder backend beside the serving
 * ("hot") one. `storage move` copies objects whose hot copy is older than a
 * threshold to the cold backend (the verified copy of `storage migrate`),
 * then drops the hot copy; reads of an object without a hot copy stream it
 * from the cold backend when that can stream (`cold`), or refuse with
 * `OBJECT_ARCHIVED` (409) when it cannot (`archive`, Glacier-like) until a
 * restore (`POST /objects/{address}/restore`) has copied it back.
 *
 * State lives where every other state does: `v1.storage.location_added`
 * (with the tier), `v1.storage.location_removed`,
 * `v1.storage.restore_requested` and `v1.storage.restore_completed`, which
 * set `storage_locations.restore_status` of the archive location
 * (`none` → `requested` → `completed`).
 */
import { isRegistryError, RegistryError } from '../errors/index.js';
import { parseContentAddress } from '../identity/index.js';
import type { ByteRange, DataPlane, ReadHints, IngestReceipt, ServedObject, VerifyExpectation, VerifyResult } from '../dataplane/index.js';
import type { Actor, ColdTier, RegistryContext } from './context.js';
import { copyObject, type ObjectRow } from './storage-migration.js';

/** The tiers an object's copy can be in. `archive` copies cannot be read before a restore. */
export type RetrievalTier = 'hot' | 'cold' | 'archive';

/** Where a restore stands, on the archive location it restores from. */
export type RestoreStatus = 'none' | 'requested' | 'completed';


/**
 * Builds the {@link ColdTier} of a cold data plane: its receipts are
 * relabelled with the tier, so the shared copy routine records the right one.
 */
export function coldTier(hot: DataPlane, cold: DataPlane, streamable: boolean): ColdTier {
  const tier = streamable ? 'cold' : 'archive';
  const relabel = (receipt: IngestReceipt): IngestReceipt => ({ ...receipt, retrievalTier: tier as 'hot' });
  const overrides: Partial<DataPlane> = {
    ingestStream: async (source, expect, signal) => relabel(await cold.ingestStream(source, expect, signal)),
    completeUpload: async (id, expect) => relabel(await cold.completeUpload(id, expect)),
  };
  return { hot, cold: delegate(cold, overrides), tier };
}

/**
 * The data plane the registry serves from when a cold tier is configured:
 * the hot one for everything, except that reads of an object the hot
 * backend lacks go to the cold one (streamed for `cold`; `OBJECT_ARCHIVED`
 * with the restore status for `archive`). `restoreStatusOf` reads that
 * status from the views.
 */
export function tieredDataPlane(tiers: ColdTier, restoreStatusOf: (address: string) => Promise<RestoreStatus>): DataPlane {
  const { hot, cold, tier } = tiers;
  const archived = async (address: string): Promise<RegistryError> => {
    const status = await restoreStatusOf(address).catch(() => 'none' as const);
    return new RegistryError('OBJECT_ARCHIVED', `${address} is in the archive tier; POST /objects/${address}/restore and retry once its restore_status is completed`, {
      content_address: address,
      retrieval_tier: 'archive',
      restore_status: status,
      restore: `/objects/${address}/restore`,
    });
  };
  const overrides: Partial<DataPlane> = {
    serveObject: async (address: string, range?: ByteRange, hints?: ReadHints): Promise<ServedObject> => {
      try {
        return await hot.serveObject(address, range, hints);
      } catch (error) {
        if (!isRegistryError(error, 'OBJECT_NOT_FOUND')) throw error;
        if (tier === 'archive') {
          if ((await cold.statObject(address)) !== null) throw await archived(address);
          throw error;
        }
        try {
          return await cold.serveObject(address, range, hints);
        } catch (coldError) {
          throw isRegistryError(coldError, 'OBJECT_NOT_FOUND') ? error : coldError;
        }
      }
    },
    statObject: async (address) => (await hot.statObject(address)) ?? cold.statObject(address),
    // A presigned URL points at the hot store only; without a hot copy the registry streams (or refuses) instead.
    directUrl: async (address, options) => {
      try {
        return await hot.directUrl(address, options);
      } catch (error) {
        if (isRegistryError(error, 'OBJECT_NOT_FOUND') && (await cold.statObject(address)) !== null) return null;
        throw error;
      }
    },
    // `verify --objects` re-hashes the copy wherever it is (an archive that cannot be read reports it).
    verifyObject: async (address: string, expected: VerifyExpectation): Promise<VerifyResult> =>
      (await hot.statObject(address)) === null && (await cold.statObject(address)) !== null ? cold.verifyObject(address, expected) : hot.verifyObject(address, expected),
    close: async () => {
      await hot.close();
      await cold.close();
    },
  };
  return delegate(hot, overrides);
}

/** `base` with `overrides` in place of some members; every other member (present or added later) is `base`'s own. */
function delegate(base: DataPlane, overrides: Partial<DataPlane>): DataPlane {
  return new Proxy(base, {
    get(target, property, receiver) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof DataPlane];
      const value: unknown = Reflect.get(target, property, receiver === undefined ? target : target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The configured cold tier. @throws RegistryError `CONFIG_INVALID` when none is. */
function requireTier(ctx: RegistryContext): ColdTier {
  if (ctx.coldTier === undefined) {
    throw new RegistryError('CONFIG_INVALID', 'no cold storage tier is configured: set ARTIFACTSTORE_COLD_STORAGE_BACKEND and its settings');
  }
  return ctx.coldTier;
}

/** One copy of an object. */
export interface ObjectLocationView {
  readonly backendId: string;
  readonly retrievalTier: RetrievalTier;
  readonly restoreStatus: RestoreStatus;
  readonly createdAt: string;
}

/** Where an object's copies are, and what a reader gets. */
export interface ObjectTiersView {
  readonly contentAddress: string;
  /** The warmest tier holding a copy (`hot` beats `cold` beats `archive`), or null when no copy is recorded. */
  readonly retrievalTier: RetrievalTier | null;
  /** The restore status of the archive copy (`none` without one). */
  readonly restoreStatus: RestoreStatus;
  readonly locations: readonly ObjectLocationView[];
}

const WARMTH: Record<RetrievalTier, number> = { hot: 0, cold: 1, archive: 2 };

/**
 * The recorded copies of `address` (`blake3:` or `sha256:`).
 * @throws RegistryError `CONTENT_ADDRESS_INVALID`, `OBJECT_NOT_FOUND`.
 */
export async function objectTiers(ctx: RegistryContext, address: string): Promise<ObjectTiersView> {
  const parsed = parseContentAddress(address);
  const column = parsed.algorithm === 'blake3' ? 'content_address' : 'digest_sha256';
  const object = await ctx.db.knex('objects').where(column, address).first('content_address');
  if (!object) throw new RegistryError('OBJECT_NOT_FOUND', `no object ${address}`);
  const rows = await ctx.db.knex('storage_locations').where('content_address', object.content_address).orderBy('backend_id');
  const locations: ObjectLocationView[] = rows.map((row) => ({
    backendId: row.backend_id as string,
    retrievalTier: row.retrieval_tier as RetrievalTier,
    restoreStatus: row.restore_status as RestoreStatus,
    createdAt: row.created_at as string,
  }));
  const warmest = [...locations].sort((a, b) => (WARMTH[a.retrievalTier] ?? 3) - (WARMTH[b.retrievalTier] ?? 3))[0];
  const archive = locations.find((location) => location.retrievalTier === 'archive');
  return { contentAddress: object.content_address as string, retrievalTier: warmest?.retrievalTier ?? null, restoreStatus: archive?.restoreStatus ?? 'none', locations };
}

/** The restore status of an object's archive copy (`none` without one), for {@link tieredDataPlane}. */
export async function restoreStatusOf(ctx: RegistryContext, address: string): Promise<RestoreStatus> {
  return (await objectTiers(ctx, address)).restoreStatus;
}

/** Options of {@link moveToColdTier}. */
export interface TierMoveOptions {
  /** Move objects whose hot copy has been there at least this long. */
  readonly olderThanSeconds: number;
  readonly actor: Actor;
  /** Report what would move, change nothing. */
  readonly dryRun?: boolean;
  /** Move at most this many objects. */
  readonly limit?: number;
  /** The clock, for tests; default now. */
  readonly now?: Date;
  /** After each object. */
  readonly onProgress?: (progress: { done: number; total: number; bytes: number }) => void;
  /** Stops taking new objects once aborted. */
  readonly signal?: AbortSignal;
}

/** The outcome of {@link moveToColdTier}. */
export interface TierMoveReport {
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly from: string;
  readonly to: string;
  readonly tier: 'cold' | 'archive';
  /** Objects that qualified (hot copy older than the threshold, not an OCI manifest). */
  readonly candidates: number;
  /** Objects moved by this run (or that would move, dry run). */
  readonly moved: number;
  readonly bytes: number;
  readonly problems: { contentAddress: string; problem: string }[];
}

/**
 * Moves every object whose hot copy is older than `olderThanSeconds` to the
 * cold tier: a verified copy recorded as `v1.storage.location_added` (tier
 * `cold` or `archive`), then `v1.storage.location_removed` for the hot copy,
 * then the hot bytes are deleted (event first: a crash leaves unreferenced
 * bytes, never a location without bytes). OCI manifests stay hot: clients
 * fetch them on every pull. Objects are handled one at a time, in address order.
 */
export async function moveToColdTier(ctx: RegistryContext, options: TierMoveOptions): Promise<TierMoveReport> {
  const tiers = requireTier(ctx);
  if (!Number.isSafeInteger(options.olderThanSeconds) || options.olderThanSeconds < 0) {
    throw new RegistryError('FIELD_INVALID', `older-than must be a whole number of seconds ≥ 0, got ${String(options.olderThanSeconds)}`);
  }
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.olderThanSeconds * 1000).toISOString();
  const knex = ctx.db.knex;
  const hotId = tiers.hot.backendId;
  const rows = await knex('storage_locations as l')
    .join('objects as o', 'o.content_address', 'l.content_address')
    .where('l.backend_id', hotId)
    .andWhere('l.created_at', '<=', cutoff)
    .whereNotExists(knex('oci_manifests as m').select(knex.raw('1')).whereRaw('m.content_address = o.content_address'))
    .orderBy('o.content_address')
    .select('o.content_address', 'o.digest_sha256', 'o.size');
  const candidates: ObjectRow[] = rows.map((row) => ({ contentAddress: row.content_address as string, digestSha256: row.digest_sha256 as string, size: Number(row.size) }));
  const selected = candidates.slice(0, Math.min(candidates.length, limit));
  const report = { ok: true, dryRun: options.dryRun === true, from: hotId, to: tiers.cold.backendId, tier: tiers.tier, candidates: candidates.length, moved: 0, bytes: 0, problems: [] as TierMoveReport['problems'] };
  if (options.dryRun) return { ...report, moved: selected.length, bytes: selected.reduce((sum, row) => sum + row.size, 0) };
  let done = 0;
  for (const row of selected) {
    if (options.signal?.aborted) break;
    const problem = await moveOne(ctx, tiers, row, options.actor);
    if (problem === null) {
      report.moved += 1;
      report.bytes += row.size;
    } else {
      report.problems.push({ contentAddress: row.contentAddress, problem });
    }
    done += 1;
    options.onProgress?.({ done, total: selected.length, bytes: report.bytes });
  }
  return { ...report, ok: report.problems.length === 0 };
}

/** Copies one object to the cold tier (unless it is there already) and drops its hot copy; null when done. */
async function moveOne(ctx: RegistryContext, tiers: ColdTier, row: ObjectRow, actor: Actor): Promise<string | null> {
  const coldId = tiers.cold.backendId;
  const present = await ctx.db.knex('storage_locations').where({ content_address: row.contentAddress, backend_id: coldId }).first('backend_id');
  if (!present) {
    const problem = await copyObject(ctx, tiers.hot, tiers.cold, row, actor);
    if (problem !== null) return problem;
  }
  const removed = await ctx.journal.transact(async (tx) => {
    // Never drop the last copy: the cold one must be recorded by now.
    const cold = await tx.trx('storage_locations').where({ content_address: row.contentAddress, backend_id: coldId }).first('backend_id');
    const hot = await tx.trx('storage_locations').where({ content_address: row.contentAddress, backend_id: tiers.hot.backendId }).first('backend_id');
    if (!cold || !hot) return false;
    await tx.record({ type: 'v1.storage.location_removed', subjectId: row.contentAddress, actor, payload: { content_address: row.contentAddress, backend_id: tiers.hot.backendId } });
    return true;
  });
  if (!removed) return `the copy on ${coldId} is not recorded; the hot copy stays`;
  try {
    await tiers.hot.deleteObject(row.contentAddress);
  } catch (error) {
    // The location is gone; the bytes left behind are merely unreferenced (verify --objects lists them).
    return `moved, but deleting the hot bytes failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  return null;
}

/** The answer to a restore request. */
export interface RestoreView extends ObjectTiersView {
  /** True when this request scheduled a copy back to the hot tier. */
  readonly scheduled: boolean;
}

/** Restores in flight in this process, by content address. */
const running = new Map<string, Promise<void>>();

/**
 * Requests that `address` be copied back to the hot tier. Nothing to do when
 * a hot copy exists. Otherwise records `v1.storage.restore_requested` (once
 * per restore) and starts the copy in this process, in the background; it
 * records `v1.storage.location_added` (tier `hot`) and
 * `v1.storage.restore_completed` in one transaction. A request for a restore
 * another process left unfinished (it stopped) starts it again here.
 * Without a cold tier there is nothing to restore: the answer reports the
 * object's copies and schedules nothing.
 * @throws RegistryError `OBJECT_NOT_FOUND` when the object is unknown or has
 *   no copy on either tier.
 */
export async function requestRestore(ctx: RegistryContext, address: string, actor: Actor): Promise<RestoreView> {
  const before = await objectTiers(ctx, address);
  // Without a cold tier every copy is on a serving backend: nothing to restore.
  if (ctx.coldTier === undefined) return { ...before, scheduled: false };
  const tiers = ctx.coldTier;
  const contentAddress = before.contentAddress;
  if (before.locations.some((location) => location.backendId === tiers.hot.backendId)) return { ...before, scheduled: false };
  const source = before.locations.find((location) => location.backendId === tiers.cold.backendId);
  if (source === undefined) throw new RegistryError('OBJECT_NOT_FOUND', `${contentAddress} has no copy on the hot or the cold tier`);
  if (running.has(contentAddress)) return { ...before, scheduled: false };
  await ctx.journal.transact(async (tx) => {
    const row = await tx.trx('storage_locations').where({ content_address: contentAddress, backend_id: tiers.cold.backendId }).first('restore_status');
    if (!row || row.restore_status === 'requested') return;
    await tx.record({ type: 'v1.storage.restore_requested', subjectId: contentAddress, actor, payload: { content_address: contentAddress, backend_id: tiers.cold.backendId } });
  });
  const object = await ctx.db.knex('objects').where('content_address', contentAddress).first('digest_sha256', 'size');
  const row: ObjectRow = { contentAddress, digestSha256: object.digest_sha256 as string, size: Number(object.size) };
  const job = restore(ctx, tiers, row, actor).finally(() => running.delete(contentAddress));
  running.set(contentAddress, job);
  return { ...(await objectTiers(ctx, contentAddress)), scheduled: true };
}

/** Copies `row` back to the hot tier and records the completion; failures leave the restore `requested` (a new request retries). */
async function restore(ctx: RegistryContext, tiers: ColdTier, row: ObjectRow, actor: Actor): Promise<void> {
  const coldId = tiers.cold.backendId;
  const problem = await copyObject(ctx, tiers.cold, tiers.hot, row, actor, async (tx) => {
    await tx.record({ type: 'v1.storage.restore_completed', subjectId: row.contentAddress, actor, payload: { content_address: row.contentAddress, backend_id: coldId } });
  }).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  if (problem !== null) restoreFailures.set(row.contentAddress, problem);
  else restoreFailures.delete(row.contentAddress);
}

/** The last failure of a restore of this process, by content address (for operators and tests). */
export const restoreFailures = new Map<string, string>();

/** Resolves once every restore running in this process has finished. */
export async function restoresSettled(): Promise<void> {
  while (running.size > 0) await Promise.allSettled([...running.values()]);
}
