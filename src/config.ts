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
  readonly database: DatabaseSettings;
  readonly storage: { readonly backend: 'local'; readonly localRoot: string };
  readonly logLevel: LogLevel;
  /** Retention class → duration in seconds (`null` = never expires). */
  readonly retentionDurations: Readonly<Record<string, number | null>>;
  /** OCI Distribution limits. */
  readonly oci: { readonly manifestMaxBytes: number; readonly uploadTtlSeconds: number };
}

/** Every variable with its default, in the order the README documents them. */
export const SETTING_DEFAULTS = {
  ARTIFACTSTORE_LISTEN: '127.0.0.1:5000',
  ARTIFACTSTORE_DATABASE_URL: './var/artifactstore.db',
  ARTIFACTSTORE_STORAGE_LOCAL_ROOT: './var/storage',
  ARTIFACTSTORE_LOG_LEVEL: 'info',
  ARTIFACTSTORE_RETENTION_CONFIG_PATH: '',
  ARTIFACTSTORE_OCI_MANIFEST_MAX_BYTES: '4194304',
  ARTIFACTSTORE_UPLOAD_SESSION_TTL: '24h',
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
  const database = parseDatabaseUrl(read('ARTIFACTSTORE_DATABASE_URL'), cwd, problems);
  const localRoot = path.resolve(cwd, read('ARTIFACTSTORE_STORAGE_LOCAL_ROOT'));
  const logLevel = read('ARTIFACTSTORE_LOG_LEVEL').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`ARTIFACTSTORE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(logLevel)}`);
  }
  const retentionPath = read('ARTIFACTSTORE_RETENTION_CONFIG_PATH');
  const retentionDurations = retentionPath === '' ? { ...DEFAULT_RETENTION_DURATIONS } : loadRetentionFile(path.resolve(cwd, retentionPath), problems);

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

  if (problems.length > 0) {
    throw new RegistryError('CONFIG_INVALID', problems.join('; '), { problems });
  }
  return {
    listen: listen!,
    database: database!,
    storage: { backend: 'local', localRoot },
    logLevel: logLevel as LogLevel,
    retentionDurations,
    oci: { manifestMaxBytes, uploadTtlSeconds: uploadTtlSeconds as number },
  };
}

/** Parses `host:port` (IPv6 as `[::1]:5000`). */
export function parseListen(text: string, problems: string[]): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
    problems.push(`ARTIFACTSTORE_LISTEN must be host:port (e.g. 127.0.0.1:5000 or [::1]:5000); got ${JSON.stringify(text)}`);
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
