/**
 * @module events/event-types
 * The registry of event types: versioned slugs and the subject kind each one
 * is about. Appending a type that is not listed here is refused, so the log
 * never holds an event nobody knows how to project.
 */
import { RegistryError } from '../errors/index.js';

/** What an event is about. */
export type SubjectKind = 'package' | 'file' | 'retention' | 'storage' | 'oci' | 'system';

/** Every event type, with the kind of subject it names. */
export const EVENT_TYPES = {
  'v1.package.created': 'package',
  'v1.retention.default_applied': 'retention',
  'v1.file.ingested': 'file',
  'v1.package.finalized': 'package',
  'v1.package.deleted': 'package',
  'v1.retention.extended': 'retention',
  'v1.retention.hold_applied': 'retention',
  'v1.retention.hold_released': 'retention',
  'v1.retention.deletion_eligible': 'retention',
  'v1.oci.blob.linked': 'oci',
  'v1.oci.blob.unlinked': 'oci',
  'v1.oci.manifest.put': 'oci',
  'v1.oci.manifest.deleted': 'oci',
  'v1.oci.tag.set': 'oci',
  'v1.oci.tag.deleted': 'oci',
  'v1.storage.location_added': 'storage',
  // Retrieval tiers (docs/adr/0022); subject: the content address.
  'v1.storage.location_removed': 'storage',
  'v1.storage.restore_requested': 'storage',
  'v1.storage.restore_completed': 'storage',
  // Online GC (docs/adr/0020): the bytes of an unreferenced object were removed; subject: its content address.
  'v1.object.deleted': 'storage',
  'v1.metadata_schema.registered': 'system',
} as const satisfies Record<string, SubjectKind>;

/** A known event type slug. */
export type EventType = keyof typeof EVENT_TYPES;

/** Returns `type` as an {@link EventType}, or throws `EVENT_TYPE_UNKNOWN`. */
export function assertEventType(type: string): EventType {
  if (!Object.hasOwn(EVENT_TYPES, type)) throw new RegistryError('EVENT_TYPE_UNKNOWN', `unknown event type ${JSON.stringify(type)}`);
  return type as EventType;
}

/** The subject kind an event type must be recorded with. */
export function subjectKindOf(type: EventType): SubjectKind {
  return EVENT_TYPES[type];
}
