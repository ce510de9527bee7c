/**
 * @module retention/classes
 * Retention classes and the expiry a class gives a package created at a
 * given instant. Durations are deployment settings; the class names are not.
 */
import { RegistryError } from '../errors/index.js';

/** The seeded retention classes, shortest-lived first. */
export const RETENTION_CLASSES = ['transient', 'raw-evidence', 'summary-evidence', 'release-evidence', 'permanent-record'] as const;

/** A retention class name. */
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

/** Returns `name` as a known class, or throws `RETENTION_CLASS_UNKNOWN`. */
export function assertRetentionClass(name: unknown): RetentionClass {
  if (typeof name !== 'string' || !(RETENTION_CLASSES as readonly string[]).includes(name)) {
    throw new RegistryError('RETENTION_CLASS_UNKNOWN', `${JSON.stringify(name)} is not one of ${RETENTION_CLASSES.join(', ')}`);
  }
  return name as RetentionClass;
}

/** The default retention a class gives a package created at `from`. */
export interface RetentionDefault {
  readonly retentionClass: RetentionClass;
  /** Seconds, or null when the class never expires. */
  readonly durationSeconds: number | null;
  /** ISO-8601 UTC, or null when the class never expires. */
  readonly expiresAt: string | null;
}

/** Computes the class default for a package created at `from`. */
export function retentionDefault(retentionClass: RetentionClass, durations: Readonly<Record<string, number | null>>, from: Date): RetentionDefault {
  const durationSeconds = retentionClass === 'permanent-record' ? null : durations[retentionClass];
  if (durationSeconds === undefined) throw new RegistryError('CONFIG_INVALID', `no duration configured for retention class ${retentionClass}`);
  const expiresAt = durationSeconds === null ? null : new Date(from.getTime() + durationSeconds * 1000).toISOString();
  return { retentionClass, durationSeconds, expiresAt };
}
