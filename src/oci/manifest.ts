/**
 * @module oci/manifest
 * Validation of manifests pushed to `/v2/<name>/manifests/<reference>`: OCI
 * image manifests and indexes (image-spec v1.1) and Docker schema 2
 * manifests and manifest lists. Parsing is read-only: the registry stores
 * the exact bytes it received, so unknown fields are allowed and nothing is
 * ever re-serialized. Every problem is collected and reported at once, each
 * with an RFC 6901 pointer.
 */
import { createHash } from 'node:crypto';
import { RegistryError } from '../errors/index.js';
import { childPointer, isWellFormedText, type Violation } from '../manifest/index.js';
import { ociDigestProblem } from './grammar.js';
import {
  DOCKER_MANIFEST_LIST_V2,
  DOCKER_MANIFEST_V2,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  isImageManifestType,
  isIndexManifestType,
  isMediaTypeName,
  isNonDistributableLayerType,
  isSchema1ManifestType,
  specificContentType,
} from './media-types.js';

export type { Violation } from '../manifest/index.js';

/** Manifest size every client and registry should support (distribution-spec: at least 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** `platform` of an index entry (image-spec `image-index.md`). */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

/**
 * A content descriptor (image-spec `descriptor.md`), holding only the fields
 * this registry knows; unknown fields of the source document are not copied.
 */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Base64 of the embedded content; verified against `size` and `digest`. */
  data?: string;
  artifactType?: string;
  /** Only on entries of an index. */
  platform?: Platform;
}

/** One thing a manifest points at, for existence checks on push and for GC. */
export interface ManifestReference {
  kind: 'config' | 'layer' | 'manifest' | 'subject';
  digest: string;
  size: number;
  mediaType: string;
  /**
   * Whether the registry should require the target to be present before
   * accepting the manifest: false for `subject` (push order is free) and
   * for layers that are non-distributable or carry `urls`; true otherwise.
   */
  mustExist: boolean;
}

/** What {@link parseManifest} learns from a valid manifest. */
export interface ParsedManifest {
  /** The manifest's media type: its `mediaType` field, else the `Content-Type`, else inferred. Serve it as `Content-Type`. */
  mediaType: string;
  kind: 'image' | 'index';
  /**
   * What the referrers API reports: the manifest's `artifactType`; else, for
   * an image manifest, `config.mediaType`; for an index without one, null.
   */
  artifactType: string | null;
  /** `config.mediaType` of an image manifest; null for an index. */
  configMediaType: string | null;
  subject: Descriptor | null;
  annotations: Record<string, string> | null;
  /** Everything this manifest references: config, layers, index entries, then subject. */
  references: ManifestReference[];
}

/**
 * Refuses a manifest body longer than `limit` bytes. Call it before (or
 * while) buffering the request body.
 * @throws RegistryError `MANIFEST_TOO_LARGE` (HTTP 413).
 */
export function assertManifestSize(byteLength: number, limit: number = MAX_MANIFEST_BYTES): void {
  if (byteLength > limit) {
    throw new RegistryError('MANIFEST_TOO_LARGE', `manifest is ${byteLength} bytes; the limit is ${limit}`, { size: byteLength, limit });
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses and validates manifest bytes as pushed with `contentType` (the
 * request's `Content-Type`, parameters ignored).
 *
 * Media type resolution: the `mediaType` field when present (an empty
 * string counts as absent, as in Go clients); else a specific
 * `Content-Type` (absent, `application/json` and `application/octet-stream`
 * say nothing); else the structure (`manifests` → OCI index, `config` or
 * `layers` → OCI image manifest). A specific `Content-Type` that differs
 * from the `mediaType` field is refused, as are Docker schema 1 and any
 * type other than the OCI manifest/index and Docker schema 2
 * manifest/manifest list.
 *
 * Validation: bytes must be UTF-8 (no BOM) JSON whose top level is an
 * object; `schemaVersion` 2; image manifests need a `config` descriptor and
 * a `layers` array (possibly empty) and must not carry `manifests`; indexes
 * need a `manifests` array and must not carry `config` or `layers`; Docker
 * types need their `mediaType` field; `subject`, `artifactType` (media type
 * name) and `annotations` (string map) are optional. Descriptors need a
 * media type name, a registered digest (sha256/sha512) and a non-negative
 * safe-integer size; optional `urls` (URIs), `annotations`, `data` (base64
 * whose decoded bytes match `size` and `digest`), `artifactType`, and on
 * index entries `platform`. Unknown fields anywhere are accepted.
 * @throws RegistryError `MANIFEST_INVALID` with `extra.violations`: every
 *   `{pointer, message}` found (pointer `''` is the whole document).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    refuse([{ pointer: '', message: 'manifest is not valid UTF-8' }]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    refuse([{ pointer: '', message: `manifest is not valid JSON: ${(error as Error).message}` }]);
  }
  if (!isObject(document)) refuse([{ pointer: '', message: `manifest must be a JSON object, got ${kindOf(document)}` }]);
  // Escapes like "\ud800" decode to unpaired surrogates that no UTF-8 text
  // (nor our canonical event payloads) can hold.
  const illFormed = illFormedStrings(document, '');
  if (illFormed.length > 0) refuse(illFormed);

  const mediaType = resolveMediaType(document, contentType);
  const out: Violation[] = [];
  const parsed = isIndexManifestType(mediaType) ? checkIndex(document, mediaType, out) : checkImage(document, mediaType, out);
  if (out.length > 0) refuse(out);
  return parsed;
}

function illFormedStrings(node: unknown, pointer: string, out: Violation[] = []): Violation[] {
  if (typeof node === 'string') {
    if (!isWellFormedText(node)) out.push({ pointer, message: 'string contains an unpaired UTF-16 surrogate escape' });
  } else if (Array.isArray(node)) {
    node.forEach((item, index) => illFormedStrings(item, childPointer(pointer, index), out));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (!isWellFormedText(key)) out.push({ pointer, message: 'object key contains an unpaired UTF-16 surrogate escape' });
      illFormedStrings(value, childPointer(pointer, key), out);
    }
  }
  return out;
}

function refuse(violations: Violation[]): never {
  const shown = violations
    .slice(0, 3)
    .map((v) => `${v.pointer === '' ? '(root)' : v.pointer}: ${v.message}`)
    .join('; ');
  const more = violations.length > 3 ? `; and ${violations.length - 3} more` : '';
  const detail = violations.length === 1 ? shown : `${violations.length} violations: ${shown}${more}`;
  throw new RegistryError('MANIFEST_INVALID', detail, { violations });
}

function resolveMediaType(document: Record<string, unknown>, contentType: string | undefined): string {
  const header = specificContentType(contentType);
  let field: string | null = null;
  if (Object.hasOwn(document, 'mediaType')) {
    const value = document.mediaType;
    if (typeof value !== 'string') refuse([{ pointer: '/mediaType', message: `must be a string, got ${kindOf(value)}` }]);
    if (value !== '') field = value;
  }
  if (field !== null && header !== null && field.toLowerCase() !== header) {
    refuse([
      {
        pointer: '/mediaType',
        message: `is ${JSON.stringify(field)} but the Content-Type header says ${JSON.stringify(header)}; they must agree`,
      },
    ]);
  }
  const declared = field ?? header;
  if (declared !== null) {
    if (isSchema1ManifestType(declared)) refuseSchema1(field !== null ? '/mediaType' : '');
    if (!isImageManifestType(declared) && !isIndexManifestType(declared)) {
      refuse([
        {
          pointer: field !== null ? '/mediaType' : '',
          message: `unsupported manifest media type ${JSON.stringify(declared)}; supported: ${OCI_IMAGE_MANIFEST}, ${OCI_IMAGE_INDEX}, ${DOCKER_MANIFEST_V2}, ${DOCKER_MANIFEST_LIST_V2}`,
        },
      ]);
    }
    return declared;
  }
  // Nothing declared: infer from the structure.
  const looksIndex = Object.hasOwn(document, 'manifests');
  const looksImage = Object.hasOwn(document, 'config') || Object.hasOwn(document, 'layers');
  if (Object.hasOwn(document, 'fsLayers') || (document.schemaVersion === 1 && !looksIndex && !looksImage)) refuseSchema1('');
  if (looksIndex && looksImage) {
    refuse([{ pointer: '', message: 'ambiguous manifest: has both `manifests` and `config`/`layers`, and no `mediaType` says which it is' }]);
  }
  if (looksIndex) return OCI_IMAGE_INDEX;
  if (looksImage) return OCI_IMAGE_MANIFEST;
  refuse([
    {
      pointer: '',
      message: 'cannot tell the manifest type: no `mediaType` field, no specific Content-Type, and neither `config`/`layers` nor `manifests`',
    },
  ]);
}

function refuseSchema1(pointer: string): never {
  refuse([{ pointer, message: 'Docker schema 1 manifests are not supported; push with a client that produces schema 2 or OCI' }]);
}

function checkImage(document: Record<string, unknown>, mediaType: string, out: Violation[]): ParsedManifest {
  checkCommon(document, mediaType, out);
  if (Object.hasOwn(document, 'manifests')) out.push({ pointer: '/manifests', message: 'an image manifest must not have `manifests` (that is an index field)' });

  const references: ManifestReference[] = [];
  let configMediaType: string | null = null;
  if (Object.hasOwn(document, 'config')) {
    const config = checkDescriptor(document.config, '/config', out);
    if (config) {
      configMediaType = config.mediaType;
      references.push(reference('config', config, true));
    }
  } else {
    out.push({ pointer: '/config', message: 'required field is missing' });
  }

  if (!Object.hasOwn(document, 'layers')) {
    out.push({ pointer: '/layers', message: 'required field is missing (use [] for no layers)' });
  } else if (!Array.isArray(document.layers)) {
    out.push({ pointer: '/layers', message: `must be an array, got ${kindOf(document.layers)}` });
  } else {
    for (const [index, item] of document.layers.entries()) {
      const layer = checkDescriptor(item, childPointer('/layers', index), out);
      if (layer) {
        const fetchedElsewhere = isNonDistributableLayerType(layer.mediaType) || layer.urls !== undefined;
        references.push(reference('layer', layer, !fetchedElsewhere));
      }
    }
  }

  const { subject, artifactType, annotations } = checkOptionalTopLevel(document, out, references);
  return {
    mediaType,
    kind: 'image',
    artifactType: artifactType ?? configMediaType,
    configMediaType,
    subject,
    annotations,
    references,
  };
}

function checkIndex(document: Record<string, unknown>, mediaType: string, out: Violation[]): ParsedManifest {
  checkCommon(document, mediaType, out);
  for (const key of ['config', 'layers']) {
    if (Object.hasOwn(document, key)) out.push({ pointer: `/${key}`, message: `an index must not have \`${key}\` (that is an image manifest field)` });
  }

  const references: ManifestReference[] = [];
  if (!Object.hasOwn(document, 'manifests')) {
    out.push({ pointer: '/manifests', message: 'required field is missing (use [] for none)' });
  } else if (!Array.isArray(document.manifests)) {
    out.push({ pointer: '/manifests', message: `must be an array, got ${kindOf(document.manifests)}` });
  } else {
    for (const [index, item] of document.manifests.entries()) {
      const entry = checkDescriptor(item, childPointer('/manifests', index), out, { platform: true });
      if (entry) references.push(reference('manifest', entry, true));
    }
  }

  const { subject, artifactType, annotations } = checkOptionalTopLevel(document, out, references);
  return { mediaType, kind: 'index', artifactType, configMediaType: null, subject, annotations, references };
}

function checkCommon(document: Record<string, unknown>, mediaType: string, out: Violation[]): void {
  if (!Object.hasOwn(document, 'schemaVersion')) out.push({ pointer: '/schemaVersion', message: 'required field is missing (must be 2)' });
  else if (document.schemaVersion !== 2) out.push({ pointer: '/schemaVersion', message: `must be 2, got ${JSON.stringify(document.schemaVersion)}` });
  const isDocker = mediaType === DOCKER_MANIFEST_V2 || mediaType === DOCKER_MANIFEST_LIST_V2;
  if (isDocker && (typeof document.mediaType !== 'string' || document.mediaType === '')) {
    out.push({ pointer: '/mediaType', message: `required for Docker schema 2 content (must be ${JSON.stringify(mediaType)})` });
  }
}

function checkOptionalTopLevel(
  document: Record<string, unknown>,
  out: Violation[],
  references: ManifestReference[],
): { subject: Descriptor | null; artifactType: string | null; annotations: Record<string, string> | null } {
  let subject: Descriptor | null = null;
  if (Object.hasOwn(document, 'subject')) {
    subject = checkDescriptor(document.subject, '/subject', out);
    if (subject) references.push(reference('subject', subject, false));
  }
  const artifactType = Object.hasOwn(document, 'artifactType') ? checkArtifactType(document.artifactType, '/artifactType', out) : null;
  const annotations = Object.hasOwn(document, 'annotations') ? checkStringMap(document.annotations, '/annotations', out) : null;
  return { subject, artifactType, annotations };
}

function reference(kind: ManifestReference['kind'], descriptor: Descriptor, mustExist: boolean): ManifestReference {
  return { kind, digest: descriptor.digest, size: descriptor.size, mediaType: descriptor.mediaType, mustExist };
}

/**
 * Validates one descriptor at `pointer`, appending every problem to `out`.
 * Returns the known fields when the descriptor is valid, else null.
 */
function checkDescriptor(value: unknown, pointer: string, out: Violation[], options: { platform?: boolean } = {}): Descriptor | null {
  if (!isObject(value)) {
    out.push({ pointer, message: `must be a descriptor object, got ${kindOf(value)}` });
    return null;
  }
  const before = out.length;
  const at = (key: string) => childPointer(pointer, key);

  const { mediaType, digest, size } = value;
  if (!Object.hasOwn(value, 'mediaType')) out.push({ pointer: at('mediaType'), message: 'required field is missing' });
  else if (!isMediaTypeName(mediaType)) out.push({ pointer: at('mediaType'), message: `must be a media type (type/subtype, RFC 6838), got ${JSON.stringify(mediaType)}` });

  const digestProblem = Object.hasOwn(value, 'digest') ? ociDigestProblem(digest) : 'required field is missing';
  if (digestProblem !== null) out.push({ pointer: at('digest'), message: digestProblem });

  const sizeValid = typeof size === 'number' && Number.isSafeInteger(size) && size >= 0;
  if (!Object.hasOwn(value, 'size')) out.push({ pointer: at('size'), message: 'required field is missing' });
  else if (!sizeValid) out.push({ pointer: at('size'), message: `must be a non-negative integer, got ${JSON.stringify(size)}` });

  const descriptor: Descriptor = { mediaType: mediaType as string, digest: digest as string, size: size as number };

  if (Object.hasOwn(value, 'urls')) {
    const urls = checkUrls(value.urls, at('urls'), out);
    if (urls) descriptor.urls = urls;
  }
  if (Object.hasOwn(value, 'annotations')) {
    const annotations = checkStringMap(value.annotations, at('annotations'), out);
    if (annotations) descriptor.annotations = annotations;
  }
  if (Object.hasOwn(value, 'artifactType')) {
    const artifactType = checkArtifactType(value.artifactType, at('artifactType'), out);
    if (artifactType !== null) descriptor.artifactType = artifactType;
  }
  if (Object.hasOwn(value, 'data')) {
    const data = checkData(value.data, at('data'), out, sizeValid ? (size as number) : null, digestProblem === null ? (digest as string) : null);
    if (data !== null) descriptor.data = data;
  }
  if (options.platform && Object.hasOwn(value, 'platform')) {
    const platform = checkPlatform(value.platform, at('platform'), out);
    if (platform) descriptor.platform = platform;
  }
  return out.length === before ? descriptor : null;
}

function checkArtifactType(value: unknown, pointer: string, out: Violation[]): string | null {
  // An empty string means "none", as Go's omitempty zero value does.
  if (value === '') return null;
  if (!isMediaTypeName(value)) {
    out.push({ pointer, message: `must be a media type (type/subtype, RFC 6838), got ${JSON.stringify(value)}` });
    return null;
  }
  return value;
}

function checkStringMap(value: unknown, pointer: string, out: Violation[]): Record<string, string> | null {
  if (!isObject(value)) {
    out.push({ pointer, message: `must be an object mapping strings to strings, got ${kindOf(value)}` });
    return null;
  }
  let valid = true;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      out.push({ pointer: childPointer(pointer, key), message: `must be a string, got ${kindOf(item)}` });
      valid = false;
    }
  }
  // fromEntries defines own properties, so a `__proto__` key stays data.
  return valid ? (Object.fromEntries(Object.entries(value)) as Record<string, string>) : null;
}

function checkStringArray(value: unknown, pointer: string, out: Violation[]): string[] | null {
  if (!Array.isArray(value)) {
    out.push({ pointer, message: `must be an array of strings, got ${kindOf(value)}` });
    return null;
  }
  let valid = true;
  for (const [index, item] of value.entries()) {
    if (typeof item !== 'string') {
      out.push({ pointer: childPointer(pointer, index), message: `must be a string, got ${kindOf(item)}` });
      valid = false;
    }
  }
  return valid ? [...(value as string[])] : null;
}

function checkUrls(value: unknown, pointer: string, out: Violation[]): string[] | null {
  const urls = checkStringArray(value, pointer, out);
  if (!urls) return null;
  let valid = true;
  for (const [index, url] of urls.entries()) {
    if (!URL.canParse(url)) {
      out.push({ pointer: childPointer(pointer, index), message: `must be an absolute URI, got ${JSON.stringify(url)}` });
      valid = false;
    }
  }
  return valid ? urls : null;
}

// RFC 4648 §4, padded, no whitespace.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkData(value: unknown, pointer: string, out: Violation[], size: number | null, digest: string | null): string | null {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    out.push({ pointer, message: typeof value === 'string' ? 'must be padded base64 (RFC 4648 §4)' : `must be a base64 string, got ${kindOf(value)}` });
    return null;
  }
  const bytes = Buffer.from(value, 'base64');
  let valid = true;
  if (size !== null && bytes.length !== size) {
    out.push({ pointer, message: `decodes to ${bytes.length} bytes but size is ${size}` });
    valid = false;
  }
  if (digest !== null) {
    const colon = digest.indexOf(':');
    const actual = createHash(digest.slice(0, colon)).update(bytes).digest('hex');
    if (actual !== digest.slice(colon + 1)) {
      out.push({ pointer, message: `decoded content has digest ${digest.slice(0, colon)}:${actual}, not ${digest}` });
      valid = false;
    }
  }
  return valid ? value : null;
}

function checkPlatform(value: unknown, pointer: string, out: Violation[]): Platform | null {
  if (!isObject(value)) {
    out.push({ pointer, message: `must be an object, got ${kindOf(value)}` });
    return null;
  }
  const before = out.length;
  const platform: Partial<Platform> = {};
  for (const key of ['architecture', 'os'] as const) {
    const item = value[key];
    if (!Object.hasOwn(value, key)) out.push({ pointer: childPointer(pointer, key), message: 'required field is missing' });
    else if (typeof item !== 'string') out.push({ pointer: childPointer(pointer, key), message: `must be a string, got ${kindOf(item)}` });
    else platform[key] = item;
  }
  for (const key of ['os.version', 'variant'] as const) {
    if (!Object.hasOwn(value, key)) continue;
    const item = value[key];
    if (typeof item !== 'string') out.push({ pointer: childPointer(pointer, key), message: `must be a string, got ${kindOf(item)}` });
    else platform[key] = item;
  }
  for (const key of ['os.features', 'features'] as const) {
    if (!Object.hasOwn(value, key)) continue;
    const items = checkStringArray(value[key], childPointer(pointer, key), out);
    if (items) platform[key] = items;
  }
  return out.length === before ? (platform as Platform) : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
