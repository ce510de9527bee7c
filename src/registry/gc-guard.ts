/**
 * @module registry/gc-guard
 * The writers' half of the online GC protocol (docs/adr/0020): before an
 * event that records stored bytes commits, make sure GC cannot have removed
 * those bytes since the data plane stored them (or found them stored).
 *
 * GC removes bytes only inside a write transaction, which holds the event
 * sequence lock, and only after committing a claim on the candidate. This
 * guard runs inside the writer's transaction, under the same lock, so what
 * it sees cannot change before the writer commits:
 * - the object row exists and no claim is on it: its bytes are stored (GC
 *   removes bytes and the row in one transaction, and only claimed ones);
 * - no row and no `v1.object.deleted` for it ever: new content, and nothing
 *   has ever been allowed to remove it;
 * - otherwise (a claim, or content GC deleted before) look at the bytes: if
 *   they are gone, refuse with `OBJECT_COLLECTED` (503), and the client sends
 *   them again, which stores them afresh.
 */
import { RegistryError } from '../errors/index.js';
import type { Transaction } from '../db/index.js';
import type { DataPlane } from '../dataplane/index.js';
import type { NewEvent } from '../events/index.js';

/** The stored object an event's payload names, if any. */
function storedObjectOf(event: NewEvent): { contentAddress: string; backendId: string } | null {
  const payload = event.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || payload instanceof Uint8Array) return null;
  const record = payload as Record<string, unknown>;
  const address = record.content_address;
  if (typeof address !== 'string') return null;
  if (event.type === 'v1.storage.location_added' && typeof record.backend_id === 'string') return { contentAddress: address, backendId: record.backend_id };
  const storage = record.storage as Record<string, unknown> | undefined;
  if (event.type === 'v1.object.deleted' || typeof storage?.backend_id !== 'string') return null;
  return { contentAddress: address, backendId: storage.backend_id };
}

/**
 * The guard the composition root installs on the journal: refuses to record
 * a reference to bytes GC may have removed and that are not stored now.
 * @throws RegistryError `OBJECT_COLLECTED` (retryable: store the bytes again);
 *   `OBJECT_NOT_FOUND` for a new location of an object GC deleted.
 */
export function referenceGuard(dataPlane: DataPlane): (trx: Transaction, event: NewEvent) => Promise<void> {
  return async (trx, event) => {
    const ref = storedObjectOf(event);
    if (ref === null) return;
    const row = await trx('objects').where('content_address', ref.contentAddress).first('content_address');
    if (event.type === 'v1.storage.location_added') {
      // A copy made while GC deleted the object: the copy is an orphan, not a location.
      if (!row) throw new RegistryError('OBJECT_NOT_FOUND', `${ref.contentAddress} was garbage-collected; the copy is not recorded`);
      return;
    }
    if (row) {
      const claimed = await trx('gc_candidates').where('content_address', ref.contentAddress).whereNotNull('claimed_by').first('content_address');
      if (!claimed) return;
    } else {
      const deleted = await trx('events')
        .where({ subject_kind: 'storage', subject_id: ref.contentAddress, event_type: 'v1.object.deleted' })
        .first('sequence');
      if (!deleted) return;
    }
    // Rare: only content GC is reviewing or has deleted before gets here.
    if (ref.backendId === dataPlane.backendId && (await dataPlane.statObject(ref.contentAddress)) !== null) return;
    throw new RegistryError('OBJECT_COLLECTED', `${ref.contentAddress} was garbage-collected while it was being stored; send it again`, { content_address: ref.contentAddress });
  };
}
