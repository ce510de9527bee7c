/**
 * @module views/oci-projectors
 * Projectors of the OCI events: repositories, blob links, manifests and what
 * they reference, tags. Deleting is unlinking; bytes stay for GC.
 */
import type { StoredEvent } from '../events/index.js';
import { toJcs } from '../manifest/index.js';
import {
  decodePayload,
  type OciBlobLinkedPayload,
  type OciBlobUnlinkedPayload,
  type OciManifestDeletedPayload,
  type OciManifestPutPayload,
  type OciTagDeletedPayload,
  type OciTagSetPayload,
} from './payloads.js';
import { storedObject } from './stored-object.js';
import type { ViewChange } from './view-changes.js';

function repository(event: StoredEvent, name: string): ViewChange {
  return { op: 'insertIfAbsent', table: 'oci_repositories', row: { name, created_at: event.createdAt, first_event_sequence: event.sequence } };
}

const STORED = { content_address: 'string', digest_sha256: 'string', size: 'number', storage: 'object' } as const;

/** Projectors of the `v1.oci.*` events. */
export const ociProjectors = {
  'v1.oci.blob.linked': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<OciBlobLinkedPayload>(event.payload, { repository: 'string', digest: 'string', ...STORED });
    return [
      ...storedObject(event, p),
      repository(event, p.repository),
      {
        op: 'upsert',
        table: 'oci_blob_links',
        row: { repository: p.repository, digest: p.digest, content_address: p.content_address, size: p.size, created_at: event.createdAt, event_sequence: event.sequence },
      },
    ];
  },

  'v1.oci.blob.unlinked': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<OciBlobUnlinkedPayload>(event.payload, { repository: 'string', digest: 'string' });
    return [{ op: 'delete', table: 'oci_blob_links', where: { repository: p.repository, digest: p.digest } }];
  },

  'v1.oci.manifest.put': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<OciManifestPutPayload>(event.payload, {
      repository: 'string', digest: 'string', ...STORED, media_type: 'string', artifact_type: 'string?', subject_digest: 'string?', annotations: 'object?', references: 'object',
    });
    return [
      ...storedObject(event, p),
      repository(event, p.repository),
      {
        op: 'upsert',
        table: 'oci_manifests',
        row: {
          repository: p.repository,
          digest: p.digest,
          content_address: p.content_address,
          media_type: p.media_type,
          artifact_type: p.artifact_type,
          subject_digest: p.subject_digest,
          annotations: p.annotations === null ? null : toJcs(p.annotations),
          size: p.size,
          created_at: event.createdAt,
          event_sequence: event.sequence,
        },
      },
      { op: 'delete', table: 'oci_manifest_references', where: { repository: p.repository, manifest_digest: p.digest } },
      ...p.references.map((reference, position): ViewChange => ({
        op: 'insert',
        table: 'oci_manifest_references',
        row: { repository: p.repository, manifest_digest: p.digest, position, kind: reference.kind, digest: reference.digest },
      })),
    ];
  },

  'v1.oci.manifest.deleted': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<OciManifestDeletedPayload>(event.payload, { repository: 'string', digest: 'string', tags: 'object' });
    return [
      { op: 'delete', table: 'oci_tags', where: { repository: p.repository, manifest_digest: p.digest } },
      { op: 'delete', table: 'oci_manifest_references', where: { repository: p.repository, manifest_digest: p.digest } },
      { op: 'delete', table: 'oci_manifests', where: { repository: p.repository, digest: p.digest } },
    ];
  },

  'v1.oci.tag.set': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<OciTagSetPayload>(event.payload, { repository: 'string', tag: 'string', digest: 'string', previous_digest: 'string?' });
    return [{
      op: 'upsert',
      table: 'oci_tags',
      row: { repository: p.repository, tag: p.tag, manifest_digest: p.digest, updated_at: event.createdAt, event_sequence: event.sequence },
    }];
  },

  'v1.oci.tag.deleted': (event: StoredEvent): ViewChange[] => {
    const p = decodePayload<OciTagDeletedPayload>(event.payload, { repository: 'string', tag: 'string', digest: 'string' });
    return [{ op: 'delete', table: 'oci_tags', where: { repository: p.repository, tag: p.tag } }];
  },
};

