/**
 * @module views/stored-object
 * The rows every event that stored bytes implies, whatever stored them (a
 * package file, an OCI blob or manifest).
 */
import type { StoredEvent } from '../events/index.js';
import type { StoragePayload } from './payloads.js';
import type { ViewChange } from './view-changes.js';

/** The object and storage-location rows an event that stored bytes implies (dedup: first one wins). */
export function storedObject(event: StoredEvent, p: { content_address: string; digest_sha256: string; size: number; storage: StoragePayload }): ViewChange[] {
  return [
    {
      op: 'insertIfAbsent',
      table: 'objects',
      row: { content_address: p.content_address, digest_sha256: p.digest_sha256, size: p.size, created_at: event.createdAt, first_event_sequence: event.sequence },
    },
    {
      op: 'insertIfAbsent',
      table: 'storage_locations',
      row: {
        content_address: p.content_address,
        backend_id: p.storage.backend_id,
        object_key: p.storage.object_key,
        retrieval_tier: p.storage.retrieval_tier,
        restore_status: 'none',
        created_at: event.createdAt,
      },
    },
  ];
}

