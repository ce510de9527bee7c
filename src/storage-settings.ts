/**
 * @module storage-settings
 * The storage part of the settings: which backend serves
 * (`ARTIFACTSTORE_STORAGE_BACKEND`) and the S3 backend's connection and
 * tuning (`ARTIFACTSTORE_S3_*`), read and checked by `loadSettings` with one
 * message per bad variable. The S3 block is read whenever the S3 backend is
 * selected or any `ARTIFACTSTORE_S3_*` variable is set, so that a process
 * serving from local disk can still reach the bucket (`storage migrate --to s3`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The storage backends a deployment can select. */
export const STORAGE_BACKENDS = ['local', 's3'] as const;
export type StorageBackendName = (typeof STORAGE_BACKENDS)[number];

/** Server-side encryption algorithms `ARTIFACTSTORE_S3_SSE` accepts. */
export const S3_SSE_ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'] as const;

/**
 * Settings of the S3 backend, shaped as its options (the composition root
 * hands them to the storage factory as they are, except `redirect`).
 */
export interface S3StorageSettings {
  readonly endpointUrl?: string;
  readonly region: string;
  readonly bucket: string;
  readonly keyPrefix?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly forcePathStyle?: boolean;
  readonly storageClass?: string;
  readonly sse?: { readonly algorithm: (typeof S3_SSE_ALGORITHMS)[number]; readonly kmsKeyId?: string };
  readonly multipartThresholdBytes?: number;
  readonly multipartChunkBytes?: number;
  /** Answer blob and file downloads with a 307 to a short-lived presigned URL instead of streaming (default false). */
  readonly redirect?: boolean;
}

/** Where objects are stored. */
export interface StorageSettings {
  /** The backend this process reads and writes. */
  readonly backend: StorageBackendName;
  /** Root directory of the local backend (used when it serves, and as the local side of a migration). */
  readonly localRoot: string;
  /** The S3 backend, when configured (always when `backend` is `s3`). */
  readonly s3?: S3StorageSettings;
  /** Staging cleanup at `serve` start (`ARTIFACTSTORE_STAGING_*`); absent in settings built by hand: the backend's own default. */
  readonly stagingCleanup?: StagingCleanupSettings;
  /** The colder tier (`ARTIFACTSTORE_COLD_*`, ADR 0022), when configured. */
  readonly cold?: ColdStorageSettings;
}

/** How `serve` tells staging leftovers from live writes (`ARTIFACTSTORE_STAGING_CLEANUP`, `…_MAX_AGE`). */
export interface StagingCleanupSettings {
  /** `pid`: dead writer pid on this host, or older than the age; `age`: older only (several hosts); `off`: nothing. */
  readonly mode: 'pid' | 'age' | 'off';
  readonly maxAgeSeconds: number;
}

/** A second backend holding objects moved off the serving one (`storage move`), ADR 0022. */
export interface ColdStorageSettings {
  readonly backend: StorageBackendName;
  /** Root of a local cold backend. */
  readonly localRoot?: string;
  /** A cold S3 backend: the `ARTIFACTSTORE_S3_*` connection with the cold bucket, prefix and storage class. */
  readonly s3?: S3StorageSettings;
  /** False for an archive (Glacier-like): objects there must be restored before they can be read. */
  readonly streamable: boolean;
}

/** Defaults of the staging cleanup and cold tier variables, in README order. */
export const STORAGE_TIER_SETTING_DEFAULTS = {
  ARTIFACTSTORE_STAGING_CLEANUP: '',
  ARTIFACTSTORE_STAGING_MAX_AGE: '24h',
  ARTIFACTSTORE_COLD_STORAGE_BACKEND: '',
  ARTIFACTSTORE_COLD_STORAGE_LOCAL_ROOT: '',
  ARTIFACTSTORE_COLD_S3_BUCKET: '',
  ARTIFACTSTORE_COLD_S3_KEY_PREFIX: '',
  ARTIFACTSTORE_COLD_S3_STORAGE_CLASS: '',
  ARTIFACTSTORE_COLD_STORAGE_STREAMABLE: 'true',
} as const;

type TierVariable = keyof typeof STORAGE_TIER_SETTING_DEFAULTS;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Defaults of the storage variables besides `ARTIFACTSTORE_STORAGE_LOCAL_ROOT`,
 * in README order. The multipart sizes repeat the S3 backend's own defaults.
 */
export const S3_SETTING_DEFAULTS = {
  ARTIFACTSTORE_S3_ENDPOINT_URL: '',
  ARTIFACTSTORE_S3_REGION: 'us-east-1',
  ARTIFACTSTORE_S3_BUCKET: '',
  ARTIFACTSTORE_S3_KEY_PREFIX: '',
  ARTIFACTSTORE_S3_ACCESS_KEY_ID: '',
  ARTIFACTSTORE_S3_ACCESS_KEY_ID_FILE: '',
  ARTIFACTSTORE_S3_SECRET_ACCESS_KEY: '',
  ARTIFACTSTORE_S3_SECRET_ACCESS_KEY_FILE: '',
  ARTIFACTSTORE_S3_FORCE_PATH_STYLE: 'false',
  ARTIFACTSTORE_S3_STORAGE_CLASS: '',
  ARTIFACTSTORE_S3_SSE: '',
  ARTIFACTSTORE_S3_SSE_KMS_KEY_ID: '',
  ARTIFACTSTORE_S3_MULTIPART_THRESHOLD_BYTES: String(16 * MiB),
  ARTIFACTSTORE_S3_MULTIPART_CHUNK_BYTES: String(8 * MiB),
  ARTIFACTSTORE_S3_REDIRECT: 'false',
} as const;

type S3Variable = keyof typeof S3_SETTING_DEFAULTS;

/**
 * Reads the storage settings. `read` gives a variable's trimmed value or
 * its default; `env` tells which variables were actually set.
 */
export function readStorageSettings(
  read: (name: S3Variable | TierVariable | 'ARTIFACTSTORE_STORAGE_BACKEND' | 'ARTIFACTSTORE_STORAGE_LOCAL_ROOT') => string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  problems: string[],
): StorageSettings {
  const backendText = read('ARTIFACTSTORE_STORAGE_BACKEND').toLowerCase();
  const backend = (STORAGE_BACKENDS as readonly string[]).includes(backendText) ? (backendText as StorageBackendName) : undefined;
  if (backend === undefined) problems.push(`ARTIFACTSTORE_STORAGE_BACKEND must be one of ${STORAGE_BACKENDS.join(', ')}; got ${JSON.stringify(backendText)}`);
  const localRoot = path.resolve(cwd, read('ARTIFACTSTORE_STORAGE_LOCAL_ROOT'));
  const anyS3 = (Object.keys(S3_SETTING_DEFAULTS) as S3Variable[]).some((name) => (env[name] ?? '').trim() !== '');
  const s3 = backend === 's3' || anyS3 ? readS3(read, cwd, problems, backend === 's3') : undefined;
  const stagingCleanup = readStagingCleanup(read, backend ?? 'local', problems);
  const cold = readColdStorage(read, cwd, problems, { localRoot, backend: backend ?? 'local', ...(s3 ? { s3 } : {}) });
  return { backend: backend ?? 'local', localRoot, ...(s3 ? { s3 } : {}), stagingCleanup, ...(cold ? { cold } : {}) };
}

/** Whole seconds of `30s`, `15m`, `24h`, `7d`, `2w`; undefined otherwise. */
function seconds(text: string): number | undefined {
  const match = /^(\d+)([smhdw])$/.exec(text.toLowerCase());
  if (!match) return undefined;
  const value = Number(match[1]) * { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 }[match[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * The staging cleanup mode: `pid` by default on local disk (one host owns
 * the root), `age` on S3 (a bucket is easily shared by hosts, whose pids mean
 * nothing to each other).
 */
function readStagingCleanup(read: (name: TierVariable) => string, backend: StorageBackendName, problems: string[]): StagingCleanupSettings {
  const modeText = read('ARTIFACTSTORE_STAGING_CLEANUP').toLowerCase();
  const mode = modeText === '' ? (backend === 's3' ? 'age' : 'pid') : modeText;
  if (mode !== 'pid' && mode !== 'age' && mode !== 'off') problems.push(`ARTIFACTSTORE_STAGING_CLEANUP must be pid, age or off; got ${JSON.stringify(modeText)}`);
  const ageText = read('ARTIFACTSTORE_STAGING_MAX_AGE');
  const maxAgeSeconds = seconds(ageText);
  if (maxAgeSeconds === undefined) problems.push(`ARTIFACTSTORE_STAGING_MAX_AGE must be a duration like 30m, 24h or 2d; got ${JSON.stringify(ageText)}`);
  return { mode: mode as StagingCleanupSettings['mode'], maxAgeSeconds: maxAgeSeconds ?? 0 };
}

/** The cold tier, when `ARTIFACTSTORE_COLD_STORAGE_BACKEND` is set; it must not share keys with the serving backend. */
function readColdStorage(
  read: (name: TierVariable) => string,
  cwd: string,
  problems: string[],
  hot: { backend: StorageBackendName; localRoot: string; s3?: S3StorageSettings },
): ColdStorageSettings | undefined {
  const kind = read('ARTIFACTSTORE_COLD_STORAGE_BACKEND').toLowerCase();
  const streamableText = read('ARTIFACTSTORE_COLD_STORAGE_STREAMABLE').toLowerCase();
  const streamable = ['true', '1', 'yes', 'on'].includes(streamableText);
  if (!streamable && !['false', '0', 'no', 'off'].includes(streamableText)) {
    problems.push(`ARTIFACTSTORE_COLD_STORAGE_STREAMABLE must be true or false; got ${JSON.stringify(streamableText)}`);
  }
  if (kind === '') return undefined;
  if (kind === 'local') {
    const rootText = read('ARTIFACTSTORE_COLD_STORAGE_LOCAL_ROOT');
    if (rootText === '') {
      problems.push('ARTIFACTSTORE_COLD_STORAGE_LOCAL_ROOT is required when ARTIFACTSTORE_COLD_STORAGE_BACKEND is local');
      return undefined;
    }
    const localRoot = path.resolve(cwd, rootText);
    if (localRoot === hot.localRoot) problems.push('ARTIFACTSTORE_COLD_STORAGE_LOCAL_ROOT must differ from ARTIFACTSTORE_STORAGE_LOCAL_ROOT');
    return { backend: 'local', localRoot, streamable };
  }
  if (kind === 's3') {
    if (hot.s3 === undefined) {
      problems.push('ARTIFACTSTORE_COLD_STORAGE_BACKEND=s3 needs the ARTIFACTSTORE_S3_* connection settings (ARTIFACTSTORE_S3_BUCKET at least)');
      return undefined;
    }
    const bucket = read('ARTIFACTSTORE_COLD_S3_BUCKET') || hot.s3.bucket;
    const keyPrefix = read('ARTIFACTSTORE_COLD_S3_KEY_PREFIX').replace(/^\/+|\/+$/g, '');
    if (keyPrefix !== '' && keyPrefix.split('/').some((segment) => !/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..')) {
      problems.push(`ARTIFACTSTORE_COLD_S3_KEY_PREFIX must be /-separated segments of letters, digits, '.', '_' or '-'; got ${JSON.stringify(keyPrefix)}`);
    }
    if (bucket === hot.s3.bucket && keyPrefix === (hot.s3.keyPrefix ?? '')) {
      problems.push('the cold tier must not share bucket and key prefix with the S3 backend: set ARTIFACTSTORE_COLD_S3_KEY_PREFIX (or ARTIFACTSTORE_COLD_S3_BUCKET)');
    }
    const storageClass = read('ARTIFACTSTORE_COLD_S3_STORAGE_CLASS');
    if (storageClass !== '' && !/^[A-Z][A-Z0-9_]*$/.test(storageClass)) {
      problems.push(`ARTIFACTSTORE_COLD_S3_STORAGE_CLASS must be a storage class name such as GLACIER_IR; got ${JSON.stringify(storageClass)}`);
    }
    const { storageClass: _hotClass, keyPrefix: _hotPrefix, redirect: _redirect, ...connection } = hot.s3;
    const s3: S3StorageSettings = { ...connection, bucket, ...(keyPrefix !== '' ? { keyPrefix } : {}), ...(storageClass !== '' ? { storageClass } : {}) };
    // Logged at start like the S3 settings: never the secret key.
    Object.defineProperty(s3, 'toJSON', { enumerable: false, value: () => ({ ...s3, ...(s3.secretAccessKey !== undefined ? { secretAccessKey: '[Redacted]' } : {}) }) });
    return { backend: 's3', s3, streamable };
  }
  problems.push(`ARTIFACTSTORE_COLD_STORAGE_BACKEND must be local or s3 (or empty for no cold tier); got ${JSON.stringify(kind)}`);
  return undefined;
}

function readS3(read: (name: S3Variable) => string, cwd: string, problems: string[], required: boolean): S3StorageSettings | undefined {
  const optional = (name: S3Variable): string | undefined => {
    const value = read(name);
    return value === '' ? undefined : value;
  };
  const flag = (name: S3Variable): boolean => {
    const value = read(name).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    problems.push(`${name} must be true or false; got ${JSON.stringify(value)}`);
    return false;
  };
  const bytes = (name: S3Variable, min: number, max: number): number => {
    const text = read(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number of bytes from ${min} to ${max}; got ${JSON.stringify(text)}`);
    }
    return value;
  };

  const endpointUrl = optional('ARTIFACTSTORE_S3_ENDPOINT_URL');
  if (endpointUrl !== undefined && !isHttpUrl(endpointUrl)) {
    problems.push(`ARTIFACTSTORE_S3_ENDPOINT_URL must be an http(s) URL such as http://127.0.0.1:7480; got ${JSON.stringify(endpointUrl)}`);
  }
  const region = read('ARTIFACTSTORE_S3_REGION');
  if (!/^[A-Za-z0-9-]+$/.test(region)) problems.push(`ARTIFACTSTORE_S3_REGION must be a region name such as us-east-1; got ${JSON.stringify(region)}`);
  const bucket = optional('ARTIFACTSTORE_S3_BUCKET');
  if (bucket === undefined) {
    if (required) problems.push('ARTIFACTSTORE_S3_BUCKET is required when ARTIFACTSTORE_STORAGE_BACKEND is s3');
  } else if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/.test(bucket)) {
    problems.push(`ARTIFACTSTORE_S3_BUCKET must be a bucket name of 3 to 63 letters, digits, dots, hyphens or underscores; got ${JSON.stringify(bucket)}`);
  }
  const keyPrefix = read('ARTIFACTSTORE_S3_KEY_PREFIX').replace(/^\/+|\/+$/g, '');
  if (keyPrefix !== '' && (keyPrefix.length > 512 || keyPrefix.split('/').some((segment) => !/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..'))) {
    problems.push(`ARTIFACTSTORE_S3_KEY_PREFIX must be /-separated segments of letters, digits, '.', '_' or '-' (not . or ..), at most 512 characters; got ${JSON.stringify(keyPrefix)}`);
  }
  const credentialProblems = problems.length;
  const accessKeyId = secret(read, 'ARTIFACTSTORE_S3_ACCESS_KEY_ID', 'ARTIFACTSTORE_S3_ACCESS_KEY_ID_FILE', cwd, problems);
  const secretAccessKey = secret(read, 'ARTIFACTSTORE_S3_SECRET_ACCESS_KEY', 'ARTIFACTSTORE_S3_SECRET_ACCESS_KEY_FILE', cwd, problems);
  if (problems.length === credentialProblems && (accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    problems.push(
      'ARTIFACTSTORE_S3_ACCESS_KEY_ID(_FILE) and ARTIFACTSTORE_S3_SECRET_ACCESS_KEY(_FILE) must be given together (or neither, for the SDK’s default credential chain)',
    );
  }
  const forcePathStyle = flag('ARTIFACTSTORE_S3_FORCE_PATH_STYLE');
  const storageClass = optional('ARTIFACTSTORE_S3_STORAGE_CLASS');
  if (storageClass !== undefined && !/^[A-Z][A-Z0-9_]*$/.test(storageClass)) {
    problems.push(`ARTIFACTSTORE_S3_STORAGE_CLASS must be a storage class name such as STANDARD_IA; got ${JSON.stringify(storageClass)}`);
  }
  const algorithm = optional('ARTIFACTSTORE_S3_SSE');
  const kmsKeyId = optional('ARTIFACTSTORE_S3_SSE_KMS_KEY_ID');
  if (algorithm !== undefined && !(S3_SSE_ALGORITHMS as readonly string[]).includes(algorithm)) {
    problems.push(`ARTIFACTSTORE_S3_SSE must be one of ${S3_SSE_ALGORITHMS.join(', ')} (or empty for none); got ${JSON.stringify(algorithm)}`);
  }
  if (kmsKeyId !== undefined && (algorithm === undefined || !algorithm.startsWith('aws:kms'))) {
    problems.push('ARTIFACTSTORE_S3_SSE_KMS_KEY_ID needs ARTIFACTSTORE_S3_SSE=aws:kms or aws:kms:dsse');
  }
  const multipartThresholdBytes = bytes('ARTIFACTSTORE_S3_MULTIPART_THRESHOLD_BYTES', 0, 5 * GiB);
  const multipartChunkBytes = bytes('ARTIFACTSTORE_S3_MULTIPART_CHUNK_BYTES', 5 * MiB, 5 * GiB);
  const redirect = flag('ARTIFACTSTORE_S3_REDIRECT');
  if (bucket === undefined) return undefined;

  const settings: S3StorageSettings = {
    ...(endpointUrl !== undefined ? { endpointUrl } : {}),
    region,
    bucket,
    ...(keyPrefix !== '' ? { keyPrefix } : {}),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : {}),
    forcePathStyle,
    ...(storageClass !== undefined ? { storageClass } : {}),
    ...(algorithm !== undefined ? { sse: { algorithm: algorithm as (typeof S3_SSE_ALGORITHMS)[number], ...(kmsKeyId !== undefined ? { kmsKeyId } : {}) } } : {}),
    multipartThresholdBytes,
    multipartChunkBytes,
    redirect,
  };
  // Settings are logged at start (`serve`): never the secret key.
  Object.defineProperty(settings, 'toJSON', {
    enumerable: false,
    value: () => ({ ...settings, ...(settings.secretAccessKey !== undefined ? { secretAccessKey: '[Redacted]' } : {}) }),
  });
  return settings;
}

/** A credential from its variable or from the file its `_FILE` variable names (not both); undefined when neither is set. */
function secret(read: (name: S3Variable) => string, name: S3Variable, fileName: S3Variable, cwd: string, problems: string[]): string | undefined {
  const value = read(name);
  const file = read(fileName);
  if (value !== '' && file !== '') {
    problems.push(`${name} and ${fileName} are both set; set one`);
    return undefined;
  }
  if (file === '') return value === '' ? undefined : value;
  const where = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(where, 'utf8').trim();
  } catch (error) {
    problems.push(`${fileName} (${where}) cannot be read: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  if (text === '') {
    problems.push(`${fileName} (${where}) is empty`);
    return undefined;
  }
  return text;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
