/**
 * @module oci/grammar
 * The lexical rules of the OCI Distribution API: repository names, tags,
 * digests and the `<reference>` path segment. Every function is pure; a
 * refusal is a {@link RegistryError} whose `detail` names the rule broken.
 */
import { createHash } from 'node:crypto';
import { RegistryError } from '../errors/index.js';

/** Longest repository name accepted, in characters, slashes included (the spec requires fewer than 256). */
export const MAX_NAME_LENGTH = 255;

/** Longest tag accepted, in characters (the tag grammar allows 1 + 127). */
export const MAX_TAG_LENGTH = 128;

// One path component of a repository name: alphanumeric runs joined by a
// single separator, which is `.`, `_`, `__` or any number of dashes.
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const NAME_CHARACTER = /^[a-z0-9._-]$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const TAG_CHARACTER = /^[a-zA-Z0-9._-]$/;

/**
 * Checks a repository name against the distribution-spec grammar
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
 * and the {@link MAX_NAME_LENGTH} limit. Returns the name unchanged.
 * @throws RegistryError `NAME_INVALID` whose detail says which rule failed
 *   (empty, too long, empty path component, forbidden character, separator
 *   at a component edge, or a separator sequence that is not allowed).
 */
export function validateRepositoryName(name: string): string {
  const problem = repositoryNameProblem(name);
  if (problem !== null) throw new RegistryError('NAME_INVALID', problem, { name });
  return name;
}

/** True when {@link validateRepositoryName} would accept `name`. Never throws. */
export function isRepositoryName(name: unknown): name is string {
  return typeof name === 'string' && repositoryNameProblem(name) === null;
}

/**
 * Why `name` is not a valid repository name, or `null` when it is. The
 * message names the rule broken; it is meant for the error `detail`.
 */
export function repositoryNameProblem(name: string): string | null {
  if (typeof name !== 'string') return 'repository name must be a string';
  if (name.length === 0) return 'repository name is empty';
  if (name.length > MAX_NAME_LENGTH) {
    return `repository name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`;
  }
  const components = name.split('/');
  for (const [index, component] of components.entries()) {
    if (component.length === 0) {
      const where = index === 0 ? 'leading' : index === components.length - 1 ? 'trailing' : 'doubled';
      return `repository name has an empty path component (${where} '/')`;
    }
    if (NAME_COMPONENT.test(component)) continue;
    for (const char of component) {
      if (!NAME_CHARACTER.test(char)) {
        const hint = /[A-Z]/.test(char) ? ' (names are lowercase)' : '';
        return `path component ${JSON.stringify(component)} contains ${JSON.stringify(char)}${hint}; only a-z, 0-9, '.', '_' and '-' are allowed`;
      }
    }
    if (!/^[a-z0-9]/.test(component) || !/[a-z0-9]$/.test(component)) {
      return `path component ${JSON.stringify(component)} must start and end with a lowercase letter or digit`;
    }
    // Only characters and edges are fine, so some run of separators is not
    // one of the allowed forms.
    const run = component.match(/[._-]+/g)?.find((r) => r !== '.' && r !== '_' && r !== '__' && !/^-+$/.test(r)) ?? '';
    return `path component ${JSON.stringify(component)} contains the separator sequence ${JSON.stringify(run)}; separators must be exactly '.', '_', '__' or a run of '-'`;
  }
  return null;
}

/**
 * Checks a tag against `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` (1 to 128
 * characters, not starting with `.` or `-`). Returns the tag unchanged.
 * @throws RegistryError `TAG_INVALID` whose detail says which rule failed.
 */
export function validateTag(tag: string): string {
  const problem = tagProblem(tag);
  if (problem !== null) throw new RegistryError('TAG_INVALID', problem, { tag });
  return tag;
}

/** True when {@link validateTag} would accept `tag`. Never throws. */
export function isTag(tag: unknown): tag is string {
  return typeof tag === 'string' && TAG.test(tag);
}

function tagProblem(tag: string): string | null {
  if (typeof tag !== 'string') return 'tag must be a string';
  if (TAG.test(tag)) return null;
  if (tag.length === 0) return 'tag is empty';
  if (tag.length > MAX_TAG_LENGTH) return `tag is ${tag.length} characters long; the limit is ${MAX_TAG_LENGTH}`;
  for (const char of tag) {
    if (!TAG_CHARACTER.test(char)) return `tag contains ${JSON.stringify(char)}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed`;
  }
  return `tag must not start with ${JSON.stringify(tag[0])}; the first character must be a letter, digit or '_'`;
}

/** The digest algorithms this registry accepts: the ones registered by the OCI image-spec. */
export type OciDigestAlgorithm = 'sha256' | 'sha512';

/** Length in hex characters of each registered algorithm's encoded part. */
export const OCI_DIGEST_HEX_LENGTH: Readonly<Record<OciDigestAlgorithm, number>> = Object.freeze({ sha256: 64, sha512: 128 });

/** A parsed digest: `<algorithm>:<hex>`, the text being `${algorithm}:${hex}`. */
export interface OciDigest {
  readonly algorithm: OciDigestAlgorithm;
  /** Lowercase hex of the hash, 64 (sha256) or 128 (sha512) characters. */
  readonly hex: string;
}

/**
 * Parses an OCI digest. Only registered algorithms are accepted: `sha256`
 * with exactly 64 and `sha512` with exactly 128 lowercase hex characters.
 * Anything else (unknown or unregistered algorithms such as `sha384` or
 * `blake3`, upper-case hex, wrong length, missing `:`) is refused.
 * @throws RegistryError `DIGEST_INVALID` whose detail says what is wrong.
 */
export function parseOciDigest(text: string): OciDigest {
  const problem = ociDigestProblem(text);
  if (problem !== null) throw new RegistryError('DIGEST_INVALID', problem, { digest: text });
  const colon = text.indexOf(':');
  return { algorithm: text.slice(0, colon) as OciDigestAlgorithm, hex: text.slice(colon + 1) };
}

/** True when {@link parseOciDigest} would accept `text`. Never throws. */
export function isOciDigest(text: unknown): text is string {
  return typeof text === 'string' && ociDigestProblem(text) === null;
}

/**
 * Why `text` is not an acceptable OCI digest, or `null` when it is. Used by
 * {@link parseOciDigest} and by manifest validation, which collects
 * problems instead of throwing.
 */
export function ociDigestProblem(text: unknown): string | null {
  if (typeof text !== 'string') return 'digest must be a string';
  const colon = text.indexOf(':');
  if (colon < 0) return 'digest must have the form <algorithm>:<hex>';
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    return `digest algorithm ${JSON.stringify(algorithm)} is not supported; use sha256 or sha512`;
  }
  const expected = OCI_DIGEST_HEX_LENGTH[algorithm];
  if (!/^[0-9a-fA-F]*$/.test(hex)) return `${algorithm} digest must be hex; found a non-hex character`;
  if (/[A-F]/.test(hex)) return `${algorithm} digest must be lowercase hex`;
  if (hex.length !== expected) return `${algorithm} digest must have ${expected} hex characters, got ${hex.length}`;
  return null;
}

/**
 * Computes the digest of `bytes` with a registered algorithm, as the text
 * `<algorithm>:<lowercase hex>`.
 */
export function computeOciDigest(bytes: Uint8Array, algorithm: OciDigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * True when `reference` (the `<reference>` path segment) is meant as a
 * digest rather than a tag, i.e. it contains `:`. Tags can never contain
 * `:`, so this partitions all strings; it does not validate the digest
 * (see {@link parseReference}).
 */
export function isDigestReference(reference: string): boolean {
  return reference.includes(':');
}

/** A `<reference>` resolved to what it names. */
export type ParsedReference = { readonly kind: 'digest'; readonly digest: OciDigest } | { readonly kind: 'tag'; readonly tag: string };

/**
 * Parses the `<reference>` of `/v2/<name>/manifests/<reference>`: a digest
 * when it contains `:` (see {@link isDigestReference}), else a tag.
 * @throws RegistryError `DIGEST_INVALID` for a malformed or unsupported
 *   digest, `TAG_INVALID` for a string that is not a valid tag.
 */
export function parseReference(reference: string): ParsedReference {
  if (isDigestReference(reference)) return { kind: 'digest', digest: parseOciDigest(reference) };
  return { kind: 'tag', tag: validateTag(reference) };
}

/**
 * {@link parseReference} for looking a manifest up (GET, HEAD, DELETE):
 * a string that is not a valid tag can name no manifest, so it is unknown
 * (404, as the distribution-spec conformance suite expects), not a bad
 * request. Only a push is told its tag is invalid.
 * @throws RegistryError `MANIFEST_UNKNOWN` (with the rule the tag breaks)
 *   for an invalid tag, `DIGEST_INVALID` for a malformed digest.
 */
export function parseLookupReference(reference: string): ParsedReference {
  if (isDigestReference(reference)) return { kind: 'digest', digest: parseOciDigest(reference) };
  const problem = tagProblem(reference);
  if (problem !== null) throw new RegistryError('MANIFEST_UNKNOWN', `no manifest is tagged ${JSON.stringify(reference.slice(0, 140))}: ${problem}`, { tag: reference.slice(0, 140), reason: problem });
  return { kind: 'tag', tag: reference };
}
