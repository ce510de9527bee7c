/**
 * @module sinks/config
 * The sinks file (`ARTIFACTSTORE_SINKS_FILE`, YAML or JSON): which outbound
 * consumers the event log is delivered to. Validated once at start; every
 * problem is reported at once, by sink and field, and secrets never appear in
 * a message.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../config.js';
import { RegistryError } from '../errors/index.js';

/** Sink kinds this build delivers to. */
export const SINK_TYPES = ['webhook', 'tracker', 'nats'] as const;
/** One of {@link SINK_TYPES}. */
export type SinkType = (typeof SINK_TYPES)[number];

/** Default JetStream stream of `nats` sinks. */
export const DEFAULT_NATS_STREAM = 'ARTIFACTSTORE_EVENTS';
/** Default subject prefix of `nats` sinks: events go to `<prefix>.<event_type>`. */
export const DEFAULT_NATS_SUBJECT_PREFIX = 'artifactstore.events';
/** Default JetStream duplicate window (seconds) of a stream the sink creates. */
export const DEFAULT_NATS_DUPLICATE_WINDOW_SECONDS = 120;

interface CommonSink {
  /** Unique; the key of the sink's cursor row. */
  readonly name: string;
  /** Event-type prefixes to deliver (`v1.package.`, `v1.retention.hold_applied`); empty = every event. Others only advance the cursor. */
  readonly events: readonly string[];
  /** Where a sink without a cursor row starts: `start` delivers the whole history, `latest` only what commits after it first runs. */
  readonly from: 'start' | 'latest';
  /** Events read (and, for webhooks, posted) per batch. */
  readonly batchSize: number;
  /** Per-request timeout in milliseconds. */
  readonly timeoutMs: number;
}

/** A webhook: batches of events POSTed as JSON, HMAC-signed when `secret` is set. */
export interface WebhookSinkConfig extends CommonSink {
  readonly type: 'webhook';
  readonly url: string;
  readonly secret: string | undefined;
}

/** The work tracker preset: a progress note per finalized package (or retention change) carrying `metadata.tracker_task_id`. */
export interface TrackerSinkConfig extends CommonSink {
  readonly type: 'tracker';
  /** Base URL; notes go to `<url>/progress/`. */
  readonly url: string;
  readonly author: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token: string | undefined;
  /** HMAC key: notes are signed like webhook batches when set. */
  readonly secret: string | undefined;
}

/** NATS JetStream: each event published on `<subjectPrefix>.<event_type>` with `Nats-Msg-Id` = its sequence. */
export interface NatsSinkConfig extends CommonSink {
  readonly type: 'nats';
  /** `nats://host:port` (comma-separated for several servers). */
  readonly url: string;
  readonly stream: string;
  readonly subjectPrefix: string;
  /** Duplicate window (seconds) set on the stream when the sink creates it. */
  readonly duplicateWindowSeconds: number;
}

/** One configured sink. */
export type SinkConfig = WebhookSinkConfig | TrackerSinkConfig | NatsSinkConfig;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const STREAM = /^[A-Za-z0-9_-]{1,255}$/;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const duration = z.string().refine((text) => typeof parseDuration(text) === 'number', 'must be a duration like 10s or 2m');
const httpUrl = z.string().refine((text) => /^https?:\/\/\S+$/.test(text) && URL.canParse(text), 'must be an http(s) URL');
const common = {
  name: z.string().regex(NAME, 'must be 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit'),
  events: z.array(z.string().min(1).max(128)).optional(),
  from: z.enum(['start', 'latest']).optional(),
  batch_size: z.number().int().min(1).max(1000).optional(),
  timeout: duration.optional(),
};
const secretFields = {
  secret: z.string().min(1).optional(),
  secret_file: z.string().min(1).optional(),
};
const SinkSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...common, ...secretFields, type: z.literal('webhook'), url: httpUrl }),
  z.strictObject({
    ...common,
    ...secretFields,
    type: z.literal('tracker'),
    url: httpUrl,
    author: z.string().min(1).max(256).optional(),
    token: z.string().min(1).optional(),
    token_file: z.string().min(1).optional(),
  }),
  z.strictObject({
    ...common,
    type: z.literal('nats'),
    url: z.string().regex(/^(nats|tls):\/\/\S+$/, 'must be a nats:// URL'),
    stream: z.string().regex(STREAM, 'must be 1-255 characters of [A-Za-z0-9_-]').optional(),
    subject_prefix: z.string().regex(SUBJECT_PREFIX, 'must be dot-separated tokens of [A-Za-z0-9_-]').optional(),
    duplicate_window: duration.optional(),
  }),
]);
const FileSchema = z.strictObject({ lease_ttl: duration.optional(), sinks: z.array(SinkSchema) });

/** Default lease of a sink: another process takes over this long after the holder stopped renewing. */
export const DEFAULT_LEASE_TTL_SECONDS = 30;

/** A validated sinks file. */
export interface SinksFile {
  /** How long a process's lease on a sink lasts without renewal; longer than every sink's request timeout. */
  readonly leaseTtlMs: number;
  readonly sinks: readonly SinkConfig[];
}

/**
 * Reads and validates the sinks file `file` (YAML or JSON); relative
 * `secret_file`/`token_file` paths resolve against the file's directory.
 * @throws RegistryError `CONFIG_INVALID` listing every problem.
 */
export function loadSinksFile(file: string): SinksFile {
  const where = `ARTIFACTSTORE_SINKS_FILE (${file})`;
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RegistryError('CONFIG_INVALID', `${where} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseSinks(document ?? { sinks: [] }, where, path.dirname(file));
}

/**
 * Validates a parsed sinks document (`{sinks: [...]}`).
 * @throws RegistryError `CONFIG_INVALID` listing every problem.
 */
export function parseSinks(document: unknown, where = 'sinks', baseDir = process.cwd()): SinksFile {
  const parsed = FileSchema.safeParse(document);
  if (!parsed.success) {
    // Issues name the path only, never the offending value: it may be a secret.
    const problems = parsed.error.issues.map((issue) => `${where}: ${formatPath(issue.path)}: ${issue.message}`);
    throw new RegistryError('CONFIG_INVALID', problems.join('; '), { problems });
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const sinks = parsed.data.sinks.map((raw, index): SinkConfig => {
    const at = `${where}: sinks[${index}] (${raw.name})`;
    if (seen.has(raw.name)) problems.push(`${at}: the name is used twice`);
    seen.add(raw.name);
    const base = {
      name: raw.name,
      events: raw.events ?? [],
      from: raw.from ?? 'start',
      batchSize: raw.batch_size ?? 100,
      timeoutMs: (raw.timeout === undefined ? 10 : (parseDuration(raw.timeout) as number)) * 1000,
    };
    switch (raw.type) {
      case 'webhook':
        return { ...base, type: 'webhook', url: raw.url, secret: readSecret(raw.secret, raw.secret_file, 'secret', at, baseDir, problems) };
      case 'tracker':
        return {
          ...base,
          type: 'tracker',
          url: raw.url,
          author: raw.author ?? 'artifactstore',
          token: readSecret(raw.token, raw.token_file, 'token', at, baseDir, problems),
          secret: readSecret(raw.secret, raw.secret_file, 'secret', at, baseDir, problems),
        };
      case 'nats':
        return {
          ...base,
          type: 'nats',
          url: raw.url,
          stream: raw.stream ?? DEFAULT_NATS_STREAM,
          subjectPrefix: raw.subject_prefix ?? DEFAULT_NATS_SUBJECT_PREFIX,
          duplicateWindowSeconds: raw.duplicate_window === undefined ? DEFAULT_NATS_DUPLICATE_WINDOW_SECONDS : (parseDuration(raw.duplicate_window) as number),
        };
    }
  });
  const leaseTtlMs = (parsed.data.lease_ttl === undefined ? DEFAULT_LEASE_TTL_SECONDS : (parseDuration(parsed.data.lease_ttl) as number)) * 1000;
  for (const sink of sinks) {
    // A request outliving the lease could overlap the next holder's deliveries.
    if (sink.timeoutMs >= leaseTtlMs) problems.push(`${where}: sink ${sink.name}: timeout must be shorter than lease_ttl (${leaseTtlMs / 1000}s)`);
  }
  if (problems.length > 0) throw new RegistryError('CONFIG_INVALID', problems.join('; '), { problems });
  return { leaseTtlMs, sinks };
}

/** The secret given inline or in a file (not both); undefined when neither. */
function readSecret(inline: string | undefined, file: string | undefined, field: string, at: string, baseDir: string, problems: string[]): string | undefined {
  if (inline !== undefined && file !== undefined) {
    problems.push(`${at}: give ${field} or ${field}_file, not both`);
    return undefined;
  }
  if (file === undefined) return inline;
  try {
    const value = readFileSync(path.resolve(baseDir, file), 'utf8').trim();
    if (value === '') problems.push(`${at}: ${field}_file ${file} is empty`);
    return value;
  } catch (error) {
    problems.push(`${at}: ${field}_file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

function formatPath(segments: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of segments) text += typeof segment === 'number' ? `[${segment}]` : `${text === '' ? '' : '.'}${String(segment)}`;
  return text === '' ? '(document)' : text;
}

/** True when `eventType` passes the sink's `events` prefixes. */
export function wantsEvent(sink: Pick<SinkConfig, 'events'>, eventType: string): boolean {
  return sink.events.length === 0 || sink.events.some((prefix) => eventType.startsWith(prefix));
}
