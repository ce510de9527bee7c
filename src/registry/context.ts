/**
 * @module registry/context
 * What every use case needs, wired once by the composition root.
 */
import type { Database } from '../db/index.js';
import type { DataPlane } from '../dataplane/index.js';
import type { EventLog } from '../events/index.js';
import type { Journal } from '../views/index.js';
import type { OciRetentionConfig } from '../retention/index.js';

/** The collaborators of the registry's use cases. */
export interface RegistryContext {
  readonly db: Database;
  readonly log: EventLog;
  readonly journal: Journal;
  readonly dataPlane: DataPlane;
  /** Retention class → duration in seconds (null = never). */
  readonly retentionDurations: Readonly<Record<string, number | null>>;
  /** Limits of the OCI Distribution API. */
  readonly oci: OciLimits;
  /**
   * When set, downloads are answered with a redirect to a URL the data plane
   * hands out (valid `expiresInSeconds`) wherever its backend can; absent,
   * bytes are always streamed.
   */
  readonly directDownloads?: { readonly expiresInSeconds: number };
  /** OCI retention policies (ADR 0021); absent: OCI repositories are never pruned. */
  readonly ociRetention?: OciRetentionConfig;
  /** The colder storage tier (ADR 0022, `registry/tiers.ts`); absent: every object is served from the hot backend only. */
  readonly coldTier?: ColdTier;
}

/** Limits of the OCI Distribution API. */
export interface OciLimits {
  /** Largest manifest accepted, in bytes (413 above). */
  readonly manifestMaxBytes: number;
  /** Seconds an upload session may sit idle before it is purged. */
  readonly uploadTtlSeconds: number;
  /** Largest `n` accepted on tag and catalog listings. */
  readonly pageMax: number;
}

/** Defaults of {@link OciLimits}. */
export const DEFAULT_OCI_LIMITS: OciLimits = { manifestMaxBytes: 4 * 1024 * 1024, uploadTtlSeconds: 24 * 3600, pageMax: 10_000 };

/** Who is acting. CLI commands act as `local:<user>`; HTTP as the authenticated principal. */
export type Actor = string;

/** The cold tier as the registry sees it (ADR 0022; built by `coldTier` in `tiers.ts`). */
export interface ColdTier {
  /** The serving backend's own data plane (reads of it never fall back to the cold one). */
  readonly hot: DataPlane;
  /** The cold backend's data plane; its receipts carry {@link tier}. */
  readonly cold: DataPlane;
  /** `cold` when the cold backend can stream, `archive` when reads need a restore first. */
  readonly tier: 'cold' | 'archive';
}
