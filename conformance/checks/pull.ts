// Pull workflow (the only mandatory category), the /v2/ base endpoint, and the
// request-validation errors every endpoint shares (bad names, bad digests).
import { HttpResponse } from '../client.js';
import { digestMatches, isValidDigest, ManifestFixture, MT } from '../fixtures/data.js';
import {
  assert,
  Check,
  Context,
  ensureManifest,
  expectError,
  expectHeader,
  expectHeaderEquals,
  expectStatus,
  fail,
  MANIFEST_ACCEPT,
  parseErrorEnvelope,
  setup,
  SPEC_ERROR_CODES,
  unknownDigest,
} from './common.js';

/** The image every pull check reads: pushed once per run under the tag `pull-<runId>`. */
async function pulledImage(ctx: Context): Promise<{ image: ManifestFixture; tag: string }> {
  const image = ctx.fx.image('pull/image', { layers: 2, layerSize: 4096 });
  const tag = ctx.tag('pull');
  await setup('push the pull image', () => ensureManifest(ctx, image, tag));
  return { image, tag };
}

function firstLayer(image: ManifestFixture) {
  const layer = image.blobs[1];
  if (!layer) throw new Error('fixture image has no layer');
  return layer;
}

/** Shared assertions for a manifest GET/HEAD response. */
function expectManifestHeaders(res: HttpResponse, m: ManifestFixture, what: string): void {
  expectStatus(res, 200, what);
  const digest = expectHeader(res, 'Docker-Content-Digest', what);
  assert(digest === m.digest, `${what}: Docker-Content-Digest ${digest}, expected ${m.digest}`);
  const ct = expectHeader(res, 'Content-Type', what);
  assert(ct === m.mediaType, `${what}: Content-Type ${JSON.stringify(ct)}, expected exactly ${m.mediaType} (what was pushed)`);
  const len = expectHeader(res, 'Content-Length', what);
  assert(Number(len) === m.size, `${what}: Content-Length ${len}, expected ${m.size}`);
}

function expectManifestBody(res: HttpResponse, m: ManifestFixture, what: string): void {
  expectManifestHeaders(res, m, what);
  assert(res.body.equals(m.bytes), `${what}: body differs from the pushed bytes (${res.body.length} vs ${m.size} bytes)`);
}

async function baseEndpoint(ctx: Context): Promise<string> {
  const res = await ctx.client.get('/v2/');
  expectStatus(res, 200);
  expectHeaderEquals(res, 'Docker-Distribution-API-Version', 'registry/2.0');
  return '200, Docker-Distribution-API-Version: registry/2.0';
}

async function headMissingBlob(ctx: Context): Promise<string> {
  const res = await ctx.client.head(ctx.blobUrl(unknownDigest(ctx, 'pull-blob')));
  expectStatus(res, 404);
  return '404';
}

async function getMissingBlob(ctx: Context): Promise<string> {
  const res = await ctx.client.get(ctx.blobUrl(unknownDigest(ctx, 'pull-blob')));
  const code = expectError(res, 404, ['BLOB_UNKNOWN']);
  return `404 ${code}`;
}

async function headExistingBlob(ctx: Context): Promise<string> {
  const { image } = await pulledImage(ctx);
  const layer = firstLayer(image);
  const res = await ctx.client.head(ctx.blobUrl(layer.digest));
  expectStatus(res, 200);
  const digest = expectHeader(res, 'Docker-Content-Digest');
  assert(digest === layer.digest, `Docker-Content-Digest ${digest}, expected ${layer.digest}`);
  const len = expectHeader(res, 'Content-Length');
  assert(Number(len) === layer.size, `Content-Length ${len}, expected ${layer.size}`);
  return `200, Content-Length ${len}`;
}

async function getExistingBlob(ctx: Context): Promise<string> {
  const { image } = await pulledImage(ctx);
  const layer = firstLayer(image);
  const res = await ctx.client.getFollow(ctx.blobUrl(layer.digest));
  expectStatus(res, 200);
  assert(res.body.equals(layer.bytes), `body differs from the pushed blob (${res.body.length} vs ${layer.size} bytes)`);
  // Redirected to another service (a bucket), the digest is the registry's to state: on its redirect.
  const digest = expectHeader(res.redirectedBy ?? res, 'Docker-Content-Digest');
  assert(digest === layer.digest && digestMatches(digest, res.body), `Docker-Content-Digest ${digest} does not match the body (${layer.digest})`);
  const len = expectHeader(res, 'Content-Length');
  assert(Number(len) === layer.size, `Content-Length ${len}, expected ${layer.size}`);
  return res.redirectedBy ? `${res.redirectedBy.status} to 200, ${layer.size} bytes` : `200, ${layer.size} bytes`;
}

async function rangeGet(ctx: Context): Promise<string> {
  const { image } = await pulledImage(ctx);
  const layer = firstLayer(image);
  const start = 100;
  const end = 1123;
  const res = await ctx.client.getFollow(ctx.blobUrl(layer.digest), { headers: { Range: `bytes=${start}-${end}` } });
  expectStatus(res, 206);
  const cr = expectHeader(res, 'Content-Range');
  const expected = `bytes ${start}-${end}/${layer.size}`;
  assert(cr === expected, `Content-Range ${JSON.stringify(cr)}, expected ${JSON.stringify(expected)}`);
  assert(res.body.equals(layer.bytes.subarray(start, end + 1)), `body is not bytes ${start}-${end} of the blob (${res.body.length} bytes)`);
  return `206, Content-Range: ${cr}`;
}

async function unsatisfiableRange(ctx: Context): Promise<string> {
  const { image } = await pulledImage(ctx);
  const layer = firstLayer(image);
  const res = await ctx.client.getFollow(ctx.blobUrl(layer.digest), {
    headers: { Range: `bytes=${layer.size + 100}-${layer.size + 200}` },
  });
  expectStatus(res, 416);
  const cr = res.header('Content-Range');
  return `416${cr ? `, Content-Range: ${cr}` : ''}`;
}

async function headMissingManifest(ctx: Context): Promise<string> {
  const byTag = await ctx.client.head(ctx.manifestUrl(ctx.tag('missing')), { headers: { Accept: MANIFEST_ACCEPT } });
  expectStatus(byTag, 404, 'by tag');
  const byDigest = await ctx.client.head(ctx.manifestUrl(unknownDigest(ctx, 'pull-manifest')), { headers: { Accept: MANIFEST_ACCEPT } });
  expectStatus(byDigest, 404, 'by digest');
  const byInvalidTag = await ctx.client.head(ctx.manifestUrl(INVALID_TAG_REFERENCE), { headers: { Accept: MANIFEST_ACCEPT } });
  expectStatus(byInvalidTag, 404, `by the invalid tag ${INVALID_TAG_REFERENCE}`);
  return '404 by tag, by digest and by a string that cannot be a tag';
}

/**
 * A reference that is not a valid tag (it starts with '.'): no manifest can
 * have it, so a lookup is 404, not 400; the distribution-spec's own suite
 * asks for exactly this one.
 */
const INVALID_TAG_REFERENCE = '.INVALID_MANIFEST_NAME';

async function getMissingManifest(ctx: Context): Promise<string> {
  await pulledImage(ctx); // the repository exists, so the manifest (not the name) is unknown
  const byTag = await ctx.client.get(ctx.manifestUrl(ctx.tag('missing')), { headers: { Accept: MANIFEST_ACCEPT } });
  expectError(byTag, 404, ['MANIFEST_UNKNOWN'], 'by tag');
  const byDigest = await ctx.client.get(ctx.manifestUrl(unknownDigest(ctx, 'pull-manifest')), { headers: { Accept: MANIFEST_ACCEPT } });
  expectError(byDigest, 404, ['MANIFEST_UNKNOWN'], 'by digest');
  const byInvalidTag = await ctx.client.get(ctx.manifestUrl(INVALID_TAG_REFERENCE), { headers: { Accept: MANIFEST_ACCEPT } });
  expectError(byInvalidTag, 404, ['MANIFEST_UNKNOWN'], `by the invalid tag ${INVALID_TAG_REFERENCE}`);
  return '404 MANIFEST_UNKNOWN by tag, by digest and by a string that cannot be a tag';
}

async function getManifestUnknownRepo(ctx: Context): Promise<string> {
  const repo = `${ctx.repo}/never-pushed-${ctx.runId}`;
  const res = await ctx.client.get(ctx.manifestUrl('latest', repo), { headers: { Accept: MANIFEST_ACCEPT } });
  const code = expectError(res, 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
  return `404 ${code}`;
}

async function getManifestByTag(ctx: Context): Promise<string> {
  const { image, tag } = await pulledImage(ctx);
  const res = await ctx.client.get(ctx.manifestUrl(tag), { headers: { Accept: MANIFEST_ACCEPT } });
  expectManifestBody(res, image, `GET by tag`);
  return `200, ${image.mediaType}, digest matches`;
}

async function getManifestByDigest(ctx: Context): Promise<string> {
  const { image } = await pulledImage(ctx);
  const res = await ctx.client.get(ctx.manifestUrl(image.digest), { headers: { Accept: MANIFEST_ACCEPT } });
  expectManifestBody(res, image, `GET by digest`);
  return `200, ${image.mediaType}, bytes identical`;
}

async function headManifestByTag(ctx: Context): Promise<string> {
  const { image, tag } = await pulledImage(ctx);
  const res = await ctx.client.head(ctx.manifestUrl(tag), { headers: { Accept: MANIFEST_ACCEPT } });
  expectManifestHeaders(res, image, 'HEAD by tag');
  return '200 with Docker-Content-Digest, Content-Length, Content-Type';
}

async function headManifestByDigest(ctx: Context): Promise<string> {
  const { image } = await pulledImage(ctx);
  const res = await ctx.client.head(ctx.manifestUrl(image.digest), { headers: { Accept: MANIFEST_ACCEPT } });
  expectManifestHeaders(res, image, 'HEAD by digest');
  return '200 with Docker-Content-Digest, Content-Length, Content-Type';
}

async function getIndexContentType(ctx: Context): Promise<string> {
  const index = ctx.fx.multiPlatformIndex('pull/index');
  await setup('push the index', () => ensureManifest(ctx, index, ctx.tag('pull-index')));
  const res = await ctx.client.get(ctx.manifestUrl(ctx.tag('pull-index')), { headers: { Accept: MANIFEST_ACCEPT } });
  expectManifestBody(res, index, 'GET index by tag');
  const child = index.children[0] as ManifestFixture;
  const res2 = await ctx.client.get(ctx.manifestUrl(child.digest), { headers: { Accept: MANIFEST_ACCEPT } });
  expectManifestBody(res2, child, 'GET child manifest by digest');
  return `200, Content-Type ${MT.index}; child manifest pullable by digest`;
}

async function errorEnvelopeOn400(ctx: Context): Promise<string> {
  await pulledImage(ctx);
  const res = await ctx.client.put(ctx.manifestUrl('sha256:totallywrong'), {
    headers: { 'Content-Type': MT.manifest },
    body: Buffer.from('{"schemaVersion": 2, "mediaType": "invalid"'),
  });
  expectStatus(res, [400, 404]);
  if (res.status === 404) return '404 (reference rejected by routing; allowed)';
  const errors = parseErrorEnvelope(res);
  const code = errors[0]?.code ?? '';
  assert(SPEC_ERROR_CODES.includes(code), `error code ${code} is not one the spec defines`);
  return `400 ${code}`;
}

async function invalidNameUppercase(ctx: Context): Promise<string> {
  const res = await ctx.client.get('/v2/UPPER/tags/list');
  const code = expectError(res, [400, 404], ['NAME_INVALID', 'NAME_UNKNOWN']);
  return `${res.status} ${code}`;
}

async function invalidNameDotDot(ctx: Context): Promise<string> {
  const path = `/v2/${ctx.repo}/../other/tags/list`;
  const res = await ctx.client.raw('GET', path);
  if (res.status >= 200 && res.status < 400) fail(`GET ${path} (sent unnormalised) → ${res.status}, expected 400 or 404`);
  const code = expectError(res, [400, 404], ['NAME_INVALID', 'NAME_UNKNOWN'], `GET ${path}`);
  return `${res.status} ${code}`;
}

async function malformedDigest(ctx: Context): Promise<string> {
  await pulledImage(ctx);
  const cases = [`sha256:${'0'.repeat(63)}`, `sha256:${'z'.repeat(64)}`, 'sha256:abc'];
  for (const d of cases) {
    if (isValidDigest(d)) throw new Error(`test bug: ${d} is valid`);
    const res = await ctx.client.get(ctx.blobUrl(d));
    expectError(res, 400, ['DIGEST_INVALID'], `GET blob ${d}`);
  }
  return `400 DIGEST_INVALID for ${cases.length} malformed digests`;
}

export const pullChecks: Check[] = [
  { workflow: 'pull', name: 'GET /v2/ returns 200 with Docker-Distribution-API-Version: registry/2.0', run: baseEndpoint },
  { workflow: 'pull', name: 'HEAD on a missing blob returns 404', run: headMissingBlob },
  { workflow: 'pull', name: 'GET on a missing blob returns 404 BLOB_UNKNOWN in an OCI error envelope', run: getMissingBlob },
  { workflow: 'pull', name: 'HEAD on an existing blob returns 200 with Docker-Content-Digest and Content-Length', run: headExistingBlob },
  { workflow: 'pull', name: 'GET on an existing blob returns its bytes with Docker-Content-Digest and Content-Length', run: getExistingBlob },
  { workflow: 'pull', name: 'Range GET on a blob returns 206 with Content-Range and the requested bytes', run: rangeGet },
  { workflow: 'pull', name: 'Unsatisfiable Range GET on a blob returns 416', run: unsatisfiableRange },
  { workflow: 'pull', name: 'HEAD on a missing manifest (tag, digest) returns 404', run: headMissingManifest },
  { workflow: 'pull', name: 'GET on a missing manifest (tag, digest) returns 404 MANIFEST_UNKNOWN', run: getMissingManifest },
  { workflow: 'pull', name: 'GET manifest in an unknown repository returns 404 NAME_UNKNOWN/MANIFEST_UNKNOWN', run: getManifestUnknownRepo },
  { workflow: 'pull', name: 'GET manifest by tag returns the pushed bytes, digest and Content-Type', run: getManifestByTag },
  { workflow: 'pull', name: 'GET manifest by digest returns the pushed bytes, digest and Content-Type', run: getManifestByDigest },
  { workflow: 'pull', name: 'HEAD manifest by tag returns Docker-Content-Digest, Content-Length and Content-Type', run: headManifestByTag },
  { workflow: 'pull', name: 'HEAD manifest by digest returns Docker-Content-Digest, Content-Length and Content-Type', run: headManifestByDigest },
  { workflow: 'pull', name: 'GET image index returns the index Content-Type; its children pull by digest', run: getIndexContentType },
  { workflow: 'pull', name: '400 responses carry an OCI error envelope with a spec error code', run: errorEnvelopeOn400 },
  { workflow: 'pull', name: 'Invalid repository name (/v2/UPPER/tags/list) returns 400/404 NAME_INVALID/NAME_UNKNOWN', run: invalidNameUppercase },
  { workflow: 'pull', name: "Repository name containing '..' returns 400/404 NAME_INVALID/NAME_UNKNOWN", run: invalidNameDotDot },
  { workflow: 'pull', name: 'Malformed digest in a blob GET returns 400 DIGEST_INVALID', run: malformedDigest },
];
