/**
 * Registries on the test RGW (see rgw.ts): every suite keeps its objects
 * under its own key prefix of one run prefix, as settings (for
 * `openTestRegistry`) or as `ARTIFACTSTORE_S3_*` variables (for child
 * processes), and removes them afterwards.
 */
import { randomUUID } from 'node:crypto';
import { AbortMultipartUploadCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3StorageSettings } from '../../src/config.js';
import type { S3TestEnv } from './rgw.js';

/** Every key prefix of this test process lives under this one. */
const RUN_PREFIX = `artifactstore-tests/registry-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
let prefixes = 0;

/** A key prefix no other suite (or run) uses. */
export function freshS3Prefix(label: string): string {
  prefixes += 1;
  return `${RUN_PREFIX}/${prefixes}-${label.replace(/[^A-Za-z0-9._-]+/g, '-')}`;
}

/** S3 storage settings on the test RGW under `keyPrefix`. */
export function s3StorageSettings(env: S3TestEnv, keyPrefix: string, extra: Partial<S3StorageSettings> = {}): S3StorageSettings {
  return {
    endpointUrl: env.endpointUrl,
    region: env.region,
    bucket: env.bucket,
    accessKeyId: env.accessKeyId,
    secretAccessKey: env.secretAccessKey,
    forcePathStyle: env.forcePathStyle,
    keyPrefix,
    ...extra,
  };
}

/** The same settings as `ARTIFACTSTORE_S3_*` variables. */
export function s3EnvVars(env: S3TestEnv, keyPrefix: string): NodeJS.ProcessEnv {
  return {
    ARTIFACTSTORE_S3_ENDPOINT_URL: env.endpointUrl,
    ARTIFACTSTORE_S3_REGION: env.region,
    ARTIFACTSTORE_S3_BUCKET: env.bucket,
    ARTIFACTSTORE_S3_ACCESS_KEY_ID: env.accessKeyId,
    ARTIFACTSTORE_S3_SECRET_ACCESS_KEY: env.secretAccessKey,
    ARTIFACTSTORE_S3_FORCE_PATH_STYLE: String(env.forcePathStyle),
    ARTIFACTSTORE_S3_KEY_PREFIX: keyPrefix,
  };
}

/** A client with the test credentials, for looking at (and cleaning) the bucket directly. */
export function s3AdminClient(env: S3TestEnv): S3Client {
  return new S3Client({
    endpoint: env.endpointUrl,
    region: env.region,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    forcePathStyle: env.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every key under `prefix/`. */
export async function s3KeysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const entry of page.Contents ?? []) if (entry.Key) keys.push(entry.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Removes every object and pending multipart upload under `prefix/`. */
export async function purgeS3Prefix(env: S3TestEnv, prefix: string): Promise<void> {
  const client = s3AdminClient(env);
  try {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: env.bucket, Prefix: `${prefix}/` }));
    for (const upload of uploads.Uploads ?? []) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: env.bucket, Key: upload.Key, UploadId: upload.UploadId })).catch(() => undefined);
    }
    const keys = await s3KeysUnder(client, env.bucket, prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      await client.send(new DeleteObjectsCommand({ Bucket: env.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
    }
  } finally {
    client.destroy();
  }
}
