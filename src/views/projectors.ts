/**
 * @module views/projectors
 * One projector per event type: a pure function from a committed event to
 * the view changes it implies. View rows take their timestamps and sequence
 * numbers from the event, never from the clock, so replay is exact.
 */
import type { StoredEvent, EventType } from '../events/index.js';
import { toJcs } from '../manifest/index.js';
import { RegistryError } from '../errors/index.js';
import {
  decodePayload,
  type FileIngestedPayload,
  type PackageCreatedPayload,
  type RetentionDefaultAppliedPayload,
} from './payloads.js';
import { ociProjectors } from './oci-projectors.js';
import { retentionProjectors } from './retention-projectors.js';
import { storageProjectors } from './storage-projectors.js';
import { metadataSchemaProjectors } from './metadata-schema-projectors.js';
import { storedObject } from './stored-object.js';
import type { ViewChange } from './view-changes.js';

type Projector = (event: StoredEvent) => ViewChange[];

const projectors: Record<EventType, Projector> = {
  ...ociProjectors,
  ...retentionProjectors,
  ...storageProjectors,
  ...metadataSchemaProjectors,
  'v1.package.created': (event): ViewChange[] => {
    const p = decodePayload<PackageCreatedPayload>(event.payload, {
      package_id: 'string', name: 'string', producer: 'string', subject: 'string?', retention_class: 'string', metadata: 'object',
    });
    const metadataRows = Object.entries(p.metadata).map(([key, value]): ViewChange => ({
      op: 'insert',
      table: 'artifact_package_metadata',
      row: { package_id: p.package_id, key, value: metadataValueText(value) },
    }));
    return [{
      op: 'insert',
      table: 'artifact_packages',
      row: {
        id: p.package_id,
        name: p.name,
        producer: p.producer,
        subject: p.subject,
        retention_class: p.retention_class,
        metadata: toJcs(p.metadata),
        status: 'created',
        manifest_digest: null,
        created_by: event.actor,
        created_at: event.createdAt,
        finalized_at: null,
        deleted_at: null,
        last_event_sequence: event.sequence,
        // Optional in the payload: events from before metadata schemas have none.
        metadata_schema: typeof p.metadata_schema === 'string' ? p.metadata_schema : null,
      },
    }, ...metadataRows];
  },

  'v1.retention.default_applied': (event): ViewChange[] => {
    const p = decodePayload<RetentionDefaultAppliedPayload>(event.payload, {
      package_id: 'string', retention_class: 'string', duration_seconds: 'number?', expires_at: 'string?',
    });
    return [
      {
        op: 'insert',
        table: 'retention_state',
        row: {
          package_id: p.package_id,
          retention_class: p.retention_class,
          current_expires_at: p.expires_at,
          eligible_for_deletion: false,
          active_holds: 0,
          updated_at: event.createdAt,
          last_event_sequence: event.sequence,
        },
      },
      { op: 'update', table: 'artifact_packages', key: { id: p.package_id }, set: { last_event_sequence: event.sequence } },
    ];
  },

  'v1.file.ingested': (event): ViewChange[] => {
    const p = decodePayload<FileIngestedPayload>(event.payload, {
      file_id: 'string', package_id: 'string', relative_path: 'string', media_type: 'string', size: 'number',
      content_address: 'string', digest_sha256: 'string', storage: 'object',
    });
    return [
      ...storedObject(event, p),
      {
        op: 'insert',
        table: 'artifact_files',
        row: {
          id: p.file_id,
          package_id: p.package_id,
          relative_path: p.relative_path,
          media_type: p.media_type,
          size: p.size,
          digest_algorithm: 'blake3',
          digest_primary: p.content_address.slice('blake3:'.length),
          digest_sha256: p.digest_sha256,
          content_address: p.content_address,
          created_at: event.createdAt,
          event_sequence: event.sequence,
        },
      },
      { op: 'update', table: 'artifact_packages', key: { id: p.package_id }, set: { last_event_sequence: event.sequence } },
    ];
  },

  'v1.package.finalized': (event): ViewChange[] => [{
    op: 'update',
    table: 'artifact_packages',
    key: { id: event.subjectId },
    set: {
      status: 'finalized',
      manifest_digest: `blake3:${Buffer.from(event.payloadDigest).toString('hex')}`,
      finalized_at: event.createdAt,
      last_event_sequence: event.sequence,
    },
  }],
};

/**
 * How a metadata value is indexed for `metadata.<key>=<value>` filters: text
 * as itself, other scalars as their JSON text (`42`, `true`, `null`), arrays
 * and objects as their JCS text.
 */
export function metadataValueText(value: unknown): string {
  return typeof value === 'string' ? value : toJcs(value as never);
}

/** The view changes `event` implies. */
export function project(event: StoredEvent): ViewChange[] {
  const projector = projectors[event.type];
  if (!projector) throw new RegistryError('EVENT_TYPE_UNKNOWN', `no projector for ${event.type}`);
  return projector(event);
}
