/**
 * @module sinks/tracker
 * The `tracker` preset: a work tracker keeps only a package's id and a
 * summary, never bytes. For each package whose metadata carries
 * `tracker_task_id`, it POSTs a progress note to `<url>/progress/` when the
 * package is finalized and when its retention changes (extended, hold
 * applied or released, eligible for deletion). The creation default
 * (`v1.retention.default_applied`) is not a change and sends nothing; every
 * other event only advances the cursor.
 */
import type { CanonicalValue } from '../manifest/index.js';
import type { EventView, PackageView } from '../registry/index.js';
import { isRegistryError } from '../errors/index.js';
import type { TrackerSinkConfig } from './config.js';
import type { DeliveryAttempt, Deliverer } from './deliverer.js';
import { postJson } from './http-post.js';

/** The body of one progress note. */
export interface TrackerNote {
  readonly summary: string;
  readonly event_type: 'note';
  readonly author: string;
  readonly task_id: string;
}

/** The metadata key naming the tracker task of a package. */
export const TRACKER_TASK_KEY = 'tracker_task_id';

/** Reads a package's current view (the registry's `getPackage`). */
export type PackageLookup = (id: string) => Promise<PackageView>;

/** The event types a note is sent for. */
const NOTED = new Set(['v1.package.finalized', 'v1.retention.extended', 'v1.retention.hold_applied', 'v1.retention.hold_released', 'v1.retention.deletion_eligible']);

type Json = { readonly [key: string]: CanonicalValue };

/** The task id in `metadata`, if it names one (a non-empty string or an integer). */
function taskIdOf(metadata: Json | undefined): string | undefined {
  const value = metadata?.[TRACKER_TASK_KEY];
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'bigint') return String(value);
  return undefined;
}

/** The package facts a note names. */
interface Facts {
  readonly id: string;
  readonly name: string;
  readonly fileCount: number;
  readonly totalSize: number;
  readonly manifestDigest: string | null;
  readonly taskId: string | undefined;
}

/** The note for `event`, or undefined when the event sends none. Exported for tests and docs. */
export async function noteFor(event: EventView, lookup: PackageLookup, author: string): Promise<TrackerNote | undefined> {
  if (!NOTED.has(event.event_type)) return undefined;
  let facts: Facts;
  if (event.event_type === 'v1.package.finalized') {
    // The payload is the manifest itself: immutable, so a note delivered
    // late (or replayed from history) says what was finalized, whatever
    // happened to the package since.
    const manifest = event.payload as { package: { id: string; name: string; metadata: Json }; files: Array<{ size: number }> };
    facts = {
      id: manifest.package.id,
      name: manifest.package.name,
      fileCount: manifest.files.length,
      totalSize: manifest.files.reduce((sum, file) => sum + Number(file.size), 0),
      manifestDigest: event.payload_digest,
      taskId: taskIdOf(manifest.package.metadata),
    };
  } else {
    let view: PackageView;
    try {
      view = await lookup(event.subject_id);
    } catch (error) {
      if (isRegistryError(error, 'PACKAGE_NOT_FOUND')) return undefined;
      throw error;
    }
    facts = { id: view.id, name: view.name, fileCount: view.fileCount, totalSize: view.totalSize, manifestDigest: view.manifestDigest, taskId: taskIdOf(view.metadata) };
  }
  if (facts.taskId === undefined) return undefined;
  const payload = event.payload as Json;
  const what = `package ${facts.name} (${facts.id})`;
  let headline: string;
  switch (event.event_type) {
    case 'v1.package.finalized':
      headline = `artifactstore: ${what} finalized`;
      break;
    case 'v1.retention.extended':
      headline = `artifactstore: retention of ${what} extended to ${String(payload.new_expires_at)} (${String(payload.reason)})`;
      break;
    case 'v1.retention.hold_applied':
      headline = `artifactstore: retention hold ${String(payload.hold_id)} applied to ${what} (${String(payload.reason)})`;
      break;
    case 'v1.retention.hold_released':
      headline = `artifactstore: retention hold ${String(payload.hold_id)} on ${what} released (${String(payload.reason)}), ${String(payload.active_holds)} still active`;
      break;
    default:
      headline = `artifactstore: ${what} is eligible for deletion (expired ${String(payload.expires_at)})`;
  }
  const files = `${facts.fileCount} ${facts.fileCount === 1 ? 'file' : 'files'}, ${facts.totalSize} bytes`;
  const manifest = facts.manifestDigest ? `manifest ${facts.manifestDigest}` : 'not finalized';
  return { summary: `${headline}: ${files}, ${manifest}; event ${event.sequence}.`, event_type: 'note', author, task_id: facts.taskId };
}

/** A deliverer posting progress notes to `<sink.url>/progress/`. */
export function trackerDeliverer(sink: TrackerSinkConfig, lookup: PackageLookup): Deliverer {
  const url = new URL('progress/', sink.url.endsWith('/') ? sink.url : `${sink.url}/`).toString();
  return {
    async deliver(events: readonly EventView[], attempt: DeliveryAttempt): Promise<void> {
      for (const event of events) {
        const note = await noteFor(event, lookup, sink.author);
        if (note) {
          await postJson(url, JSON.stringify(note), {
            secret: sink.secret,
            token: sink.token,
            deliveryId: `${attempt.deliveryId}:${event.sequence}`,
            sentAt: new Date(),
            timeoutMs: sink.timeoutMs,
            signal: attempt.signal,
          });
        }
        attempt.progress(event.sequence);
      }
    },
    close: async () => undefined,
  };
}
