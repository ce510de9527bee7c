/**
 * @module views/retention-projectors
 * Projectors of the retention lifecycle: extensions, holds, eligibility and
 * package deletion. Counts and flags are carried in the payload as absolute
 * values, so replay (and batched replay) reproduces them exactly.
 */
import type { StoredEvent } from '../events/index.js';
import {
  decodePayload,
  type PackageDeletedPayload,
  type RetentionDeletionEligiblePayload,
  type RetentionExtendedPayload,
  type RetentionHoldAppliedPayload,
  type RetentionHoldReleasedPayload,
} from './payloads.js';
import type { ViewChange } from './view-changes.js';

function state(event: StoredEvent, packageId: string, set: Record<string, string | number | boolean | null>): ViewChange {
  return { op: 'update', table: 'retention_state', key: { package_id: packageId }, set: { ...set, updated_at: event.createdAt, last_event_sequence: event.sequence } };
}

function touchPackage(event: StoredEvent, packageId: string): ViewChange {
  return { op: 'update', table: 'artifact_packages', key: { id: packageId }, set: { last_event_sequence: event.sequence } };
}

/** Projectors of `v1.retention.*` lifecycle events and `v1.package.deleted`. */
export const retentionProjectors = {
  'v1.retention.extended': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<RetentionExtendedPayload>(event.payload, { package_id: 'string', new_expires_at: 'string', reason: 'string' });
    return [state(event, p.package_id, { current_expires_at: p.new_expires_at, eligible_for_deletion: false }), touchPackage(event, p.package_id)];
  },

  'v1.retention.hold_applied': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<RetentionHoldAppliedPayload>(event.payload, { package_id: 'string', hold_id: 'string', reason: 'string', active_holds: 'number' });
    return [
      {
        op: 'insert',
        table: 'retention_holds',
        row: { id: p.hold_id, package_id: p.package_id, reason: p.reason, applied_by: event.actor, applied_at: event.createdAt, released_by: null, released_at: null, release_reason: null },
      },
      state(event, p.package_id, { active_holds: p.active_holds, eligible_for_deletion: false }),
      touchPackage(event, p.package_id),
    ];
  },

  'v1.retention.hold_released': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<RetentionHoldReleasedPayload>(event.payload, { package_id: 'string', hold_id: 'string', reason: 'string', active_holds: 'number' });
    return [
      { op: 'update', table: 'retention_holds', key: { id: p.hold_id }, set: { released_by: event.actor, released_at: event.createdAt, release_reason: p.reason } },
      state(event, p.package_id, { active_holds: p.active_holds }),
      touchPackage(event, p.package_id),
    ];
  },

  'v1.retention.deletion_eligible': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<RetentionDeletionEligiblePayload>(event.payload, { package_id: 'string', expires_at: 'string' });
    return [state(event, p.package_id, { eligible_for_deletion: true }), touchPackage(event, p.package_id)];
  },

  'v1.package.deleted': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<PackageDeletedPayload>(event.payload, { package_id: 'string', reason: 'string', file_ids: 'object' });
    return [
      { op: 'delete', table: 'artifact_files', where: { package_id: p.package_id } },
      { op: 'update', table: 'artifact_packages', key: { id: p.package_id }, set: { status: 'deleted', deleted_at: event.createdAt, last_event_sequence: event.sequence } },
    ];
  },
};
