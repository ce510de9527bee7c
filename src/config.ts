/**
 * @module config
 * Settings from `ARTIFACTSTORE_*` environment variables, validated once at
 * start. Every problem is reported at once, by variable name, so an operator
 * fixes a bad deployment in one pass.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { RegistryError } from './errors/index.js';
import { readStorageSettings, S3_SETTING_DEFAULTS, STORAGE_TIER_SETTING_DEFAULTS, type StorageSettings } from './storage-settings.js';
import { readOciRetentionFile, type OciRetentionConfig } from './retention/oci-policies.js';

export type { ColdStorageSettings, S3StorageSettings, StagingCleanupSettings, StorageBackendName, StorageSettings } from './storage-settings.js';

/** Which database engine a URL selects. */
export type DatabaseClient = 'sqlite' | 'postgres';

/** Resolved database settings. */
export interface DatabaseSettings {
  readonly client: DatabaseClient;
  /** For SQLite the absolute file path (or `:memory:`); for PostgreSQL the connection URL. */
  readonly connection: string;
}

/** Log levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** All settings of one process. */
export interface Settings {
  readonly listen: { readonly host: string; readonly port: number };
  /** Where to serve `/metrics` alone, without authentication (`ARTIFACTSTORE_METRICS_LISTEN`); absent = no such listener. */
  readonly metricsListen?: { readonly host: string; readonly port: number };
  readonly database: DatabaseSettings;
  /** Where objects are stored (`ARTIFACTSTORE_STORAGE_*`, `ARTIFACTSTORE_S3_*`). */
  readonly storage: StorageSettings;
  readonly logLevel: LogLevel;
  /** Retention class → duration in seconds (`null` = never expires). */
  readonly retentionDurations: Readonly<Record<string, number | null>>;
  /** OCI retention policies (the `oci:` section of the retention file); absent: OCI repositories are never pruned. */
  readonly ociRetention?: OciRetentionConfig;
  /** OCI Distribution limits. */
  readonly oci: { readonly manifestMaxBytes: number; readonly uploadTtlSeconds: number };
  /** HTTP hardening limits (always set by {@link loadSettings}). */
  readonly http?: HttpLimits;
  /** Authentication; absent in settings built by hand (tests): the server runs open. */
  readonly auth?: AuthConfig;
  /** The outbound event sinks file (`ARTIFACTSTORE_SINKS_FILE`, read and validated by `serve`; see src/sinks); absent: no sinks. */
  readonly sinksFile?: string;
  /** Online garbage collection (`ARTIFACTSTORE_GC_*`, docs/adr/0020); absent in settings built by hand: `serve` runs no GC worker. */
  readonly gc?: GcSettings;
}

/** HTTP hardening limits of one process (src/http/hardening); request limits count per process. */
export interface HttpLimits {
  /** Time a client may take to send a request's headers. */
  readonly headersTimeoutMs: number;
  /** A connection with no bytes in either direction for this long is closed (stalled bodies included). */
  readonly idleTimeoutMs: number;
  /** An idle keep-alive connection between requests is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** Largest request head (request line + headers); Node answers 431 above. */
  readonly maxHeaderBytes: number;
  /** Sustained requests per second per principal (client IP when anonymous); 0 = off. */
  readonly rateLimitPerSecond: number;
  /** Requests a principal (or IP) may make at once above the sustained rate. */
  readonly rateLimitBurst: number;
  /** Upload bodies in flight per principal (or IP); 0 = off. */
  readonly maxConcurrentUploads: number;
}

/** {@link HttpLimits} of the documented defaults. */
export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16_384,
  rateLimitPerSecond: 100,
  rateLimitBurst: 200,
  maxConcurrentUploads: 16,
});

/** Every variable with its default, in the order the README documents them. */
export const SETTING_DEFAULTS = {
  ARTIFACTSTORE_LISTEN: '127.0.0.1:5000',
  ARTIFACTSTORE_METRICS_LISTEN: '',
  ARTIFACTSTORE_DATABASE_URL: './var/artifactstore.db',
  ARTIFACTSTORE_STORAGE_BACKEND: 'local',
  ARTIFACTSTORE_STORAGE_LOCAL_ROOT: './var/storage',
  ...S3_SETTING_DEFAULTS,
  ...STORAGE_TIER_SETTING_DEFAULTS,
  ARTIFACTSTORE_LOG_LEVEL: 'info',
  ARTIFACTSTORE_RETENTION_CONFIG_PATH: '',
  ARTIFACTSTORE_OCI_MANIFEST_MAX_BYTES: '4194304',
  ARTIFACTSTORE_UPLOAD_SESSION_TTL: '24h',
  ARTIFACTSTORE_HTTP_HEADERS_TIMEOUT: '30s',
  ARTIFACTSTORE_HTTP_IDLE_TIMEOUT: '60s',
  ARTIFACTSTORE_HTTP_KEEPALIVE_TIMEOUT: '5s',
  ARTIFACTSTORE_HTTP_MAX_HEADER_BYTES: '16384',
  ARTIFACTSTORE_HTTP_RATE_LIMIT: '100',
  ARTIFACTSTORE_HTTP_RATE_LIMIT_BURST: '200',
  ARTIFACTSTORE_HTTP_MAX_CONCURRENT_UPLOADS: '16',
  ARTIFACTSTORE_AUTH_FILE: '',
  ARTIFACTSTORE_ANON_READ: 'false',
  ARTIFACTSTORE_AUTH_KEY_FILE: './var/auth/token-signing-key.jwk.json',
  ARTIFACTSTORE_AUTH_SERVICE: 'artifactstore',
  ARTIFACTSTORE_AUTH_REALM: '',
  ARTIFACTSTORE_ALLOW_OPEN: 'false',
  ARTIFACTSTORE_SINKS_FILE: '',
  ARTIFACTSTORE_GC_GRACE: '24h',
  ARTIFACTSTORE_GC_INTERVAL: '10m',
} as const;

/**
 * Default retention durations per class, in seconds. Overridable by a YAML or
 * JSON file named by `ARTIFACTSTORE_RETENTION_CONFIG_PATH` of the form
 * `classes: {<name>: <duration>}`.
 */
export const DEFAULT_RETENTION_DURATIONS: Readonly<Record<string, number | null>> = {
  transient: 7 * 86_400,
  'raw-evidence': 90 * 86_400,
  'summary-evidence': 365 * 86_400,
  'release-evidence': 7 * 365 * 86_400,
  'permanent-record': null,
};

/**
 * Reads and validates settings from `env` (default `process.env`), resolving
 * relative paths against `cwd`.
 * @throws RegistryError `CONFIG_INVALID` naming every bad variable.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Settings {
  const problems: string[] = [];
  const read = (name: keyof typeof SETTING_DEFAULTS): string => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? SETTING_DEFAULTS[name] : value.trim();
  };

  const listen = parseListen(read('ARTIFACTSTORE_LISTEN'), problems);
  const metricsListenText = read('ARTIFACTSTORE_METRICS_LISTEN');
  const metricsListen = metricsListenText === '' ? undefined : parseListen(metricsListenText, problems, 'ARTIFACTSTORE_METRICS_LISTEN');
  const database = parseDatabaseUrl(read('ARTIFACTSTORE_DATABASE_URL'), cwd, problems);
  const storage = readStorageSettings(read, env, cwd, problems);
  const logLevel = read('ARTIFACTSTORE_LOG_LEVEL').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`ARTIFACTSTORE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(logLevel)}`);
  }
  const retentionPath = read('ARTIFACTSTORE_RETENTION_CONFIG_PATH');
  const retentionDurations = retentionPath === '' ? { ...DEFAULT_RETENTION_DURATIONS } : loadRetentionFile(path.resolve(cwd, retentionPath), problems);
  const ociRetention = retentionPath === '' ? undefined : readOciRetentionFile(path.resolve(cwd, retentionPath), problems);

  const manifestMaxText = read('ARTIFACTSTORE_OCI_MANIFEST_MAX_BYTES');
  const manifestMaxBytes = Number(manifestMaxText);
  if (!/^\d+$/.test(manifestMaxText) || !Number.isSafeInteger(manifestMaxBytes) || manifestMaxBytes < 1024) {
    problems.push(`ARTIFACTSTORE_OCI_MANIFEST_MAX_BYTES must be an integer of at least 1024; got ${JSON.stringify(manifestMaxText)}`);
  }
  const ttlText = read('ARTIFACTSTORE_UPLOAD_SESSION_TTL');
  const uploadTtlSeconds = parseDuration(ttlText);
  if (uploadTtlSeconds === undefined || uploadTtlSeconds === null) {
    problems.push(`ARTIFACTSTORE_UPLOAD_SESSION_TTL must be a duration like 30s, 12h or 1d; got ${JSON.stringify(ttlText)}`);
  }
  const http = readHttpLimits(read, problems);
  const auth = readAuthSettings(read, cwd, problems);
  const sinksFile = read('ARTIFACTSTORE_SINKS_FILE');
  const gc = readGcSettings(read, problems);

  if (problems.length > 0) {
    throw new RegistryError('CONFIG_INVALID', problems.join('; '), { problems });
  }
  return {
    listen: listen!,
    ...(metricsListen ? { metricsListen } : {}),
    database: database!,
    storage,
    logLevel: logLevel as LogLevel,
    retentionDurations,
    ...(ociRetention ? { ociRetention } : {}),
    oci: { manifestMaxBytes, uploadTtlSeconds: uploadTtlSeconds as number },
    http,
    auth,
    ...(sinksFile !== '' ? { sinksFile: path.resolve(cwd, sinksFile) } : {}),
    gc,
  };
}

/** Online garbage collection settings. */
export interface GcSettings {
  /** How long an object must have been unreferenced before GC removes its bytes (0 = at once). */
  readonly graceSeconds: number;
  /** Seconds between GC passes in `serve`; 0 = no GC worker. */
  readonly intervalSeconds: number;
}

/** Parses a duration that may be zero (`0`, `0s`) as well as {@link parseDuration}'s forms; undefined when invalid. */
export function parseZeroableDuration(text: string): number | undefined {
  if (/^0+[smhdwy]?$/.test(text.trim().toLowerCase())) return 0;
  return parseDuration(text) ?? undefined;
}

function readGcSettings(read: (name: keyof typeof SETTING_DEFAULTS) => string, problems: string[]): GcSettings {
  const duration = (name: 'ARTIFACTSTORE_GC_GRACE' | 'ARTIFACTSTORE_GC_INTERVAL'): number => {
    const seconds = parseZeroableDuration(read(name));
    if (seconds === undefined) problems.push(`${name} must be a duration like 0s, 30s, 10m or 24h; got ${JSON.stringify(read(name))}`);
    return seconds ?? 0;
  };
  return { graceSeconds: duration('ARTIFACTSTORE_GC_GRACE'), intervalSeconds: duration('ARTIFACTSTORE_GC_INTERVAL') };
}

/** Authentication settings. */
export interface AuthConfig {
  /** Principals file (YAML or JSON); undefined: no principals. */
  readonly file: string | undefined;
  /** Anonymous callers may pull when principals exist. */
  readonly anonRead: boolean;
  /** Where the token signing key (ES256 JWK) lives; generated on first start. */
  readonly keyFile: string;
  /** `service` of the Docker token flow. */
  readonly service: string;
  /** Absolute URL of the token endpoint to advertise; undefined: derived from each request's Host. */
  readonly realm: string | undefined;
  /** Run open (no principals) even on a non-loopback address. */
  readonly allowOpen: boolean;
}

function readAuthSettings(read: (name: keyof typeof SETTING_DEFAULTS) => string, cwd: string, problems: string[]): AuthConfig {
  const flag = (name: 'ARTIFACTSTORE_ANON_READ' | 'ARTIFACTSTORE_ALLOW_OPEN'): boolean => {
    const value = read(name).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    problems.push(`${name} must be true or false; got ${JSON.stringify(value)}`);
    return false;
  };
  const realm = read('ARTIFACTSTORE_AUTH_REALM');
  if (realm !== '' && !/^https?:\/\/\S+$/.test(realm)) problems.push(`ARTIFACTSTORE_AUTH_REALM must be an http(s) URL of the token endpoint; got ${JSON.stringify(realm)}`);
  const file = read('ARTIFACTSTORE_AUTH_FILE');
  return {
    file: file === '' ? undefined : path.resolve(cwd, file),
    anonRead: flag('ARTIFACTSTORE_ANON_READ'),
    keyFile: path.resolve(cwd, read('ARTIFACTSTORE_AUTH_KEY_FILE')),
    service: read('ARTIFACTSTORE_AUTH_SERVICE'),
    realm: realm === '' ? undefined : realm,
    allowOpen: flag('ARTIFACTSTORE_ALLOW_OPEN'),
  };
}

/** Reads the `ARTIFACTSTORE_HTTP_*` limits, reporting each bad one. */
function readHttpLimits(read: (name: keyof typeof SETTING_DEFAULTS) => string, problems: string[]): HttpLimits {
  const seconds = (name: keyof typeof SETTING_DEFAULTS): number => {
    const value = parseDuration(read(name));
    if (typeof value !== 'number') problems.push(`${name} must be a duration like 30s or 2m; got ${JSON.stringify(read(name))}`);
    return (value ?? 0) * 1000;
  };
  const integer = (name: keyof typeof SETTING_DEFAULTS, min: number): number => {
    const text = read(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) problems.push(`${name} must be an integer of at least ${min}; got ${JSON.stringify(text)}`);
    return value;
  };
  return {
    headersTimeoutMs: seconds('ARTIFACTSTORE_HTTP_HEADERS_TIMEOUT'),
    idleTimeoutMs: seconds('ARTIFACTSTORE_HTTP_IDLE_TIMEOUT'),
    keepAliveTimeoutMs: seconds('ARTIFACTSTORE_HTTP_KEEPALIVE_TIMEOUT'),
    maxHeaderBytes: integer('ARTIFACTSTORE_HTTP_MAX_HEADER_BYTES', 1024),
    rateLimitPerSecond: integer('ARTIFACTSTORE_HTTP_RATE_LIMIT', 0),
    rateLimitBurst: integer('ARTIFACTSTORE_HTTP_RATE_LIMIT_BURST', 1),
    maxConcurrentUploads: integer('ARTIFACTSTORE_HTTP_MAX_CONCURRENT_UPLOADS', 0),
  };
}

/** Parses `host:port` (IPv6 as `[::1]:5000`). */
export function parseListen(text: string, problems: string[], variable = 'ARTIFACTSTORE_LISTEN'): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
    problems.push(`${variable} must be host:port (e.g. 127.0.0.1:5000 or [::1]:5000); got ${JSON.stringify(text)}`);
    return undefined;
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/**
 * Parses a database URL: `postgres://` / `postgresql://` select PostgreSQL;
 * `sqlite:<path>`, `sqlite://<path>` or a bare file path select SQLite.
 */
export function parseDatabaseUrl(text: string, cwd: string, problems: string[]): DatabaseSettings | undefined {
  if (/^postgres(ql)?:\/\//i.test(text)) {
    try {
      new URL(text);
    } catch {
      problems.push(`ARTIFACTSTORE_DATABASE_URL is not a valid PostgreSQL URL: ${JSON.stringify(text)}`);
      return undefined;
    }
    return { client: 'postgres', connection: text };
  }
  let file = text;
  if (/^sqlite:/i.test(file)) file = file.replace(/^sqlite:(\/\/)?/i, '');
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) {
    problems.push(`ARTIFACTSTORE_DATABASE_URL must be a SQLite path, sqlite: URL or postgres:// URL; got ${JSON.stringify(text)}`);
    return undefined;
  }
  if (file === '') {
    problems.push('ARTIFACTSTORE_DATABASE_URL names an empty SQLite path');
    return undefined;
  }
  return { client: 'sqlite', connection: file === ':memory:' ? file : path.resolve(cwd, file) };
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Parses `30s`, `12h`, `90d`, `2w`, `1y` or `never` into seconds (`null` for never). */
export function parseDuration(text: string): number | null | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'never') return null;
  const match = /^(\d+)([smhdwy])$/.exec(trimmed);
  if (!match) return undefined;
  const seconds = Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * Reads a retention file (`classes: {<name>: <duration>}`, YAML or JSON) over
 * the defaults. Unknown classes and bad durations are reported, not ignored.
 */
export function loadRetentionFile(file: string, problems: string[]): Record<string, number | null> {
  const where = `ARTIFACTSTORE_RETENTION_CONFIG_PATH (${file})`;
  const durations: Record<string, number | null> = { ...DEFAULT_RETENTION_DURATIONS };
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`${where} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
    return durations;
  }
  const classes = (document as { classes?: unknown } | null)?.classes;
  // A file may hold only OCI policies (`oci:`, read by readOciRetentionFile).
  if (classes === undefined && typeof document === 'object' && document !== null && 'oci' in document) return durations;
  if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) {
    problems.push(`${where} must contain a mapping "classes: {<name>: <duration>}"`);
    return durations;
  }
  for (const [name, value] of Object.entries(classes)) {
    if (!(name in DEFAULT_RETENTION_DURATIONS)) {
      problems.push(`${where} names unknown class ${JSON.stringify(name)} (known: ${Object.keys(DEFAULT_RETENTION_DURATIONS).join(', ')})`);
      continue;
    }
    const seconds = typeof value === 'string' ? parseDuration(value) : undefined;
    if (seconds === undefined) {
      problems.push(`${where}: ${JSON.stringify(value)} for ${name} is not a duration like 30s, 12h, 90d or never`);
    } else if (name === 'permanent-record' && seconds !== null) {
      problems.push(`${where}: permanent-record never expires and cannot be given a duration`);
    } else {
      durations[name] = seconds;
    }
  }
  return durations;
}
