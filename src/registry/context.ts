/**
 * @module registry/context
 * What every use case needs, wired once by the composition root.
 */
import type { Database } from '../db/index.js';
import type { DataPlane } from '../dataplane/index.js';
import type { EventLog } from '../events/index.js';
import type { Journal } from '../views/index.js';

/** The collaborators of the registry's use cases. */
export interface RegistryContext {
  readonly db: Database;
  readonly log: EventLog;
  readonly journal: Journal;
  readonly dataPlane: DataPlane;
  /** Retention class → duration in seconds (null = never). */
  readonly retentionDurations: Readonly<Record<string, number | null>>;
}

/** Who is acting. CLI commands act as `local:<user>`; HTTP as the authenticated principal. */
export type Actor = string;
