/**
 * @module views/payloads
 * Typed event payloads, and their checked decoding. Payloads carry everything
 * a projector needs, so projection never has to read the views it writes.
 */
import { decodeCanonical, type CanonicalValue } from '../manifest/index.js';
import { RegistryError } from '../errors/index.js';

/** `v1.package.created` */
export interface PackageCreatedPayload {
  package_id: string;
  name: string;
  producer: string;
  subject: string | null;
  retention_class: string;
  metadata: { [key: string]: CanonicalValue };
}

/** `v1.retention.default_applied` */
export interface RetentionDefaultAppliedPayload {
  package_id: string;
  retention_class: string;
  /** Class duration in seconds; null when the class never expires. */
  duration_seconds: number | null;
  expires_at: string | null;
}

/** `v1.file.ingested` */
export interface FileIngestedPayload {
  file_id: string;
  package_id: string;
  relative_path: string;
  media_type: string;
  size: number;
  content_address: string;
  digest_sha256: string;
  storage: { backend_id: string; object_key: string; retrieval_tier: string };
}

/** Decodes a payload and checks that the named fields exist with the right JS types. */
export function decodePayload<T>(bytes: Uint8Array, shape: Record<string, 'string' | 'number' | 'object' | 'string?' | 'number?' | 'object?'>): T {
  const value = decodeCanonical(bytes);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError('EVENT_LOG_CORRUPT', 'event payload is not a map');
  }
  const record = value as Record<string, CanonicalValue>;
  for (const [field, expected] of Object.entries(shape)) {
    const optional = expected.endsWith('?');
    const kind = optional ? expected.slice(0, -1) : expected;
    const actual = record[field];
    if (actual === undefined || (actual === null && !optional) || (actual !== null && typeof actual !== kind)) {
      throw new RegistryError('EVENT_LOG_CORRUPT', `event payload field ${field} should be ${expected}`);
    }
  }
  return record as T;
}
