/**
 * @module registry/retention
 * The retention lifecycle of packages: extensions (strictly later, with a
 * reason), holds (several may coexist; a held package never becomes
 * eligible), the sweep that marks expired, unheld packages eligible for
 * deletion, and deletion itself — a separate, audited step that unlinks the
 * files and leaves their bytes to garbage collection.
 */
import { RegistryError } from '../errors/index.js';
import type { Transaction } from '../db/index.js';
import type { Actor, RegistryContext } from './context.js';
import type { JournalTransaction } from '../views/index.js';
import { PACKAGES_REPOSITORY } from './package-oci.js';
import { toEventView, type EventView } from './events.js';
import { isId, newId } from './ids.js';

/** A hold as clients see it. */
export interface HoldView {
  readonly id: string;
  readonly reason: string;
  readonly appliedBy: string;
  readonly appliedAt: string;
  readonly releasedBy: string | null;
  readonly releasedAt: string | null;
  readonly releaseReason: string | null;
}

/** A package's retention: class, expiry, holds, eligibility and history. */
export interface RetentionView {
  readonly packageId: string;
  readonly retentionClass: string;
  readonly currentExpiresAt: string | null;
  readonly eligibleForDeletion: boolean;
  readonly activeHolds: number;
  readonly holds: HoldView[];
  readonly history: EventView[];
}

const MAX_REASON_LENGTH = 4096;

function reasonOf(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON_LENGTH) {
    throw new RegistryError('FIELD_INVALID', `a reason of 1 to ${MAX_REASON_LENGTH} characters is required`, { field: 'reason' });
  }
  return reason;
}

async function stateOf(reader: RegistryContext['db']['knex'] | Transaction, packageId: string) {
  const row = isId(packageId)
    ? await reader('retention_state as r').join('artifact_packages as p', 'p.id', 'r.package_id').where('r.package_id', packageId)
      .first('r.retention_class', 'r.current_expires_at', 'r.eligible_for_deletion', 'r.active_holds', 'p.status')
    : undefined;
  if (!row) throw new RegistryError('PACKAGE_NOT_FOUND', `no package ${JSON.stringify(packageId)}`);
  if (row.status === 'deleted') throw new RegistryError('PACKAGE_DELETED', `package ${packageId} was deleted`);
  return row as { retention_class: string; current_expires_at: string | null; eligible_for_deletion: boolean | number; active_holds: number; status: string };
}

/** The retention of a package, with its holds and the history of its retention events. */
export async function getRetention(ctx: RegistryContext, packageId: string): Promise<RetentionView> {
  const knex = ctx.db.knex;
  const row = isId(packageId) ? await knex('retention_state').where({ package_id: packageId }).first() : undefined;
  if (!row) throw new RegistryError('PACKAGE_NOT_FOUND', `no package ${JSON.stringify(packageId)}`);
  const holds = await knex('retention_holds').where({ package_id: packageId }).orderBy('applied_at', 'asc').orderBy('id', 'asc');
  const history = await ctx.log.fetchSince(0, 10_000, { subjectKind: 'retention', subjectId: packageId });
  return {
    packageId,
    retentionClass: row.retention_class,
    currentExpiresAt: row.current_expires_at,
    eligibleForDeletion: Boolean(row.eligible_for_deletion),
    activeHolds: Number(row.active_holds),
    holds: holds.map((hold) => ({
      id: hold.id,
      reason: hold.reason,
      appliedBy: hold.applied_by,
      appliedAt: hold.applied_at,
      releasedBy: hold.released_by,
      releasedAt: hold.released_at,
      releaseReason: hold.release_reason,
    })),
    history: history.map(toEventView),
  };
}

/**
 * Extends a package's expiry to `newExpiresAt`, which must be strictly later
 * than the current one. @throws FIELD_INVALID, RETENTION_NOT_EXTENDABLE.
 */
export async function extendRetention(ctx: RegistryContext, packageId: string, newExpiresAt: string, reason: string, actor: Actor): Promise<RetentionView> {
  const why = reasonOf(reason);
  const when = new Date(newExpiresAt);
  if (typeof newExpiresAt !== 'string' || Number.isNaN(when.getTime())) throw new RegistryError('FIELD_INVALID', 'new_expires_at must be an ISO-8601 date-time', { field: 'new_expires_at' });
  const iso = when.toISOString();
  await ctx.journal.transact(async (tx) => {
    const state = await stateOf(tx.trx, packageId);
    if (state.current_expires_at === null) throw new RegistryError('RETENTION_NOT_EXTENDABLE', `package ${packageId} (${state.retention_class}) never expires`);
    if (iso <= state.current_expires_at) {
      throw new RegistryError('RETENTION_NOT_EXTENDABLE', `new_expires_at ${iso} is not later than the current expiry ${state.current_expires_at}`);
    }
    await tx.record({
      type: 'v1.retention.extended',
      subjectId: packageId,
      actor,
      payload: { package_id: packageId, previous_expires_at: state.current_expires_at, new_expires_at: iso, reason: why },
    });
  });
  return getRetention(ctx, packageId);
}

/** Places a hold; returns its id. */
export async function applyHold(ctx: RegistryContext, packageId: string, reason: string, actor: Actor): Promise<HoldView> {
  const why = reasonOf(reason);
  const holdId = newId();
  await ctx.journal.transact(async (tx) => {
    const state = await stateOf(tx.trx, packageId);
    await tx.record({
      type: 'v1.retention.hold_applied',
      subjectId: packageId,
      actor,
      payload: { package_id: packageId, hold_id: holdId, reason: why, active_holds: Number(state.active_holds) + 1 },
    });
  });
  const view = await getRetention(ctx, packageId);
  return view.holds.find((hold) => hold.id === holdId)!;
}

/** Releases an active hold. @throws HOLD_NOT_FOUND. */
export async function releaseHold(ctx: RegistryContext, packageId: string, holdId: string, reason: string, actor: Actor): Promise<RetentionView> {
  const why = reasonOf(reason);
  await ctx.journal.transact(async (tx) => {
    const state = await stateOf(tx.trx, packageId);
    const hold = isId(holdId) ? await tx.trx('retention_holds').where({ id: holdId, package_id: packageId }).first('released_at') : undefined;
    if (!hold) throw new RegistryError('HOLD_NOT_FOUND', `package ${packageId} has no hold ${JSON.stringify(holdId)}`);
    if (hold.released_at !== null) throw new RegistryError('HOLD_NOT_FOUND', `hold ${holdId} was already released at ${hold.released_at}`);
    await tx.record({
      type: 'v1.retention.hold_released',
      subjectId: packageId,
      actor,
      payload: { package_id: packageId, hold_id: holdId, reason: why, active_holds: Number(state.active_holds) - 1 },
    });
  });
  return getRetention(ctx, packageId);
}

/**
 * Marks every expired, unheld, not yet eligible package eligible for
 * deletion, in batches. Returns the ids marked.
 */
export async function sweepRetention(ctx: RegistryContext, now: Date = new Date(), actor: Actor = 'system:retention-sweep'): Promise<string[]> {
  const marked: string[] = [];
  const at = now.toISOString();
  for (;;) {
    const batch = await ctx.journal.transact(async (tx) => {
      const due = await tx.trx('retention_state as r')
        .join('artifact_packages as p', 'p.id', 'r.package_id')
        .whereNot('p.status', 'deleted')
        .where('r.eligible_for_deletion', false)
        .where('r.active_holds', 0)
        .whereNotNull('r.current_expires_at')
        .where('r.current_expires_at', '<=', at)
        .orderBy('r.package_id')
        .limit(500)
        .select('r.package_id', 'r.current_expires_at');
      for (const row of due) {
        await tx.record({
          type: 'v1.retention.deletion_eligible',
          subjectId: row.package_id,
          actor,
          payload: { package_id: row.package_id, expires_at: row.current_expires_at },
        });
      }
      return due.map((row) => row.package_id as string);
    });
    marked.push(...batch);
    if (batch.length < 500) return marked;
  }
}

/**
 * Deletes an eligible package: its files are unlinked (their bytes go to
 * GC) and the package is marked deleted. @throws PACKAGE_NOT_ELIGIBLE.
 */
export async function deletePackage(ctx: RegistryContext, packageId: string, reason: string, actor: Actor): Promise<void> {
  const why = reasonOf(reason);
  await ctx.journal.transact(async (tx) => {
    const state = await stateOf(tx.trx, packageId);
    if (!state.eligible_for_deletion) {
      throw new RegistryError('PACKAGE_NOT_ELIGIBLE', `package ${packageId} is not eligible for deletion (expires ${state.current_expires_at ?? 'never'}, ${state.active_holds} active hold(s))`);
    }
    const fileIds = (await tx.trx('artifact_files').where({ package_id: packageId }).orderBy('id').pluck('id')) as string[];
    await tx.record({ type: 'v1.package.deleted', subjectId: packageId, actor, payload: { package_id: packageId, reason: why, file_ids: fileIds } });
    await withdrawPackageFromOci(tx, packageId, actor);
  });
}

/**
 * Removes a deleted package's OCI face: its manifest and tag in the
 * `packages` repository, and the blob links no other manifest there still
 * references, so its bytes are no longer reachable through `/v2/` either.
 */
async function withdrawPackageFromOci(tx: JournalTransaction, packageId: string, actor: Actor): Promise<void> {
  const repository = PACKAGES_REPOSITORY;
  const tag = await tx.trx('oci_tags').where({ repository, tag: packageId }).first('manifest_digest');
  if (!tag) return;
  const digest = tag.manifest_digest as string;
  const tags = (await tx.trx('oci_tags').where({ repository, manifest_digest: digest }).orderBy('tag').pluck('tag')) as string[];
  const referenced = (await tx.trx('oci_manifest_references').where({ repository, manifest_digest: digest }).pluck('digest')) as string[];
  await tx.record({ type: 'v1.oci.manifest.deleted', subjectId: `${repository}@${digest}`, actor, payload: { repository, digest, tags } });
  for (const blob of [...new Set(referenced)].sort()) {
    const stillUsed = await tx.trx('oci_manifest_references').where({ repository, digest: blob }).first('manifest_digest');
    const linked = await tx.trx('oci_blob_links').where({ repository, digest: blob }).first('digest');
    if (!stillUsed && linked) await tx.record({ type: 'v1.oci.blob.unlinked', subjectId: `${repository}@${blob}`, actor, payload: { repository, digest: blob } });
  }
}
