/**
 * @module storage/backends/s3/context
 * The client and the settings every part of the S3 backend shares, and the
 * client configuration that works with AWS S3 and with S3-compatible stores.
 */
import { S3Client, type ServerSideEncryption, type StorageClass } from '@aws-sdk/client-s3';
import type { StorageBackend } from '../../backend.js';
import { KeyLayout } from './keys.js';
import type { ResolvedS3Settings } from './settings.js';

/** Request parameters that carry the configured server-side encryption. */
export interface EncryptionParams {
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
}

/** Request parameters of a published object: encryption and storage class. */
export interface PublishParams extends EncryptionParams {
  StorageClass?: StorageClass;
}

/** What the backend's modules share. */
export interface S3Context {
  readonly client: S3Client;
  readonly bucket: string;
  readonly layout: KeyLayout;
  readonly settings: ResolvedS3Settings;
  /** For staging objects and upload parts. */
  readonly encryption: EncryptionParams;
  /** For published objects. */
  readonly publish: PublishParams;
}

/**
 * Builds the client of `settings`. Checksums are computed and validated only
 * where S3 requires them: with the SDK's newer defaults (a CRC on every
 * request, sent as a trailer of an aws-chunked body) Ceph RGW refuses
 * streamed uploads with 411. Integrity of the bytes on the wire still holds:
 * over plain HTTP the SDK signs the SHA-256 of every body, and callers verify
 * content digests themselves.
 */
export function createS3Context(settings: ResolvedS3Settings): S3Context {
  // The SDK warns on every start that releases after January 2027 need
  // Node.js 22. Our SDK version is pinned in package.json, so the notice says
  // nothing an operator can act on and only clutters every CLI run and log;
  // an operator who sets the variable keeps their value.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpointUrl !== undefined ? { endpoint: settings.endpointUrl } : {}),
    ...(settings.credentials !== undefined ? { credentials: settings.credentials } : {}),
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const encryption: EncryptionParams = settings.sse
    ? {
        ServerSideEncryption: settings.sse.algorithm as ServerSideEncryption,
        ...(settings.sse.kmsKeyId !== undefined ? { SSEKMSKeyId: settings.sse.kmsKeyId } : {}),
      }
    : {};
  const publish: PublishParams = {
    ...encryption,
    ...(settings.storageClass !== undefined ? { StorageClass: settings.storageClass as StorageClass } : {}),
  };
  return Object.freeze({ client, bucket: settings.bucket, layout: new KeyLayout(settings.keyPrefix), settings, encryption, publish });
}

/** The context of every open S3 backend, for the helpers of this folder (presigning) that need its client. */
const contexts = new WeakMap<StorageBackend, S3Context>();

/** Records `ctx` as the context behind `backend` (see {@link s3ContextOf}). */
export function attachS3Context(backend: StorageBackend, ctx: S3Context): void {
  contexts.set(backend, ctx);
}

/** The S3 context behind `backend`, or undefined when it is not an S3 backend of this module. */
export function s3ContextOf(backend: StorageBackend): S3Context | undefined {
  return contexts.get(backend);
}
