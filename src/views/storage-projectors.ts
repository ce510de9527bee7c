/**
 * @module views/storage-projectors
 * Projectors of storage events: where objects live. A location is only ever
 * added (first one wins, as for the location an ingest records), so replay
 * and a re-run migration land on the same rows.
 */
import type { StoredEvent } from '../events/index.js';
import { decodePayload, type ObjectDeletedPayload, type StorageLocationAddedPayload, type StorageLocationRemovedPayload, type StorageRestorePayload } from './payloads.js';
import type { ViewChange } from './view-changes.js';

/** Projectors of `v1.storage.*` events. */
export const storageProjectors = {
  'v1.storage.location_added': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<StorageLocationAddedPayload>(event.payload, {
      content_address: 'string', backend_id: 'string', object_key: 'string', retrieval_tier: 'string?',
    });
    return [{
      op: 'insertIfAbsent',
      table: 'storage_locations',
      row: {
        content_address: p.content_address,
        backend_id: p.backend_id,
        object_key: p.object_key,
        // Events written before tiers existed always carried `hot`; be lenient anyway.
        retrieval_tier: p.retrieval_tier ?? 'hot',
        restore_status: 'none',
        created_at: event.createdAt,
      },
    }];
  },
  // Retrieval tiers (docs/adr/0022): a copy left a backend (`storage move` after its verified copy elsewhere).
  'v1.storage.location_removed': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<StorageLocationRemovedPayload>(event.payload, { content_address: 'string', backend_id: 'string' });
    return [{ op: 'delete', table: 'storage_locations', where: { content_address: p.content_address, backend_id: p.backend_id } }];
  },
  // The restore state lives on the archive location being restored from.
  'v1.storage.restore_requested': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<StorageRestorePayload>(event.payload, { content_address: 'string', backend_id: 'string' });
    return [{ op: 'update', table: 'storage_locations', key: { content_address: p.content_address, backend_id: p.backend_id }, set: { restore_status: 'requested' } }];
  },
  'v1.storage.restore_completed': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<StorageRestorePayload>(event.payload, { content_address: 'string', backend_id: 'string' });
    return [{ op: 'update', table: 'storage_locations', key: { content_address: p.content_address, backend_id: p.backend_id }, set: { restore_status: 'completed' } }];
  },
  // Locations first: they reference the object row. Nothing else can: GC
  // records this only for an object no view row references.
  'v1.object.deleted': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<ObjectDeletedPayload>(event.payload, { content_address: 'string', digest_sha256: 'string', size: 'number', locations: 'object' });
    return [
      { op: 'delete', table: 'storage_locations', where: { content_address: p.content_address } },
      { op: 'delete', table: 'objects', where: { content_address: p.content_address } },
    ];
  },
};
