/**
 * @module views/metadata-schema-projectors
 * Projector of `v1.metadata_schema.registered`: one `metadata_schemas` row
 * per name. Schemas are immutable, so a name is registered once; the
 * registry records no second event for it.
 */
import type { StoredEvent } from '../events/index.js';
import { blake3Hex } from '../identity/index.js';
import { toJcs } from '../manifest/index.js';
import { decodePayload, type MetadataSchemaRegisteredPayload } from './payloads.js';
import type { ViewChange } from './view-changes.js';

/** Projectors of `v1.metadata_schema.*` events. */
export const metadataSchemaProjectors = {
  'v1.metadata_schema.registered': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<MetadataSchemaRegisteredPayload>(event.payload, { name: 'string', schema: 'object' });
    const text = toJcs(p.schema);
    return [{
      op: 'insert',
      table: 'metadata_schemas',
      row: {
        name: p.name,
        schema: text,
        schema_digest: `blake3:${blake3Hex(new TextEncoder().encode(text))}`,
        created_by: event.actor,
        created_at: event.createdAt,
        event_sequence: event.sequence,
      },
    }];
  },
};
