/**
 * @module views/storage-projectors
 * Projectors of storage events: where objects live. A location is only ever
 * added (first one wins, as for the location an ingest records), so replay
 * and a re-run migration land on the same rows.
 */
import type { StoredEvent } from '../events/index.js';
import { decodePayload, type StorageLocationAddedPayload } from './payloads.js';
import type { ViewChange } from './view-changes.js';

/** Projectors of `v1.storage.*` events. */
export const storageProjectors = {
  'v1.storage.location_added': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<StorageLocationAddedPayload>(event.payload, {
      content_address: 'string', backend_id: 'string', object_key: 'string', retrieval_tier: 'string',
    });
    return [{
      op: 'insertIfAbsent',
      table: 'storage_locations',
      row: {
        content_address: p.content_address,
        backend_id: p.backend_id,
        object_key: p.object_key,
        retrieval_tier: p.retrieval_tier,
        restore_status: 'none',
        created_at: event.createdAt,
      },
    }];
  },
};
