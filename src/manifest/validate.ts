/**
 * @module manifest/validate
 * Strict structural validation of a version-1 package manifest. Every
 * problem is collected (not just the first) so a producer can fix a manifest
 * in one round; each is reported with an RFC 6901 pointer.
 */
import { RegistryError } from '../errors/index.js';
import { isContentAddress, type DigestAlgorithm } from '../identity/index.js';
import { canonicalViolations, isPlainObject, isWellFormedText, type Violation } from './canonical-value.js';
import {
  ANNOTATION_CONTENT_ADDRESS,
  ANNOTATION_TITLE,
  MANIFEST_VERSION,
  OCI_EMPTY_DIGEST,
  OCI_EMPTY_MEDIA_TYPE,
  OCI_EMPTY_SIZE,
  isMediaType,
} from './constants.js';
import { childPointer } from './pointer.js';
import type { PackageManifest } from './types.js';

/**
 * Returns `value` typed as a manifest when it is a valid version-1 manifest:
 * exactly the documented fields (unknown or missing ones refused), non-empty
 * well-formed text, ISO-8601 UTC millisecond timestamps, safe non-negative
 * integers, `blake3:`/`sha256:` addresses, OCI media types, safe relative
 * paths, canonical metadata, files sorted by `relative_path` without
 * duplicates, exactly one receipt per distinct object sorted by address, one
 * layer per file matching it, the OCI empty descriptor as config, and
 * retention/provenance agreeing with the package.
 * @throws RegistryError `MANIFEST_INVALID` with `extra.violations`, the
 *   list of every `{pointer, message}` found.
 */
export function validateManifest(value: unknown): PackageManifest {
  const violations = manifestViolations(value);
  if (violations.length > 0) {
    const shown = violations.slice(0, 3).map((v) => `${v.pointer || '(root)'}: ${v.message}`).join('; ');
    const more = violations.length > 3 ? `; and ${violations.length - 3} more` : '';
    throw new RegistryError('MANIFEST_INVALID', `${violations.length} violation(s): ${shown}${more}`, { violations });
  }
  return value as PackageManifest;
}

/** Every violation in `value` as a version-1 manifest; empty when it is valid. */
export function manifestViolations(value: unknown): Violation[] {
  const out: Violation[] = [];
  MANIFEST(value, '', out);
  if (isPlainObject(value)) crossCheck(value, out);
  // Field checks read values through property access; this makes sure the
  // object handed to the encoder holds nothing they could not see (symbol
  // keys, accessors, …), so a valid manifest always encodes.
  if (out.length === 0) out.push(...canonicalViolations(value));
  return out;
}

type Check = (value: unknown, pointer: string, out: Violation[]) => void;

function record(required: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (value, pointer, out) => {
    if (!isPlainObject(value)) {
      out.push({ pointer, message: `must be an object, got ${kindOf(value)}` });
      return;
    }
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(required, key) && !Object.hasOwn(optional, key)) out.push({ pointer: childPointer(pointer, key), message: 'unknown field' });
    }
    for (const [key, check] of Object.entries(required)) {
      const at = childPointer(pointer, key);
      if (Object.hasOwn(value, key)) check(value[key], at, out);
      else out.push({ pointer: at, message: 'required field is missing' });
    }
    for (const [key, check] of Object.entries(optional)) {
      if (Object.hasOwn(value, key)) check(value[key], childPointer(pointer, key), out);
    }
  };
}

function arrayOf(item: Check): Check {
  return (value, pointer, out) => {
    if (!Array.isArray(value)) {
      out.push({ pointer, message: `must be an array, got ${kindOf(value)}` });
      return;
    }
    value.forEach((entry, index) => item(entry, childPointer(pointer, index), out));
  };
}

function nullable(check: Check): Check {
  return (value, pointer, out) => {
    if (value !== null) check(value, pointer, out);
  };
}

const text: Check = (value, pointer, out) => {
  if (typeof value !== 'string') out.push({ pointer, message: `must be a string, got ${kindOf(value)}` });
  else if (value === '') out.push({ pointer, message: 'must not be empty' });
  else if (!isWellFormedText(value)) out.push({ pointer, message: 'contains an unpaired UTF-16 surrogate' });
};

const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const timestamp: Check = (value, pointer, out) => {
  if (typeof value !== 'string' || !ISO_UTC_MS.test(value) || !isRealInstant(value)) {
    out.push({ pointer, message: `must be an ISO-8601 UTC timestamp with milliseconds (YYYY-MM-DDTHH:MM:SS.sssZ), got ${shown(value)}` });
  }
};

/** Refuses impossible dates (02-30, hour 24…), which the pattern lets through and Date would roll over. */
function isRealInstant(value: string): boolean {
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

const count: Check = (value, pointer, out) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || Object.is(value, -0)) {
    out.push({ pointer, message: `must be a non-negative safe integer, got ${shown(value)}` });
  }
};

function address(algorithm: DigestAlgorithm): Check {
  return (value, pointer, out) => {
    if (!isContentAddress(value, algorithm)) out.push({ pointer, message: `must be a ${algorithm}:<64 lowercase hex> address, got ${shown(value)}` });
  };
}

const mediaType: Check = (value, pointer, out) => {
  if (!isMediaType(value)) out.push({ pointer, message: `must be a media type type/subtype (RFC 6838, no parameters), got ${shown(value)}` });
};

// Structural safety only; the ingest path applies the full path policy.
const relativePath: Check = (value, pointer, out) => {
  text(value, pointer, out);
  if (typeof value !== 'string' || value === '') return;
  const segments = value.split('/');
  if (value.startsWith('/')) out.push({ pointer, message: 'must be relative (no leading "/")' });
  else if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    out.push({ pointer, message: 'must not contain empty, "." or ".." segments' });
  }
  if ([...value].some(isControlOrBackslash)) out.push({ pointer, message: 'must not contain control characters or backslashes' });
};

function isControlOrBackslash(char: string): boolean {
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f || char === '\\';
}

function literal(expected: unknown): Check {
  return (value, pointer, out) => {
    if (value !== expected) out.push({ pointer, message: `must be ${JSON.stringify(expected)}, got ${shown(value)}` });
  };
}

const metadata: Check = (value, pointer, out) => {
  if (!isPlainObject(value)) {
    out.push({ pointer, message: `must be an object, got ${kindOf(value)}` });
    return;
  }
  // Two enclosing maps: the manifest and its `package`.
  out.push(...canonicalViolations(value, { pointer, depth: 2 }));
};

const annotations: Check = (value, pointer, out) => {
  if (!isPlainObject(value)) {
    out.push({ pointer, message: `must be an object, got ${kindOf(value)}` });
    return;
  }
  for (const [key, entry] of Object.entries(value)) {
    const at = childPointer(pointer, key);
    if (key === '') out.push({ pointer: at, message: 'annotation keys must not be empty' });
    if (typeof entry !== 'string' || !isWellFormedText(entry)) out.push({ pointer: at, message: `annotation values must be strings, got ${kindOf(entry)}` });
  }
};

const DESCRIPTOR = record({ mediaType, digest: address('sha256'), size: count }, { annotations });

const MANIFEST = record({
  manifest_version: literal(MANIFEST_VERSION),
  package: record({
    id: text,
    name: text,
    producer: text,
    subject: nullable(text),
    retention_class: text,
    metadata,
    created_at: timestamp,
  }),
  files: arrayOf(
    record({
      relative_path: relativePath,
      media_type: mediaType,
      size: count,
      content_address: address('blake3'),
      digest_sha256: address('sha256'),
    }),
  ),
  storage_receipts: arrayOf(
    record({
      content_address: address('blake3'),
      backend: text,
      object_key: text,
      retrieval_tier: text,
      stored_at: timestamp,
    }),
  ),
  retention_summary: record({ retention_class: text, expires_at: nullable(timestamp) }),
  provenance: record({ producer: text, actor: text, created_at: timestamp, finalized_at: timestamp, event_sequence: count }),
  config: DESCRIPTOR,
  layers: arrayOf(DESCRIPTOR),
});

/**
 * Relations between fields. Runs on possibly ill-typed input (structural
 * violations are already recorded), so every read is guarded and a check is
 * skipped where its inputs are not the right type.
 */
function crossCheck(manifest: Record<string, unknown>, out: Violation[]): void {
  const pkg = asRecord(manifest.package);
  const files = asArray(manifest.files).map(asRecord);
  checkFileOrder(files, out);
  checkSameContent(files, out);
  checkReceipts(files, asArray(manifest.storage_receipts).map(asRecord), out);
  checkLayers(files, manifest.layers, out);
  checkConfig(manifest.config, out);

  const retention = asRecord(manifest.retention_summary);
  agree(retention.retention_class, pkg.retention_class, '/retention_summary/retention_class', 'must equal /package/retention_class', out);
  const provenance = asRecord(manifest.provenance);
  agree(provenance.producer, pkg.producer, '/provenance/producer', 'must equal /package/producer', out);
  agree(provenance.created_at, pkg.created_at, '/provenance/created_at', 'must equal /package/created_at', out);
  const { created_at: created, finalized_at: finalized } = provenance;
  // Same fixed-width format, so string order is time order.
  if (typeof created === 'string' && typeof finalized === 'string' && ISO_UTC_MS.test(created) && ISO_UTC_MS.test(finalized) && finalized < created) {
    out.push({ pointer: '/provenance/finalized_at', message: 'must not be earlier than /provenance/created_at' });
  }
}

function checkFileOrder(files: Record<string, unknown>[], out: Violation[]): void {
  for (let index = 1; index < files.length; index += 1) {
    const previous = files[index - 1]?.relative_path;
    const current = files[index]?.relative_path;
    if (typeof previous !== 'string' || typeof current !== 'string') continue;
    const pointer = `/files/${index}/relative_path`;
    if (previous === current) out.push({ pointer, message: `duplicate relative_path ${shown(current)}` });
    else if (previous > current) out.push({ pointer, message: `files must be sorted by relative_path (UTF-16 code units): ${shown(current)} follows ${shown(previous)}` });
  }
}

function checkSameContent(files: Record<string, unknown>[], out: Violation[]): void {
  const first = new Map<string, number>();
  files.forEach((file, index) => {
    const key = file.content_address;
    if (typeof key !== 'string') return;
    const seen = first.get(key);
    if (seen === undefined) {
      first.set(key, index);
      return;
    }
    const other = files[seen] as Record<string, unknown>;
    for (const field of ['digest_sha256', 'size'] as const) {
      if (file[field] !== other[field]) {
        out.push({ pointer: `/files/${index}/${field}`, message: `differs from /files/${seen}/${field} although both have content_address ${key}` });
      }
    }
  });
}

function checkReceipts(files: Record<string, unknown>[], receipts: Record<string, unknown>[], out: Violation[]): void {
  const referenced = new Map<string, number>();
  files.forEach((file, index) => {
    if (typeof file.content_address === 'string' && !referenced.has(file.content_address)) referenced.set(file.content_address, index);
  });
  const receipted = new Set<string>();
  receipts.forEach((receipt, index) => {
    const key = receipt.content_address;
    if (typeof key !== 'string') return;
    const pointer = `/storage_receipts/${index}/content_address`;
    const previous = receipts[index - 1]?.content_address;
    if (receipted.has(key)) out.push({ pointer, message: `more than one receipt for ${key}` });
    else if (typeof previous === 'string' && previous > key) out.push({ pointer, message: 'storage_receipts must be sorted by content_address' });
    if (!referenced.has(key)) out.push({ pointer, message: 'no file has this content_address' });
    receipted.add(key);
  });
  for (const [key, index] of referenced) {
    if (!receipted.has(key)) out.push({ pointer: '/storage_receipts', message: `no receipt for ${key} (content of /files/${index})` });
  }
}

function checkLayers(files: Record<string, unknown>[], layersValue: unknown, out: Violation[]): void {
  if (!Array.isArray(layersValue)) return;
  if (layersValue.length !== files.length) {
    out.push({ pointer: '/layers', message: `must hold one layer per file (${files.length}), got ${layersValue.length}` });
  }
  const shared = Math.min(layersValue.length, files.length);
  for (let index = 0; index < shared; index += 1) {
    const layer = asRecord(layersValue[index]);
    const file = files[index] as Record<string, unknown>;
    const at = `/layers/${index}`;
    agree(layer.mediaType, file.media_type, `${at}/mediaType`, `must equal /files/${index}/media_type`, out);
    agree(layer.digest, file.digest_sha256, `${at}/digest`, `must equal /files/${index}/digest_sha256`, out);
    agree(layer.size, file.size, `${at}/size`, `must equal /files/${index}/size`, out);
    const expected: Record<string, unknown> = { [ANNOTATION_TITLE]: file.relative_path, [ANNOTATION_CONTENT_ADDRESS]: file.content_address };
    const actual = asRecord(layer.annotations);
    const keys = Object.keys(actual);
    const matches = keys.length === 2 && keys.every((key) => Object.hasOwn(expected, key) && actual[key] === expected[key]);
    if (!matches) {
      out.push({
        pointer: `${at}/annotations`,
        message: `must be exactly {"${ANNOTATION_TITLE}": /files/${index}/relative_path, "${ANNOTATION_CONTENT_ADDRESS}": /files/${index}/content_address}`,
      });
    }
  }
}

function checkConfig(configValue: unknown, out: Violation[]): void {
  if (!isPlainObject(configValue)) return;
  const message = `must be the OCI empty descriptor (${OCI_EMPTY_MEDIA_TYPE}, ${OCI_EMPTY_DIGEST}, size ${OCI_EMPTY_SIZE}, no annotations)`;
  if (
    configValue.mediaType !== OCI_EMPTY_MEDIA_TYPE ||
    configValue.digest !== OCI_EMPTY_DIGEST ||
    configValue.size !== OCI_EMPTY_SIZE ||
    Object.hasOwn(configValue, 'annotations')
  ) {
    out.push({ pointer: '/config', message });
  }
}

/** Records a violation when both values are present with the right type but differ. */
function agree(actual: unknown, expected: unknown, pointer: string, message: string, out: Violation[]): void {
  if (actual === undefined || expected === undefined || typeof actual !== typeof expected) return;
  if (actual !== expected) out.push({ pointer, message: `${message} (${shown(expected)}), got ${shown(actual)}` });
}

function asRecord(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return isPlainObject(value) ? 'object' : `${(value as object).constructor?.name ?? 'non-plain'} object`;
  return typeof value;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return kindOf(value);
}
