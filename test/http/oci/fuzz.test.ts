/**
 * A fast-check property over thousands of random requests against one live
 * `/v2/` server on loopback: random methods, paths built from a grammar of
 * valid and hostile pieces, junk query strings, headers and small bodies.
 *
 * Property: the server never answers 5xx; every 4xx (but HEAD) carries a
 * well-formed OCI error envelope with a known code; every request completes
 * (no hanging connection). Afterwards the store verifies, objects included.
 *
 * Replay a failure with the seed it prints: OCI_FUZZ_SEED=<seed>. Other
 * knobs: OCI_FUZZ_RUNS (default 2000), OCI_TEST_LOG (pino level).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import pino from 'pino';
import { describeEachDatabase } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';
import { startServer, type RunningServer } from '../../../src/http/server.js';

const RUNS = Number(process.env.OCI_FUZZ_RUNS ?? 2000);
const SEED = process.env.OCI_FUZZ_SEED !== undefined ? Number(process.env.OCI_FUZZ_SEED) : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
const REQUEST_TIMEOUT_MS = 10_000;
/** Whole property, shrinking included; exceeding it fails the test (it must stay well under two minutes). */
const TIME_LIMIT_MS = 110_000;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';
const ARTIFACT_TYPE = 'application/vnd.example.sbom';

/** Codes a 4xx envelope may carry: the spec's fourteen, the legacy ones clients know, distribution's pagination code. */
const KNOWN_CODES = new Set([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  'TAG_INVALID',
  'MANIFEST_UNVERIFIED',
  'PAGINATION_NUMBER_INVALID',
]);

function sha256(content: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

function sha512(content: string | Uint8Array): string {
  return `sha512:${createHash('sha512').update(content).digest('hex')}`;
}

// ---------------------------------------------------------------------------
// The seeded world the grammar refers to

const CONFIG = '{}';
const LAYER_A = 'fuzz layer a';
const LAYER_B = 'fuzz layer b';
const ZERO = '';

function image(layers: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_EMPTY, digest: sha256(CONFIG), size: 2 },
    layers: layers.map((layer) => ({ mediaType: LAYER_TYPE, digest: sha256(layer), size: Buffer.byteLength(layer) })),
    ...extra,
  });
}

const MANIFEST_V1 = image([LAYER_A, LAYER_B]);
const INDEX = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(MANIFEST_V1), size: MANIFEST_V1.length, platform: { architecture: 'amd64', os: 'linux' } }] });
const REFERRER = image([], { artifactType: ARTIFACT_TYPE, subject: { mediaType: OCI_MANIFEST, digest: sha256(MANIFEST_V1), size: MANIFEST_V1.length }, annotations: { 'org.example': 'x' } });

const KNOWN_DIGESTS = [CONFIG, LAYER_A, LAYER_B, ZERO, MANIFEST_V1, INDEX, REFERRER].map((content) => sha256(content));
const KNOWN_CONTENT = [CONFIG, LAYER_A, LAYER_B, ZERO];

// ---------------------------------------------------------------------------
// Request plans: generated data, resolved against live state at run time

type DigestPiece = { kind: 'literal'; value: string } | { kind: 'body' };
type SessionPiece = { kind: 'live'; index: number } | { kind: 'literal'; value: string };

interface RequestPlan {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path pieces; digest and session placeholders are resolved when sent. */
  path: Array<string | { digest: DigestPiece } | { session: SessionPiece }>;
  query: Array<[string, string | { digest: DigestPiece }]>;
  headers: Record<string, string>;
  body: Uint8Array | null;
  chunked: boolean;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const validName = fc.oneof(
  { weight: 2, arbitrary: fc.constant('fuzz/app') },
  fc.constantFrom('fuzz/app', 'fuzz/other', 'fuzz/app/sub', 'library/ubuntu', 'a', 'a0/b-c/d__e.f', 'x--y/z.z'),
  fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}(?:\/[a-z0-9]{1,8}){0,3}$/),
);

const hostileName = fc.oneof(
  fc.constantFrom(
    '..', '.', '%2e%2e', '%2E%2E', '%2e', 'a/../b', 'fuzz/../fuzz/app', 'a/./b', 'a//b', '/a', 'a/', 'UPPER', 'Fuzz/App', 'a%00', '%00', 'a%00b',
    '%2F', 'a%2fb', 'fuzz%2Fapp', '_catalog', 'a/_catalog', 'a/tags/list', 'a/blobs', 'a/manifests', 'blobs/uploads', 'a/blobs/uploads', '-a', 'a-', 'a___b',
    'a..b', '', '%', '%zz', 'a%ff', '~', 'a@b', 'a:b', 'a+b', '%C3%BCber', '%F0%9F%92%A9', '%ED%A0%80', 'a;b', "a'b", 'a"b', 'a<b>', 'a\\b', 'a#b',
  ),
  fc.constantFrom(64, 128, 254, 255, 256, 1000, 4000).map((length) => 'a'.repeat(length)),
  fc.constantFrom(127, 128).map((length) => `${'a'.repeat(length)}/${'b'.repeat(length)}`),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).map((text) => encodeURIComponent(text)),
  fc.stringMatching(/^[!-~]{1,16}$/).map((text) => text.replace(/[?#%]/g, '_')),
);

const name = fc.oneof({ weight: 3, arbitrary: validName }, { weight: 2, arbitrary: hostileName });

const validDigest = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_DIGESTS) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => `sha256:${hex(bytes)}`) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => `sha512:${hex(bytes)}`) },
  { weight: 1, arbitrary: fc.constantFrom(...KNOWN_CONTENT).map((content) => sha512(content)) },
);

const invalidDigest = fc.oneof(
  validDigest.map((digest) => digest.toUpperCase()),
  validDigest.map((digest) => digest.slice(0, -1)),
  validDigest.map((digest) => `${digest}0`),
  validDigest.map((digest) => digest.replace(':', '%3A')),
  validDigest.map((digest) => digest.replace(/^sha\d+/, 'md5')),
  fc.constantFrom('sha256:', 'sha512:', ':', 'sha256', 'sha384:abc', `blake3:${'0'.repeat(64)}`, `sha256:${'g'.repeat(64)}`, '%00', 'sha256:%00', 'sha256:..', '..'),
  fc.stringMatching(/^[!-~]{1,24}$/).map((text) => text.replace(/[?#%/]/g, '_')),
);

const digestPiece: fc.Arbitrary<DigestPiece> = fc.oneof(
  { weight: 5, arbitrary: validDigest.map((value) => ({ kind: 'literal' as const, value })) },
  { weight: 3, arbitrary: invalidDigest.map((value) => ({ kind: 'literal' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'body' as const }) },
);

const tag = fc.oneof(
  fc.constantFrom('v1', 'multi', 'latest', 'referrer', `sha256-${sha256(MANIFEST_V1).slice(7)}`),
  fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/),
  fc.constantFrom(`_${'t'.repeat(127)}`, 't'.repeat(129), 't'.repeat(2000), '-x', '.x', 'a+b', 'a%2Bb', 'a%00', '%00', '%C3%A9', 'a%20b', '..', '%2e%2e', 'a$b', 'a~b'),
);

const sessionPiece: fc.Arbitrary<SessionPiece> = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 1000 }).map((index) => ({ kind: 'live' as const, index })) },
  { weight: 2, arbitrary: fc.uuid().map((value) => ({ kind: 'literal' as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom('junk', '..', '%2e%2e', 'A'.repeat(36), '00000000-0000-0000-0000-000000000000', '%00', 'x'.repeat(300)).map((value) => ({ kind: 'literal' as const, value })) },
);

type PathPiece = RequestPlan['path'][number];
const digestRef = digestPiece.map((digest): PathPiece => ({ digest }));
const sessionRef = sessionPiece.map((session): PathPiece => ({ session }));

const junkSegment: fc.Arbitrary<PathPiece> = fc.oneof(
  fc.constantFrom('tags', 'list', 'blobs', 'uploads', 'manifests', 'referrers', '_catalog', '', '..', '.', '%2e', '%2e%2e', '%00', '~', 'v2', 'V2'),
  name.map((text): PathPiece => text),
  tag.map((text): PathPiece => text),
  digestRef,
);

type Method = RequestPlan['method'];
const METHODS: readonly Method[] = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'];

/** An endpoint: path pieces (`/v2` and the joining slashes are added when sent) and the methods it serves. */
interface Endpoint {
  readonly path: PathPiece[];
  readonly methods: readonly Method[];
}

const endpoint = (methods: readonly Method[]) => (path: PathPiece[]): Endpoint => ({ path, methods });

const endpoints: fc.Arbitrary<Endpoint> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom<PathPiece[]>([''], [], ['_catalog'], ['_catalog', ''], ['%5Fcatalog']).map(endpoint(['GET', 'HEAD'])) },
  { weight: 2, arbitrary: name.map((n): PathPiece[] => [n, 'tags', 'list']).map(endpoint(['GET'])) },
  { weight: 5, arbitrary: fc.tuple(name, fc.oneof(tag.map((t): PathPiece => t), digestRef)).map(([n, ref]): PathPiece[] => [n, 'manifests', ref]).map(endpoint(['GET', 'HEAD', 'PUT', 'DELETE'])) },
  { weight: 4, arbitrary: fc.tuple(name, digestRef).map(([n, d]): PathPiece[] => [n, 'blobs', d]).map(endpoint(['GET', 'HEAD', 'DELETE'])) },
  {
    weight: 3,
    arbitrary: fc.tuple(name, fc.boolean()).map(([n, slash]): PathPiece[] => (slash ? [n, 'blobs', 'uploads', ''] : [n, 'blobs', 'uploads'])).map(endpoint(['POST'])),
  },
  { weight: 5, arbitrary: fc.tuple(name, sessionRef).map(([n, s]): PathPiece[] => [n, 'blobs', 'uploads', s]).map(endpoint(['GET', 'PATCH', 'PUT', 'DELETE'])) },
  { weight: 2, arbitrary: fc.tuple(name, digestRef).map(([n, d]): PathPiece[] => [n, 'referrers', d]).map(endpoint(['GET'])) },
  { weight: 2, arbitrary: fc.array(junkSegment, { minLength: 1, maxLength: 6 }).map(endpoint(METHODS)) },
);

const queryValue = fc.oneof(
  fc.constantFrom('0', '1', '2', '10', '100', '10000', '10001', '-1', '1.5', '1e3', '0x10', '99999999999999999999', '', ' ', 'true'),
  name,
  tag,
  fc.constantFrom(ARTIFACT_TYPE, OCI_MANIFEST, 'application/x', 'fuzz/app', 'fuzz/other'),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.stringMatching(/^[!-~]{0,16}$/),
);

/** A query value either percent-encoded, or one of a few raw hostile spellings sent as is. */
const encodedQueryValue: fc.Arbitrary<string | { digest: DigestPiece }> = fc.oneof(
  { weight: 5, arbitrary: queryValue.map((value) => encodeURIComponent(value)) },
  { weight: 3, arbitrary: digestPiece.map((digest) => ({ digest })) },
  { weight: 1, arbitrary: fc.constantFrom('%00', 'a%00b', '%ff', '%', '%zz', '%ED%A0%80', '..', '%2e%2e', 'a=b', '%26', '+', '%2B', `v1%00`) },
);

const queryKey = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('n', 'last', 'digest', 'mount', 'from', 'tag', 'artifactType', 'digest-algorithm', 'ns') },
  { weight: 1, arbitrary: fc.constantFrom('N', 'Digest', 'tag[]', '__proto__', 'constructor', '', '%00', 'n%00') },
);

const query = fc.array(fc.tuple(queryKey, encodedQueryValue), { maxLength: 4 });

const headerText = fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((text) => text.trim());

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, 'application/octet-stream', 'application/json', `${OCI_MANIFEST}; charset=utf-8`, OCI_MANIFEST.toUpperCase(), 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'text/plain', '', ';', '/'),
    headerText,
  ),
  { nil: undefined },
);

const contentRange = fc.option(
  fc.oneof(
    fc.constantFrom('0-0', '0-4', '5-9', 'bytes 0-4/5', 'bytes=0-4', 'bytes 0-4/*', 'abc', '5-2', '-1-3', '0-', '-5', '0-99999999999999999999', '', ' 0-4 '),
    fc.tuple(fc.nat({ max: 600 }), fc.nat({ max: 600 })).map(([start, end]) => `${start}-${end}`),
    headerText,
  ),
  { nil: undefined },
);

const range = fc.option(
  fc.oneof(
    fc.constantFrom('bytes=0-0', 'bytes=0-', 'bytes=1-', 'bytes=-1', 'bytes=-5', 'bytes=-0', 'bytes=5-2', 'bytes=0-1,3-4', 'bytes=99999999999999999999-', 'bytes=-99999999999999999999', 'items=0-1', 'bytes=', 'bytes=a-b'),
    fc.tuple(fc.nat({ max: 64 }), fc.nat({ max: 64 })).map(([start, end]) => `bytes=${start}-${end}`),
    headerText,
  ),
  { nil: undefined },
);

const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ufeff', '\u2028', '__proto__', 'x'.repeat(300), '\\', '"', 'SURROGATE_HI', 'SURROGATE_LO'),
);

const descriptor = fc.record(
  {
    mediaType: fc.oneof(fc.constantFrom(LAYER_TYPE, OCI_EMPTY, OCI_MANIFEST, 'application/vnd.oci.image.layer.nondistributable.v1.tar', 'bad type'), hostileString),
    digest: fc.oneof(validDigest, invalidDigest),
    size: fc.oneof(fc.constantFrom(0, 2, 12, -1, 1.5, 2 ** 53), fc.nat({ max: 100 })),
    urls: fc.array(fc.constantFrom('https://example.com/x', 'not a url', ''), { maxLength: 2 }),
    annotations: fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
    data: fc.constantFrom('e30=', 'not base64', ''),
    platform: fc.record({ architecture: fc.constantFrom('amd64', 'arm64'), os: fc.constantFrom('linux', 'windows') }),
  },
  { requiredKeys: ['digest'] },
);

const manifestDocument = fc.record(
  {
    schemaVersion: fc.constantFrom(2, 2, 2, 1, '2', null),
    mediaType: fc.oneof(fc.constantFrom(OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, '', 'application/vnd.docker.distribution.manifest.v1+json'), hostileString),
    artifactType: fc.oneof(fc.constantFrom(ARTIFACT_TYPE, 'bad', ''), hostileString),
    config: fc.oneof(
      fc.constant({ mediaType: OCI_EMPTY, digest: sha256(CONFIG), size: 2 }),
      descriptor,
    ),
    layers: fc.array(
      fc.oneof(fc.constantFrom(...[LAYER_A, LAYER_B, ZERO].map((layer) => ({ mediaType: LAYER_TYPE, digest: sha256(layer), size: Buffer.byteLength(layer) }))), descriptor),
      { maxLength: 3 },
    ),
    manifests: fc.array(
      fc.oneof(fc.constant({ mediaType: OCI_MANIFEST, digest: sha256(MANIFEST_V1), size: MANIFEST_V1.length }), descriptor),
      { maxLength: 2 },
    ),
    subject: fc.oneof(fc.constant({ mediaType: OCI_MANIFEST, digest: sha256(MANIFEST_V1), size: MANIFEST_V1.length }), descriptor),
    annotations: fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['schemaVersion', 'config', 'layers'] },
);

/** JSON text of a manifest-ish document, with placeholders turned into lone-surrogate escapes. */
const manifestJson = manifestDocument.map((document) =>
  JSON.stringify(document).replaceAll('SURROGATE_HI', '\\ud800').replaceAll('SURROGATE_LO', '\\udc00'),
);

/** A manifest that passes validation in `fuzz/app`, with hostile strings where any string goes. */
const acceptableManifest = fc
  .record(
    {
      layers: fc.subarray([LAYER_A, LAYER_B, ZERO]),
      artifactType: fc.constantFrom(ARTIFACT_TYPE, 'application/vnd.example+json', ''),
      annotations: fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
      subject: fc.oneof(
        fc.constant({ mediaType: OCI_MANIFEST, digest: sha256(MANIFEST_V1), size: MANIFEST_V1.length }),
        validDigest.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1 })),
      ),
      unknownField: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['layers'] },
  )
  .map(({ layers, ...extra }) => image(layers, extra).replaceAll('SURROGATE_HI', '\\ud800').replaceAll('SURROGATE_LO', '\\udc00'));

const body: fc.Arbitrary<Uint8Array | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: acceptableManifest.map((text) => Buffer.from(text)) },
  { weight: 3, arbitrary: manifestJson.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: fc.tuple(manifestJson, fc.nat()).map(([text, cut]) => Buffer.from(text.slice(0, cut % Math.max(text.length, 1)))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  { weight: 1, arbitrary: fc.constantFrom(...KNOWN_CONTENT, MANIFEST_V1, INDEX, REFERRER, '', 'null', '[]', '{', '{"schemaVersion":2}').map((text) => Buffer.from(text)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')) },
);

const anyPlan: fc.Arbitrary<RequestPlan> = fc
  .record({
    endpoint: endpoints,
    /** Mostly a method the endpoint serves, sometimes any. */
    methodChoice: fc.oneof({ weight: 3, arbitrary: fc.nat().map((index) => ({ served: index })) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS).map((method) => ({ any: method })) }),
    trailing: fc.oneof({ weight: 12, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//') }),
    query,
    contentType,
    contentRange,
    range,
    body,
    chunked: fc.boolean(),
  })
  .map(({ endpoint: { path, methods }, methodChoice, trailing, query: q, contentType: type, contentRange: cr, range: r, body: b, chunked }) => {
    const method = 'any' in methodChoice ? methodChoice.any : methods[methodChoice.served % methods.length]!;
    const headers: Record<string, string> = {};
    if (type !== undefined) headers['Content-Type'] = type;
    if (cr !== undefined) headers['Content-Range'] = cr;
    if (r !== undefined) headers.Range = r;
    const pieces = trailing === '' ? path : [...path, ...trailing.split('/').slice(1)];
    return { method, path: pieces, query: q, headers, body: b, chunked: b !== null && chunked };
  });

const bodyDigest: { digest: DigestPiece } = { digest: { kind: 'body' } };
const liveSession = fc.nat({ max: 1000 }).map((index): PathPiece => ({ session: { kind: 'live', index } }));
const pushName = fc.oneof({ weight: 3, arbitrary: fc.constant('fuzz/app') }, { weight: 1, arbitrary: name });
const someBytes = fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.constantFrom(...KNOWN_CONTENT).map((text) => Buffer.from(text)));

/**
 * Requests that make sense as a whole (a manifest push whose body is a
 * valid manifest, a blob push whose digest is the body's, a chunk for a live
 * session, a mount, a paged listing), so the fuzz reaches the paths behind
 * validation too, still with hostile details.
 */
const coherentPlan: fc.Arbitrary<RequestPlan> = fc.oneof(
  fc
    .record({
      name: pushName,
      reference: fc.oneof(tag.map((t): PathPiece => t), fc.constant<PathPiece>(bodyDigest)),
      extraTags: fc.array(tag, { maxLength: 2 }),
      type: fc.constantFrom<string | undefined>(OCI_MANIFEST, OCI_MANIFEST, undefined, `${OCI_MANIFEST}; charset=utf-8`, DOCKER_MANIFEST),
      manifest: acceptableManifest,
      chunked: fc.boolean(),
    })
    .map(({ name: n, reference, extraTags, type, manifest, chunked }): RequestPlan => ({
      method: 'PUT',
      path: [n, 'manifests', reference],
      query: extraTags.map((t): [string, string] => ['tag', encodeURIComponent(t)]),
      headers: type === undefined ? {} : { 'Content-Type': type },
      body: Buffer.from(manifest),
      chunked,
    })),
  fc
    .record({ name: pushName, content: someBytes, digest: fc.oneof({ weight: 4, arbitrary: fc.constant(bodyDigest) }, { weight: 1, arbitrary: digestPiece.map((d) => ({ digest: d })) }), chunked: fc.boolean() })
    .map(({ name: n, content, digest, chunked }): RequestPlan => ({
      method: 'POST',
      path: [n, 'blobs', 'uploads', ''],
      query: [['digest', digest]],
      headers: { 'Content-Type': 'application/octet-stream' },
      body: content,
      chunked,
    })),
  fc
    .record({ session: liveSession, content: someBytes, contentRange, chunked: fc.boolean() })
    .map(({ session, content, contentRange: cr, chunked }): RequestPlan => ({
      method: 'PATCH',
      path: ['fuzz/app', 'blobs', 'uploads', session],
      query: [],
      headers: { 'Content-Type': 'application/octet-stream', ...(cr === undefined ? {} : { 'Content-Range': cr }) },
      body: content,
      chunked,
    })),
  fc
    .record({ session: liveSession, content: fc.option(someBytes, { nil: null }), digest: fc.oneof(fc.constant(bodyDigest), digestPiece.map((d) => ({ digest: d }))) })
    .map(({ session, content, digest }): RequestPlan => ({
      method: 'PUT',
      path: ['fuzz/app', 'blobs', 'uploads', session],
      query: [['digest', digest]],
      headers: {},
      body: content,
      chunked: false,
    })),
  fc
    .record({ name: pushName, mount: digestPiece, from: fc.option(fc.oneof(fc.constantFrom('fuzz/app', 'fuzz/other'), name), { nil: undefined }) })
    .map(({ name: n, mount, from }): RequestPlan => ({
      method: 'POST',
      path: [n, 'blobs', 'uploads', ''],
      query: [['mount', { digest: mount }], ...(from === undefined ? [] : [['from', encodeURIComponent(from)] as [string, string]])],
      headers: {},
      body: null,
      chunked: false,
    })),
  fc
    .record({
      path: fc.oneof(
        fc.constant<PathPiece[]>(['_catalog']),
        pushName.map((n): PathPiece[] => [n, 'tags', 'list']),
        fc.tuple(pushName, digestRef).map(([n, d]): PathPiece[] => [n, 'referrers', d]),
      ),
      query,
    })
    .map(({ path, query: q }): RequestPlan => ({ method: 'GET', path, query: q, headers: {}, body: null, chunked: false })),
  fc
    .record({ method: fc.constantFrom<Method>('DELETE', 'GET', 'HEAD'), name: pushName, kind: fc.constantFrom('manifests', 'blobs'), reference: fc.oneof(tag.map((t): PathPiece => t), digestRef), range })
    .map(({ method, name: n, kind, reference, range: r }): RequestPlan => ({
      method,
      path: [n, kind, reference],
      query: [],
      headers: r === undefined ? {} : { Range: r },
      body: null,
      chunked: false,
    })),
);

const requestPlan: fc.Arbitrary<RequestPlan> = fc.oneof({ weight: 3, arbitrary: anyPlan }, { weight: 2, arbitrary: coherentPlan });

// ---------------------------------------------------------------------------
// Sending

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Resolved {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | null;
  readonly chunked: boolean;
}

function describeRequest(request: Resolved): string {
  const body = request.body === null ? 'no body' : `${request.body.length} bytes${request.chunked ? ' (chunked)' : ''}: ${JSON.stringify(Buffer.from(request.body).toString('latin1').slice(0, 300))}`;
  return `${request.method} ${request.path.length > 300 ? `${request.path.slice(0, 300)}…(${request.path.length} chars)` : request.path} ${JSON.stringify(request.headers)} ${body}`;
}

function send(port: number, agent: http.Agent, request: Resolved): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== null) {
      // node only frames bodies of GET, HEAD and DELETE when told to.
      if (request.chunked) headers['Transfer-Encoding'] = 'chunked';
      else headers['Content-Length'] = String(request.body.length);
    }
    let settled = false;
    const finish = (error: Error | null, reply?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(reply!);
    };
    const outgoing = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => finish(null, { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', (error) => finish(error));
      response.on('aborted', () => finish(new Error('the server aborted the response')));
    });
    const timer = setTimeout(() => {
      outgoing.destroy();
      finish(new Error(`no complete response within ${REQUEST_TIMEOUT_MS} ms (hanging connection)`));
    }, REQUEST_TIMEOUT_MS);
    outgoing.on('error', (error) => finish(new Error(`connection error: ${error.message}`)));
    if (request.body === null) {
      outgoing.end();
    } else if (request.chunked) {
      const bytes = Buffer.from(request.body);
      const half = Math.floor(bytes.length / 2);
      outgoing.write(bytes.subarray(0, half));
      outgoing.end(bytes.subarray(half));
    } else {
      outgoing.end(Buffer.from(request.body));
    }
  });
}

function checkReply(request: Resolved, reply: Reply): void {
  const context = () => `${describeRequest(request)}\n  -> ${reply.status} ${JSON.stringify(reply.headers)} ${reply.body.toString('utf8').slice(0, 500)}`;
  assert.ok(reply.status >= 100 && reply.status < 500, `server answered ${reply.status}:\n  ${context()}`);
  if (reply.status < 400 || request.method === 'HEAD') return;
  assert.match(String(reply.headers['content-type'] ?? ''), /^application\/json\b/, `4xx without a JSON body:\n  ${context()}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body.toString('utf8'));
  } catch {
    assert.fail(`4xx body is not JSON:\n  ${context()}`);
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `4xx body is not an OCI error envelope:\n  ${context()}`);
  for (const error of errors as Array<Record<string, unknown>>) {
    assert.ok(typeof error === 'object' && error !== null, `errors[] entry is not an object:\n  ${context()}`);
    assert.equal(typeof error.code, 'string', `errors[].code is not a string:\n  ${context()}`);
    assert.ok(KNOWN_CODES.has(error.code as string), `errors[].code ${JSON.stringify(error.code)} is not an OCI error code:\n  ${context()}`);
    assert.equal(typeof error.message, 'string', `errors[].message is not a string:\n  ${context()}`);
  }
}

describeEachDatabase('OCI /v2/ under random requests (fast-check)', (target) => {
  let instance: TestRegistry;
  let server: RunningServer;
  let port: number;
  let agent: http.Agent;
  /** Upload session locations the fuzz may pick from (seeded, and any it opens). */
  const sessions: string[] = [];

  async function seed(method: string, path: string, content: string, type?: string): Promise<Reply> {
    const reply = await send(port, agent, { method, path, headers: type ? { 'Content-Type': type } : {}, body: Buffer.from(content), chunked: false });
    assert.ok(reply.status >= 200 && reply.status < 300, `seeding ${method} ${path}: ${reply.status} ${reply.body.toString()}`);
    return reply;
  }

  before(async () => {
    instance = await openTestRegistry(target);
    server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: process.env.OCI_TEST_LOG ?? 'silent' }));
    port = server.address.port;
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    for (const repository of ['fuzz/app', 'fuzz/other']) {
      for (const content of KNOWN_CONTENT) await seed('POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(content)}`, content, 'application/octet-stream');
    }
    await seed('PUT', '/v2/fuzz/app/manifests/v1', MANIFEST_V1, OCI_MANIFEST);
    await seed('PUT', '/v2/fuzz/app/manifests/multi', INDEX, OCI_INDEX);
    await seed('PUT', '/v2/fuzz/app/manifests/referrer', REFERRER, OCI_MANIFEST);
    for (const repository of ['fuzz/app', 'fuzz/app', 'fuzz/other']) {
      const started = await seed('POST', `/v2/${repository}/blobs/uploads/`, '');
      sessions.push(String(started.headers.location));
    }
    await seed('PATCH', sessions[0]!, 'hello', 'application/octet-stream');
  });

  after(async () => {
    agent?.destroy();
    await server?.close();
    await instance?.dispose();
  });

  function resolveDigest(piece: DigestPiece, body: Uint8Array | null): string {
    return piece.kind === 'literal' ? piece.value : sha256(body ?? new Uint8Array());
  }

  function resolve(plan: RequestPlan): Resolved {
    const segments = plan.path.map((piece) => {
      if (typeof piece === 'string') return piece;
      if ('digest' in piece) return resolveDigest(piece.digest, plan.body);
      const session = piece.session;
      if (session.kind === 'literal') return session.value;
      return sessions[session.index % sessions.length]!.split('/').at(-1)!;
    });
    const queryText = plan.query
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : encodeURIComponent(resolveDigest(value.digest, plan.body))}`)
      .join('&');
    const path = `/v2/${segments.join('/')}${queryText === '' ? '' : `?${queryText}`}`;
    return { method: plan.method, path, headers: plan.headers, body: plan.body, chunked: plan.chunked };
  }

  it(`never answers 5xx, always answers 4xx with an OCI envelope, never hangs (${RUNS} requests, seed ${SEED})`, async function () {
    this.timeout(TIME_LIMIT_MS + 60_000);
    let sent = 0;
    const outcomes = new Map<string, number>();
    const property = fc.asyncProperty(requestPlan, async (plan) => {
      const request = resolve(plan);
      sent += 1;
      let reply: Reply;
      try {
        reply = await send(port, agent, request);
      } catch (error) {
        assert.fail(`${(error as Error).message}:\n  ${describeRequest(request)}`);
      }
      const location = reply.headers.location;
      if (reply.status === 202 && typeof location === 'string' && location.includes('/blobs/uploads/') && sessions.length < 200) sessions.push(location);
      checkReply(request, reply);
      const code = reply.status >= 400 && request.method !== 'HEAD' ? ` ${(JSON.parse(reply.body.toString('utf8')) as { errors: Array<{ code: string }> }).errors[0]!.code}` : '';
      outcomes.set(`${reply.status}${code}`, (outcomes.get(`${reply.status}${code}`) ?? 0) + 1);
    });
    const started = Date.now();
    try {
      await fc.assert(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: true });
    } catch (error) {
      throw new Error(`OCI fuzz failed [${target.name}] — replay with OCI_FUZZ_SEED=${SEED}\n${(error as Error).message}`, { cause: error });
    }
    const summary = [...outcomes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([outcome, count]) => `${outcome} ×${count}`).join(', ');
    console.log(`      [${target.name}] seed ${SEED}: ${sent} requests in ${Date.now() - started} ms; ${summary}`);
    assert.ok(sent >= RUNS, `only ${sent} requests ran`);
  });

  it('leaves no connection open once the client lets go', async () => {
    agent.destroy();
    const connections = () => new Promise<number>((resolve, reject) => server.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    let open = await connections();
    for (let waited = 0; open > 0 && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = await connections();
    }
    assert.equal(open, 0, 'connections still open on the server 5 s after the client closed all of its sockets');
  });

  it('leaves a store that verifies, objects included', async () => {
    const report = await instance.registry.verify({ objects: true });
    assert.equal(report.ok, true, JSON.stringify({ differences: report.viewDifferences.slice(0, 5), problems: report.objects?.problems.slice(0, 5) }));
  });
});
