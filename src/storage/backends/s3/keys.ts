/**
 * @module storage/backends/s3/keys
 * The key layout of the S3 backend, in one place:
 *
 *     <prefix>/blake3/<hex[0:2]>/<hex[2:4]>/<hex>      published objects (objectKeyFor)
 *     <prefix>/staging/<pid>-<uuid>                    stage() before put()
 *     <prefix>/uploads/<id>/_                          a staged upload exists (empty marker)
 *     <prefix>/uploads/<id>/<offset, 16 digits>        one appended chunk, starting at that offset
 *
 * With an empty prefix the keys start at `blake3/`, `staging/`, `uploads/`
 * (never with a slash). Staging and upload keys sort apart from objects, so
 * `list()` never sees them.
 */
import { randomUUID } from 'node:crypto';
import { addressForObjectKey, objectKeyFor } from '../../object-key.js';

/** Folder (under the prefix) of staged writes. */
export const STAGING_FOLDER = 'staging';
/** Folder (under the prefix) of staged uploads. */
export const UPLOADS_FOLDER = 'uploads';
/** Name of the marker object that makes an upload exist before its first byte. */
export const UPLOAD_MARKER = '_';
/** Digits of the zero-padded offset in an upload part's name. */
export const OFFSET_DIGITS = 16;

const OFFSET_NAME = new RegExp(`^\\d{${OFFSET_DIGITS}}$`);

/** Maps addresses, staging names and upload parts to keys under one prefix. */
export class KeyLayout {
  /** `''` or `<prefix>/`. */
  private readonly base: string;

  /** @param prefix A normalised prefix (no leading or trailing slash), possibly empty. */
  constructor(readonly prefix: string) {
    this.base = prefix === '' ? '' : `${prefix}/`;
  }

  /** The full key of `address`. @throws RegistryError `CONTENT_ADDRESS_INVALID`. */
  objectKey(address: string): string {
    return this.base + objectKeyFor(address);
  }

  /** Listing prefix of every published object. */
  get objectsPrefix(): string {
    return `${this.base}blake3/`;
  }

  /** The address stored under full key `key`, or null for anything else. */
  addressOf(key: string): string | null {
    if (!key.startsWith(this.base)) return null;
    return addressForObjectKey(key.slice(this.base.length));
  }

  /** Listing prefix of staged writes. */
  get stagingPrefix(): string {
    return `${this.base}${STAGING_FOLDER}/`;
  }

  /** A fresh staging key named after this process (see `removeStaleStaging`). */
  newStagingKey(): string {
    return `${this.stagingPrefix}${process.pid}-${randomUUID()}`;
  }

  /** Listing prefix of every staged upload. */
  get uploadsPrefix(): string {
    return `${this.base}${UPLOADS_FOLDER}/`;
  }

  /** Listing prefix of one upload (`id` must already be validated). */
  uploadPrefix(id: string): string {
    return `${this.uploadsPrefix}${id}/`;
  }

  /** The marker key of upload `id`. */
  uploadMarkerKey(id: string): string {
    return this.uploadPrefix(id) + UPLOAD_MARKER;
  }

  /** The key of the chunk of upload `id` that starts at `offset`. */
  uploadPartKey(id: string, offset: number): string {
    return this.uploadPrefix(id) + String(offset).padStart(OFFSET_DIGITS, '0');
  }

  /**
   * Splits a key under {@link uploadsPrefix} into its upload id and the name
   * after it (`_`, a padded offset, or anything else), or null when the key
   * is not `<uploads>/<something>/<name>`.
   */
  splitUploadKey(key: string): { id: string; name: string } | null {
    if (!key.startsWith(this.uploadsPrefix)) return null;
    const rest = key.slice(this.uploadsPrefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return null;
    return { id: rest.slice(0, slash), name: rest.slice(slash + 1) };
  }
}

/** The offset a part name encodes, or null when `name` is not a padded offset. */
export function offsetOfPartName(name: string): number | null {
  if (!OFFSET_NAME.test(name)) return null;
  const offset = Number(name);
  return Number.isSafeInteger(offset) ? offset : null;
}

/**
 * The `CopySource` header value for `key` in `bucket`: `bucket/key`, each
 * path segment URL-encoded.
 */
export function copySource(bucket: string, key: string): string {
  return [bucket, ...key.split('/')].map(encodeURIComponent).join('/');
}
