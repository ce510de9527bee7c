/**
 * @module storage/backends/s3/settings
 * What an operator configures for the S3 backend, the defaults, and the one
 * validation every value passes before a client is built. Settings often come
 * from untyped configuration, so every field is checked at run time too.
 */
import { RegistryError } from '../../../errors/index.js';

/** Bytes in one mebibyte. */
const MiB = 1024 * 1024;
/** Bytes in one gibibyte. */
const GiB = 1024 * MiB;

/** S3's smallest part of a multipart upload (every part but the last). */
export const S3_MIN_PART_BYTES = 5 * MiB;
/** S3's largest single PutObject, CopyObject, UploadPart or UploadPartCopy. */
export const S3_MAX_SINGLE_BYTES = 5 * GiB;
/** S3's largest part number. */
export const S3_MAX_PARTS = 10_000;

/** Server-side encryption requested for every object the backend writes. */
export interface S3ServerSideEncryption {
  /** `AES256` (SSE-S3), `aws:kms` (SSE-KMS) or `aws:kms:dsse`. */
  algorithm: 'AES256' | 'aws:kms' | 'aws:kms:dsse';
  /** The KMS key for the `aws:kms*` algorithms; the bucket's default key when absent. */
  kmsKeyId?: string;
}

/**
 * Options of the S3 backend (the factory adds `kind: 's3'`). Works against
 * AWS S3 and S3-compatible stores (Ceph RGW, MinIO, …).
 */
export interface S3BackendOptions {
  /** Endpoint of an S3-compatible store, e.g. `http://127.0.0.1:7480`; AWS's regional endpoint when absent. */
  endpointUrl?: string;
  /** Signing region (S3-compatible stores accept any, usually `us-east-1`). */
  region: string;
  /** The bucket; it must exist (the backend never creates or deletes buckets). */
  bucket: string;
  /**
   * Prefix under which the backend keeps everything (`<prefix>/blake3/…`,
   * `<prefix>/staging/…`, `<prefix>/uploads/…`), without leading or trailing
   * slash; the bucket root when empty. Segments are `[A-Za-z0-9._-]+`, and
   * neither `.` nor `..`.
   */
  keyPrefix?: string;
  /** Static credentials; both or neither. Without them the SDK's default chain applies (env, profile, IMDS, …). */
  accessKeyId?: string;
  /** See {@link accessKeyId}. */
  secretAccessKey?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most S3-compatible stores; false by default. */
  forcePathStyle?: boolean;
  /**
   * Storage class of published objects (`STANDARD_IA`, …). Staging objects and
   * upload parts always use the bucket default: they live minutes, and classes
   * with a minimum storage duration or a retrieval step would bill or block them.
   */
  storageClass?: string;
  /** Server-side encryption of everything written, staging and upload parts included. */
  sse?: S3ServerSideEncryption;
  /** A stage larger than this goes through a multipart upload; at most this much is buffered for a single PutObject. Default 16 MiB, at most 5 GiB. */
  multipartThresholdBytes?: number;
  /**
   * Part size of streamed multipart uploads, 5 MiB to 5 GiB; default 8 MiB.
   * Memory per write stays under about `multipartThresholdBytes +
   * (multipartConcurrency + 1) × multipartChunkBytes` (48 MiB by default),
   * whatever the object's size.
   * To stay within S3's 10,000 parts the part size grows by one chunk every
   * 2,000 parts, so the largest streamed object is 30,000 chunks (240 GB at 8 MiB).
   */
  multipartChunkBytes?: number;
  /** Parts of one streamed upload in flight at once, 1 to 16; default 3. */
  multipartConcurrency?: number;
  /** Objects larger than this are copied with UploadPartCopy instead of CopyObject. Default and maximum 5 GiB (S3's CopyObject limit). */
  multipartCopyThresholdBytes?: number;
  /** Range size of an UploadPartCopy, 5 MiB to 5 GiB; default 512 MiB. */
  multipartCopyPartBytes?: number;
  /**
   * `removeStaleStaging` removes staging leftovers (and aborts multipart
   * uploads) older than this many seconds, whoever wrote them. It must exceed
   * the longest stage or chunk upload. Default 3600.
   */
  staleStagingAgeSeconds?: number;
  /**
   * Whether `removeStaleStaging` also removes younger staging leftovers whose
   * writer pid (the key's `<pid>-` prefix) is this process's or no running
   * process on this host. Default true. Pids are per host: when several hosts
   * share the bucket and prefix, set this to false, since a pid dead here may
   * be a live writer on another host; there only the age rule is safe.
   */
  staleStagingByPid?: boolean;
  /**
   * The cleanup mode (`ARTIFACTSTORE_STAGING_CLEANUP`), overriding
   * `staleStagingByPid`: `pid` = age or dead writer pid, `age` = age only
   * (several hosts on one bucket and prefix), `off` = `removeStaleStaging`
   * removes nothing.
   */
  stagingCleanup?: 'pid' | 'age' | 'off';
  /** Backend id recorded in `storage_locations`; `s3` by default. */
  id?: string;
}

/** {@link S3BackendOptions} with every default applied and every value checked. */
export interface ResolvedS3Settings {
  readonly id: string;
  readonly endpointUrl: string | undefined;
  readonly region: string;
  readonly bucket: string;
  /** Normalised prefix: empty, or segments joined by `/`, without leading or trailing slash. */
  readonly keyPrefix: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  readonly forcePathStyle: boolean;
  readonly storageClass: string | undefined;
  readonly sse: S3ServerSideEncryption | undefined;
  readonly multipartThresholdBytes: number;
  readonly multipartChunkBytes: number;
  readonly multipartConcurrency: number;
  readonly multipartCopyThresholdBytes: number;
  readonly multipartCopyPartBytes: number;
  readonly staleStagingAgeMs: number;
  readonly staleStagingByPid: boolean;
  /** False when `removeStaleStaging` must remove nothing (`stagingCleanup: 'off'`). */
  readonly staleStagingEnabled: boolean;
}

/** Defaults of the tunables, exported for documentation and tests. */
export const S3_DEFAULTS = Object.freeze({
  id: 's3',
  multipartThresholdBytes: 16 * MiB,
  multipartChunkBytes: 8 * MiB,
  multipartConcurrency: 3,
  multipartCopyThresholdBytes: S3_MAX_SINGLE_BYTES,
  multipartCopyPartBytes: 512 * MiB,
  staleStagingAgeSeconds: 3600,
});

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const SSE_ALGORITHMS: ReadonlySet<string> = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);

/**
 * Applies the defaults to `options` and checks every value.
 * @throws RegistryError `CONFIG_INVALID` naming the offending setting.
 */
export function resolveS3Settings(options: S3BackendOptions): ResolvedS3Settings {
  if (options === null || typeof options !== 'object') invalid('settings', 'must be an object');
  const region = requiredString(options.region, 'region');
  const bucket = requiredString(options.bucket, 'bucket');
  const endpointUrl = optionalString(options.endpointUrl, 'endpointUrl');
  if (endpointUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(endpointUrl);
    } catch {
      invalid('endpointUrl', 'is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid('endpointUrl', 'must be http or https');
  }
  const accessKeyId = optionalString(options.accessKeyId, 'accessKeyId');
  const secretAccessKey = optionalString(options.secretAccessKey, 'secretAccessKey');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    invalid('accessKeyId', 'and secretAccessKey must be given together');
  }
  const multipartChunkBytes = integer(options.multipartChunkBytes, 'multipartChunkBytes', S3_DEFAULTS.multipartChunkBytes, S3_MIN_PART_BYTES, S3_MAX_SINGLE_BYTES);
  const sse = options.sse;
  if (sse !== undefined) {
    if (sse === null || typeof sse !== 'object' || !SSE_ALGORITHMS.has(sse.algorithm)) invalid('sse.algorithm', `must be one of ${[...SSE_ALGORITHMS].join(', ')}`);
    if (sse.kmsKeyId !== undefined && (typeof sse.kmsKeyId !== 'string' || sse.kmsKeyId === '' || sse.algorithm === 'AES256')) {
      invalid('sse.kmsKeyId', 'must be a non-empty string, and only with an aws:kms algorithm');
    }
  }
  if (options.forcePathStyle !== undefined && typeof options.forcePathStyle !== 'boolean') invalid('forcePathStyle', 'must be a boolean');
  if (options.staleStagingByPid !== undefined && typeof options.staleStagingByPid !== 'boolean') invalid('staleStagingByPid', 'must be a boolean');
  const cleanup = options.stagingCleanup;
  if (cleanup !== undefined && cleanup !== 'pid' && cleanup !== 'age' && cleanup !== 'off') invalid('stagingCleanup', 'must be pid, age or off');
  return Object.freeze({
    id: optionalString(options.id, 'id') ?? S3_DEFAULTS.id,
    endpointUrl,
    region,
    bucket,
    keyPrefix: normalisePrefix(options.keyPrefix),
    credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
    forcePathStyle: options.forcePathStyle ?? false,
    storageClass: optionalString(options.storageClass, 'storageClass'),
    sse: sse ? Object.freeze({ ...sse }) : undefined,
    multipartThresholdBytes: integer(options.multipartThresholdBytes, 'multipartThresholdBytes', S3_DEFAULTS.multipartThresholdBytes, 0, S3_MAX_SINGLE_BYTES),
    multipartChunkBytes,
    multipartConcurrency: integer(options.multipartConcurrency, 'multipartConcurrency', S3_DEFAULTS.multipartConcurrency, 1, 16),
    multipartCopyThresholdBytes: integer(options.multipartCopyThresholdBytes, 'multipartCopyThresholdBytes', S3_DEFAULTS.multipartCopyThresholdBytes, 0, S3_MAX_SINGLE_BYTES),
    multipartCopyPartBytes: integer(options.multipartCopyPartBytes, 'multipartCopyPartBytes', S3_DEFAULTS.multipartCopyPartBytes, S3_MIN_PART_BYTES, S3_MAX_SINGLE_BYTES),
    staleStagingAgeMs: integer(options.staleStagingAgeSeconds, 'staleStagingAgeSeconds', S3_DEFAULTS.staleStagingAgeSeconds, 0, 365 * 24 * 3600) * 1000,
    staleStagingByPid: cleanup !== undefined ? cleanup === 'pid' : (options.staleStagingByPid ?? true),
    staleStagingEnabled: cleanup !== 'off',
  });
}

function normalisePrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === '') return '';
  if (typeof prefix !== 'string') invalid('keyPrefix', 'must be a string');
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
      invalid('keyPrefix', 'segments must be [A-Za-z0-9._-]+ and not . or .. (no empty segments)');
    }
  }
  if (trimmed.length > 512) invalid('keyPrefix', 'is longer than 512 characters');
  return trimmed;
}

function requiredString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') invalid(name, 'is required (a non-empty string)');
  return value;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') invalid(name, 'must be a non-empty string');
  return value;
}

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    invalid(name, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function invalid(name: string, problem: string): never {
  throw new RegistryError('CONFIG_INVALID', `s3 storage: ${name} ${problem}`);
}
