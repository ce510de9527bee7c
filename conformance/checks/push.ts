// Push workflow: blob uploads (monolithic, single POST, streamed, chunked), cancelling,
// cross-repository mounts, and manifest pushes of every shape the data-driven suite covers.
import { HttpResponse } from '../client.js';
import { BlobFixture, digestMatches, EMPTY_BLOB, ManifestFixture, MT } from '../fixtures/data.js';
import {
  assert,
  Check,
  Context,
  ensureBlob,
  ensureManifest,
  expectError,
  expectHeader,
  expectStatus,
  fail,
  MANIFEST_ACCEPT,
  pushBlob,
  pushManifestTree,
  putManifest,
  setup,
  startUpload,
  unknownDigest,
} from './common.js';

const MiB = 1024 * 1024;

/** GET a blob and require the exact bytes. */
async function expectBlobContent(ctx: Context, urlOrPath: string, blob: BlobFixture, what: string): Promise<HttpResponse> {
  const res = await ctx.client.getFollow(urlOrPath);
  expectStatus(res, 200, what);
  assert(res.body.equals(blob.bytes), `${what}: body differs from what was pushed (${res.body.length} vs ${blob.size} bytes)`);
  const dcd = res.header('Docker-Content-Digest');
  if (dcd !== null) assert(digestMatches(dcd, res.body), `${what}: Docker-Content-Digest ${dcd} does not match the body`);
  return res;
}

/** GET a manifest and require the exact bytes and Content-Type. */
async function expectManifestContent(ctx: Context, ref: string, m: ManifestFixture, what: string): Promise<void> {
  const res = await ctx.client.get(ctx.manifestUrl(ref), { headers: { Accept: MANIFEST_ACCEPT } });
  expectStatus(res, 200, what);
  assert(res.body.equals(m.bytes), `${what}: body differs from the pushed bytes (${res.body.length} vs ${m.size} bytes)`);
  const ct = res.header('Content-Type');
  assert(ct === m.mediaType, `${what}: Content-Type ${JSON.stringify(ct)}, expected ${m.mediaType}`);
  const dcd = res.header('Docker-Content-Digest');
  if (dcd !== null) assert(dcd === m.digest, `${what}: Docker-Content-Digest ${dcd}, expected ${m.digest}`);
}

/** Require 201 + Location + Docker-Content-Digest equal to the manifest's digest. */
function expectManifestCreated(res: HttpResponse, m: ManifestFixture, what: string): void {
  expectStatus(res, 201, what);
  expectHeader(res, 'Location', what);
  const dcd = expectHeader(res, 'Docker-Content-Digest', what);
  assert(dcd === m.digest, `${what}: Docker-Content-Digest ${dcd}, expected the pushed digest ${m.digest}`);
}

async function pushPrereqs(ctx: Context, m: ManifestFixture): Promise<void> {
  await setup(`push what ${m.label} references`, async () => {
    for (const b of m.blobs) await ensureBlob(ctx, b);
    for (const c of m.children) await pushManifestTree(ctx, c);
  });
}

async function cancelQuietly(ctx: Context, location: string | null): Promise<void> {
  if (location === null) return;
  try {
    await ctx.client.delete(location);
  } catch {
    // best effort
  }
}

// ---------------------------------------------------------------- blob uploads

async function postSession(ctx: Context): Promise<string> {
  const res = await ctx.client.post(ctx.uploadsUrl(), { body: Buffer.alloc(0) });
  expectStatus(res, 202);
  const loc = expectHeader(res, 'Location');
  const uuid = expectHeader(res, 'Docker-Upload-UUID');
  await cancelQuietly(ctx, res.location());
  return `202, Location ${loc.length > 60 ? loc.slice(0, 60) + '…' : loc}, Docker-Upload-UUID ${uuid}`;
}

async function monolithicUpload(ctx: Context): Promise<string> {
  const blob = ctx.fx.blob('push/monolithic', 5000);
  const { location } = await startUpload(ctx);
  const res = await ctx.client.put(location, { query: { digest: blob.digest }, headers: { 'Content-Type': MT.octet }, body: blob.bytes });
  expectStatus(res, 201);
  const blobLoc = res.location();
  if (blobLoc === null) fail(`${res.describe()} has no Location`);
  const dcd = expectHeader(res, 'Docker-Content-Digest');
  assert(dcd === blob.digest, `Docker-Content-Digest ${dcd}, expected ${blob.digest}`);
  await expectBlobContent(ctx, blobLoc, blob, 'GET the returned Location');
  await expectBlobContent(ctx, ctx.blobUrl(blob.digest), blob, 'GET by digest');
  return '201, Location pulls the blob';
}

async function singlePostUpload(ctx: Context): Promise<string> {
  const blob = ctx.fx.blob('push/single-post', 3000);
  const res = await ctx.client.post(ctx.uploadsUrl(), { query: { digest: blob.digest }, headers: { 'Content-Type': MT.octet }, body: blob.bytes });
  expectStatus(res, [201, 202]);
  const loc = res.location();
  if (loc === null) fail(`${res.describe()} has no Location`);
  if (res.status === 201) {
    await expectBlobContent(ctx, ctx.blobUrl(blob.digest), blob, 'GET after single POST');
    return '201 (single-POST upload supported)';
  }
  const head = await ctx.client.head(ctx.blobUrl(blob.digest));
  expectStatus(head, 404, 'blob must not exist after a 202 fallback');
  const put = await ctx.client.put(loc, { query: { digest: blob.digest }, headers: { 'Content-Type': MT.octet }, body: blob.bytes });
  expectStatus(put, 201, 'PUT to the fallback session');
  await expectBlobContent(ctx, ctx.blobUrl(blob.digest), blob, 'GET after fallback PUT');
  return '202 (single-POST not supported; fallback session completed with PUT → 201)';
}

async function streamedUpload(ctx: Context): Promise<string> {
  const blob = ctx.fx.blob('push/streamed', 10_000);
  const { location } = await startUpload(ctx);
  const patch = await ctx.client.patch(location, { headers: { 'Content-Type': MT.octet }, stream: blob.bytes, streamChunkSize: 4096 });
  expectStatus(patch, 202, 'PATCH without Content-Range');
  const next = patch.location();
  if (next === null) fail(`${patch.describe()} has no Location`);
  const range = patch.header('Range');
  if (range !== null) assert(range === `0-${blob.size - 1}`, `PATCH: Range ${JSON.stringify(range)}, expected "0-${blob.size - 1}"`);
  const put = await ctx.client.put(next, { query: { digest: blob.digest }, body: Buffer.alloc(0) });
  expectStatus(put, 201, 'closing PUT');
  expectHeader(put, 'Location', 'closing PUT');
  await expectBlobContent(ctx, ctx.blobUrl(blob.digest), blob, 'GET after streamed upload');
  return `PATCH 202${range ? ` (Range ${range})` : ''}, PUT 201`;
}

interface ChunkPlan {
  blob: BlobFixture;
  location: string;
  chunk1: Buffer;
  chunk2: Buffer;
  range1: string;
  range2: string;
}

/** POST a chunked session (Content-Length: 0) and plan two chunks honouring OCI-Chunk-Min-Length. */
async function openChunked(ctx: Context, label: string): Promise<ChunkPlan> {
  return setup('open a chunked upload session', async () => {
    const { res, location } = await startUpload(ctx);
    const min = Number(res.header('OCI-Chunk-Min-Length') ?? '0');
    const first = Math.max(Number.isFinite(min) ? min : 0, 1024);
    const blob = ctx.fx.blob(`push/chunked/${label}`, first + 777);
    return {
      blob,
      location,
      chunk1: blob.bytes.subarray(0, first),
      chunk2: blob.bytes.subarray(first),
      range1: `0-${first - 1}`,
      range2: `${first}-${blob.size - 1}`,
    };
  });
}

function patchChunk(ctx: Context, url: string, bytes: Buffer, range: string): Promise<HttpResponse> {
  return ctx.client.patch(url, { headers: { 'Content-Type': MT.octet, 'Content-Range': range }, body: bytes });
}

/** PATCH the first chunk and require 202 + Location + Range; returns the next location. */
async function firstChunk(ctx: Context, plan: ChunkPlan): Promise<string> {
  const res = await patchChunk(ctx, plan.location, plan.chunk1, plan.range1);
  expectStatus(res, 202, `PATCH first chunk (Content-Range ${plan.range1})`);
  const range = expectHeader(res, 'Range', 'PATCH first chunk');
  assert(range === plan.range1, `PATCH first chunk: Range ${JSON.stringify(range)}, expected ${JSON.stringify(plan.range1)}`);
  const next = res.location();
  if (next === null) fail(`${res.describe()} has no Location`);
  return next;
}

async function chunkedFirstChunk(ctx: Context): Promise<string> {
  const plan = await openChunked(ctx, 'first');
  const next = await firstChunk(ctx, plan);
  await cancelQuietly(ctx, next);
  return `202, Range: ${plan.range1}, Location present`;
}

async function chunkedOutOfOrder(ctx: Context): Promise<string> {
  const plan = await openChunked(ctx, 'out-of-order');
  const res = await patchChunk(ctx, plan.location, plan.chunk2, plan.range2);
  await cancelQuietly(ctx, plan.location);
  expectStatus(res, 416, `PATCH starting at ${plan.range2} on an empty session`);
  return '416';
}

async function chunkedRepeat(ctx: Context): Promise<string> {
  const plan = await openChunked(ctx, 'repeat');
  const next = await setup('first chunk', () => firstChunk(ctx, plan));
  const res = await patchChunk(ctx, next, plan.chunk1, plan.range1);
  await cancelQuietly(ctx, next);
  expectStatus(res, 416, `PATCH repeating Content-Range ${plan.range1}`);
  return '416';
}

async function chunkedStatus(ctx: Context): Promise<string> {
  const plan = await openChunked(ctx, 'status');
  const next = await setup('first chunk', () => firstChunk(ctx, plan));
  const res = await ctx.client.get(next);
  await cancelQuietly(ctx, next);
  expectStatus(res, 204, 'GET upload status');
  expectHeader(res, 'Location', 'GET upload status');
  const range = expectHeader(res, 'Range', 'GET upload status');
  assert(range === plan.range1, `GET upload status: Range ${JSON.stringify(range)}, expected ${JSON.stringify(plan.range1)}`);
  return `204, Range: ${range}, Location present`;
}

async function chunkedFinalPutWithChunk(ctx: Context): Promise<string> {
  const plan = await openChunked(ctx, 'final-put');
  const next = await setup('first chunk', () => firstChunk(ctx, plan));
  const res = await ctx.client.put(next, {
    query: { digest: plan.blob.digest },
    headers: { 'Content-Type': MT.octet, 'Content-Range': plan.range2 },
    body: plan.chunk2,
  });
  expectStatus(res, 201, `closing PUT with the last chunk (Content-Range ${plan.range2})`);
  expectHeader(res, 'Location', 'closing PUT');
  await expectBlobContent(ctx, ctx.blobUrl(plan.blob.digest), plan.blob, 'GET the assembled blob');
  return '201, assembled blob matches';
}

async function chunkedTwoPatchesThenPut(ctx: Context): Promise<string> {
  const plan = await openChunked(ctx, 'two-patches');
  const next = await setup('first chunk', () => firstChunk(ctx, plan));
  const res2 = await patchChunk(ctx, next, plan.chunk2, plan.range2);
  expectStatus(res2, 202, `PATCH second chunk (Content-Range ${plan.range2})`);
  const range = expectHeader(res2, 'Range', 'PATCH second chunk');
  assert(range === `0-${plan.blob.size - 1}`, `PATCH second chunk: Range ${JSON.stringify(range)}, expected "0-${plan.blob.size - 1}"`);
  const loc = res2.location();
  if (loc === null) fail(`${res2.describe()} has no Location`);
  const put = await ctx.client.put(loc, { query: { digest: plan.blob.digest }, body: Buffer.alloc(0) });
  expectStatus(put, 201, 'closing PUT without body');
  expectHeader(put, 'Location', 'closing PUT');
  await expectBlobContent(ctx, ctx.blobUrl(plan.blob.digest), plan.blob, 'GET the assembled blob');
  return '202, 202, 201; assembled blob matches';
}

async function wrongDigest(ctx: Context): Promise<string> {
  const blob = ctx.fx.blob('push/wrong-digest/content', 1500);
  const claimed = ctx.fx.blob('push/wrong-digest/claimed', 1500).digest;
  const { location } = await startUpload(ctx);
  const res = await ctx.client.put(location, { query: { digest: claimed }, headers: { 'Content-Type': MT.octet }, body: blob.bytes });
  expectError(res, 400, ['DIGEST_INVALID']);
  const h1 = await ctx.client.head(ctx.blobUrl(claimed));
  expectStatus(h1, 404, 'HEAD the claimed digest afterwards');
  const h2 = await ctx.client.head(ctx.blobUrl(blob.digest));
  expectStatus(h2, 404, 'HEAD the actual content digest afterwards');
  return '400 DIGEST_INVALID; neither digest exists afterwards';
}

async function cancelUpload(ctx: Context): Promise<string> {
  const { location } = await startUpload(ctx);
  const blob = ctx.fx.blob('push/cancel', 1000);
  const patch = await ctx.client.patch(location, { headers: { 'Content-Type': MT.octet }, body: blob.bytes });
  expectStatus(patch, 202, 'PATCH some data first');
  const loc = patch.location() ?? location;
  const del = await ctx.client.delete(loc);
  expectStatus(del, 204, 'DELETE the upload session');
  const status = await ctx.client.get(loc);
  expectError(status, 404, ['BLOB_UPLOAD_UNKNOWN'], 'GET the cancelled session');
  const put = await ctx.client.put(loc, { query: { digest: blob.digest }, body: Buffer.alloc(0) });
  expectStatus(put, 404, 'PUT to the cancelled session');
  return 'DELETE 204; session then 404 BLOB_UPLOAD_UNKNOWN';
}

async function zeroByteBlob(ctx: Context): Promise<string> {
  const blob = ctx.fx.zeroBlob();
  const res = await pushBlob(ctx, blob);
  const dcd = res.header('Docker-Content-Digest');
  if (dcd !== null) assert(dcd === blob.digest, `Docker-Content-Digest ${dcd}, expected ${blob.digest}`);
  const head = await ctx.client.head(ctx.blobUrl(blob.digest));
  expectStatus(head, 200, 'HEAD');
  assert(head.header('Content-Length') === '0', `HEAD: Content-Length ${head.header('Content-Length')}, expected 0`);
  await expectBlobContent(ctx, ctx.blobUrl(blob.digest), blob, 'GET');
  const m = ctx.fx.image('push/zero-layer', { layerBlobs: [blob, ctx.fx.blob('push/zero-layer/l1', 600)] });
  await pushPrereqs(ctx, m);
  const put = await putManifest(ctx, m, m.digest);
  expectStatus(put, 201, 'PUT a manifest with the zero-byte layer');
  return 'push 201, HEAD/GET 200 with 0 bytes; manifest using it accepted';
}

async function sha512Blob(ctx: Context): Promise<string> {
  const blob = ctx.fx.sha512Blob('push/sha512', 3000);
  const res = await pushBlob(ctx, blob);
  const dcd = res.header('Docker-Content-Digest');
  const head = await ctx.client.head(ctx.blobUrl(blob.digest));
  expectStatus(head, 200, 'HEAD by sha512 digest');
  await expectBlobContent(ctx, ctx.blobUrl(blob.digest), blob, 'GET by sha512 digest');
  return `201${dcd ? ` (Docker-Content-Digest ${dcd.slice(0, 14)}…)` : ''}, pulled by ${blob.digest.slice(0, 14)}…`;
}

// ---------------------------------------------------------------- mounts

async function mountWithFrom(ctx: Context): Promise<string> {
  const blob = ctx.fx.blob('push/mount/from', 2500);
  await setup('push the blob to the source repository', () => pushBlob(ctx, blob, ctx.repo));
  const res = await ctx.client.post(ctx.uploadsUrl(ctx.crossRepo), { query: { mount: blob.digest, from: ctx.repo }, body: Buffer.alloc(0) });
  expectStatus(res, 201);
  const loc = res.location();
  if (loc === null) fail(`${res.describe()} has no Location`);
  const dcd = res.header('Docker-Content-Digest');
  if (dcd !== null) assert(dcd === blob.digest, `Docker-Content-Digest ${dcd}, expected ${blob.digest}`);
  await expectBlobContent(ctx, loc, blob, 'GET the returned Location');
  await expectBlobContent(ctx, ctx.blobUrl(blob.digest, ctx.crossRepo), blob, `GET in ${ctx.crossRepo}`);
  return `201, blob readable in ${ctx.crossRepo}`;
}

async function mountWithoutFrom(ctx: Context): Promise<string> {
  const blob = ctx.fx.blob('push/mount/auto', 2500);
  await setup('push the blob to the source repository', () => pushBlob(ctx, blob, ctx.repo));
  const res = await ctx.client.post(ctx.uploadsUrl(ctx.crossRepo), { query: { mount: blob.digest }, body: Buffer.alloc(0) });
  expectStatus(res, [201, 202]);
  const loc = res.location();
  if (loc === null) fail(`${res.describe()} has no Location`);
  if (res.status === 201) {
    await expectBlobContent(ctx, ctx.blobUrl(blob.digest, ctx.crossRepo), blob, `GET in ${ctx.crossRepo}`);
    return '201 (automatic content discovery: mounted without from)';
  }
  await cancelQuietly(ctx, loc);
  return '202 (no automatic mount: an upload session was opened)';
}

async function mountNonexistent(ctx: Context): Promise<string> {
  const missing = unknownDigest(ctx, 'mount');
  const withFrom = await ctx.client.post(ctx.uploadsUrl(ctx.crossRepo), { query: { mount: missing, from: ctx.repo }, body: Buffer.alloc(0) });
  expectStatus(withFrom, 202, 'with from');
  const loc1 = withFrom.location();
  if (loc1 === null) fail(`${withFrom.describe()} has no Location (upload session)`);
  await cancelQuietly(ctx, loc1);
  const noFrom = await ctx.client.post(ctx.uploadsUrl(ctx.crossRepo), { query: { mount: missing }, body: Buffer.alloc(0) });
  expectStatus(noFrom, 202, 'without from');
  const loc2 = noFrom.location();
  if (loc2 === null) fail(`${noFrom.describe()} has no Location (upload session)`);
  await cancelQuietly(ctx, loc2);
  return '202 with an upload session, with and without from';
}

// ---------------------------------------------------------------- manifests

async function manifestPutByTag(ctx: Context): Promise<string> {
  const m = ctx.fx.image('push/manifest-tag');
  await pushPrereqs(ctx, m);
  const res = await putManifest(ctx, m, ctx.tag('push-manifest'));
  expectManifestCreated(res, m, 'PUT by tag');
  const loc = res.location() as string;
  const get = await ctx.client.get(loc, { headers: { Accept: MANIFEST_ACCEPT } });
  expectStatus(get, 200, 'GET the returned Location');
  assert(get.body.equals(m.bytes), 'GET the returned Location: body differs from the pushed bytes');
  await expectManifestContent(ctx, m.digest, m, 'GET by digest');
  return '201 with Location and Docker-Content-Digest; Location pulls it';
}

async function manifestPutByDigest(ctx: Context): Promise<string> {
  const m = ctx.fx.image('push/manifest-digest');
  await pushPrereqs(ctx, m);
  const res = await putManifest(ctx, m, m.digest);
  expectManifestCreated(res, m, 'PUT by digest');
  await expectManifestContent(ctx, m.digest, m, 'GET by digest');
  return '201 with Location and Docker-Content-Digest';
}

async function manifestDigestMismatch(ctx: Context): Promise<string> {
  const m = ctx.fx.image('push/manifest-mismatch');
  await pushPrereqs(ctx, m);
  const other = unknownDigest(ctx, 'manifest-mismatch');
  const res = await putManifest(ctx, m, other);
  expectError(res, 400, ['DIGEST_INVALID']);
  const get = await ctx.client.head(ctx.manifestUrl(other));
  expectStatus(get, 404, 'HEAD the claimed digest afterwards');
  return '400 DIGEST_INVALID';
}

async function manifestNoLayers(ctx: Context): Promise<string> {
  const m = ctx.fx.noLayers('push/no-layers');
  await pushPrereqs(ctx, m);
  const res = await putManifest(ctx, m, ctx.tag('push-no-layers'));
  expectManifestCreated(res, m, 'PUT manifest with "layers": []');
  await expectManifestContent(ctx, m.digest, m, 'GET by digest');
  return '201';
}

async function manifestMissingBlob(ctx: Context): Promise<string> {
  const m = ctx.fx.image('push/missing-blob', { layers: 1 });
  const config = m.blobs[0] as BlobFixture;
  await setup('push only the config', () => ensureBlob(ctx, config));
  const res = await putManifest(ctx, m, m.digest);
  expectError(res, 400, ['MANIFEST_BLOB_UNKNOWN']);
  const head = await ctx.client.head(ctx.manifestUrl(m.digest));
  expectStatus(head, 404, 'HEAD the rejected manifest');
  return '400 MANIFEST_BLOB_UNKNOWN; manifest not stored';
}

async function manifestInvalidJson(ctx: Context): Promise<string> {
  const res = await ctx.client.put(ctx.manifestUrl(ctx.tag('push-invalid')), {
    headers: { 'Content-Type': MT.manifest },
    body: Buffer.from('{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": '),
  });
  expectError(res, 400, ['MANIFEST_INVALID']);
  return '400 MANIFEST_INVALID';
}

async function manifestTagParams(ctx: Context): Promise<string> {
  const m = ctx.fx.image('push/tag-param', { layers: 1 });
  await pushPrereqs(ctx, m);
  const tags = [ctx.tag('tagparam-a'), ctx.tag('tagparam-b')];
  const res = await putManifest(ctx, m, m.digest, ctx.repo, { tag: tags });
  expectManifestCreated(res, m, 'PUT by digest with ?tag=&tag=');
  const echoed = res.headerValues('OCI-Tag');
  if (echoed.length === 0) fail('no OCI-Tag header: the ?tag= parameter is not supported');
  for (const t of tags) assert(echoed.includes(t), `OCI-Tag ${JSON.stringify(echoed)} does not include ${t}`);
  for (const t of tags) {
    const head = await ctx.client.head(ctx.manifestUrl(t), { headers: { Accept: MANIFEST_ACCEPT } });
    expectStatus(head, 200, `HEAD tag ${t}`);
    assert(head.header('Docker-Content-Digest') === m.digest, `tag ${t} does not point at ${m.digest}`);
  }
  return `201, OCI-Tag: ${echoed.join(', ')}; both tags resolve`;
}

async function manifestIndex(ctx: Context): Promise<string> {
  const idx = ctx.fx.multiPlatformIndex('push/index');
  await pushPrereqs(ctx, idx);
  const res = await putManifest(ctx, idx, ctx.tag('push-index'));
  expectManifestCreated(res, idx, 'PUT index');
  await expectManifestContent(ctx, ctx.tag('push-index'), idx, 'GET index by tag');
  return `201; pulled back as ${MT.index}`;
}

async function manifestNestedIndex(ctx: Context): Promise<string> {
  const idx = ctx.fx.nestedIndex('push/nested-index');
  await pushPrereqs(ctx, idx);
  const res = await putManifest(ctx, idx, ctx.tag('push-nested'));
  expectManifestCreated(res, idx, 'PUT nested index');
  await expectManifestContent(ctx, idx.digest, idx, 'GET nested index by digest');
  const inner = idx.children[0] as ManifestFixture;
  await expectManifestContent(ctx, inner.digest, inner, 'GET inner index by digest');
  return '201; outer and inner index round-trip';
}

async function manifestUnknownFields(ctx: Context): Promise<string> {
  const m = ctx.fx.unknownFields('push/unknown-fields');
  await pushPrereqs(ctx, m);
  const res = await putManifest(ctx, m, ctx.tag('push-unknown-fields'));
  expectManifestCreated(res, m, 'PUT manifest with unknown fields');
  await expectManifestContent(ctx, ctx.tag('push-unknown-fields'), m, 'GET by tag');
  return '201; bytes identical on GET (digest stable)';
}

async function manifestDataField(ctx: Context): Promise<string> {
  const m = ctx.fx.image('push/data-field', { dataField: true, layers: 1, layerSize: 300 });
  await pushPrereqs(ctx, m);
  const res = await putManifest(ctx, m, m.digest);
  expectManifestCreated(res, m, 'PUT manifest whose layer descriptor has "data"');
  await expectManifestContent(ctx, m.digest, m, 'GET by digest');
  return '201; round-trips';
}

async function manifestArtifact(ctx: Context): Promise<string> {
  const m = ctx.fx.artifact('push/artifact');
  await setup('push the empty config blob', () => ensureBlob(ctx, EMPTY_BLOB));
  await pushPrereqs(ctx, m);
  const res = await putManifest(ctx, m, ctx.tag('push-artifact'));
  expectManifestCreated(res, m, 'PUT artifact manifest');
  await expectManifestContent(ctx, ctx.tag('push-artifact'), m, 'GET by tag');
  const empty = await ctx.client.getFollow(ctx.blobUrl(EMPTY_BLOB.digest));
  expectStatus(empty, 200, 'GET the empty config blob');
  assert(empty.body.equals(EMPTY_BLOB.bytes), 'empty config blob is not "{}"');
  return '201; artifactType manifest and its empty config round-trip';
}

async function manifestSubjectHeader(ctx: Context): Promise<string> {
  const subject = ctx.fx.image('push/subject/target', { layers: 1 });
  await setup('push the subject', () => ensureManifest(ctx, subject));
  const ref = ctx.fx.artifact('push/subject/referrer', undefined, { subject });
  await pushPrereqs(ctx, ref);
  const res = await putManifest(ctx, ref, ref.digest);
  expectManifestCreated(res, ref, 'PUT manifest with subject');
  const hdr = expectHeader(res, 'OCI-Subject', 'PUT manifest with subject');
  assert(hdr === subject.digest, `OCI-Subject ${hdr}, expected ${subject.digest}`);
  return `201, OCI-Subject: ${hdr.slice(0, 19)}…`;
}

async function manifestMissingSubject(ctx: Context): Promise<string> {
  const phantom = ctx.fx.phantom('push/subject-missing');
  const ref = ctx.fx.artifact('push/subject-missing/referrer', undefined, { subject: phantom });
  await pushPrereqs(ctx, ref);
  const res = await putManifest(ctx, ref, ref.digest);
  expectManifestCreated(res, ref, 'PUT manifest whose subject does not exist');
  const hdr = res.header('OCI-Subject');
  if (hdr !== null) assert(hdr === phantom.digest, `OCI-Subject ${hdr}, expected ${phantom.digest}`);
  return `201${hdr ? ', OCI-Subject set' : ''}`;
}

async function manifestAtLimit(ctx: Context): Promise<string> {
  const m = ctx.fx.oversized('push/4mib', 4 * MiB);
  assert(m.size === 4 * MiB, `test bug: fixture is ${m.size} bytes`);
  await pushPrereqs(ctx, m);
  const res = await putManifest(ctx, m, m.digest);
  expectManifestCreated(res, m, `PUT a ${m.size}-byte manifest`);
  return `201 for ${m.size} bytes`;
}

async function manifestTooLarge(ctx: Context): Promise<string> {
  const m = ctx.fx.oversized('push/too-large', 4 * MiB + 1);
  await pushPrereqs(ctx, m);
  let res: HttpResponse;
  try {
    res = await putManifest(ctx, m, m.digest);
  } catch (err) {
    fail(`PUT a ${m.size}-byte manifest: request failed before a response (${err instanceof Error ? err.message : String(err)})`);
  }
  expectStatus(res, 413, `PUT a ${m.size}-byte manifest`);
  const head = await ctx.client.head(ctx.manifestUrl(m.digest));
  expectStatus(head, 404, 'HEAD the rejected manifest');
  return `413 for ${m.size} bytes`;
}

export const pushChecks: Check[] = [
  { workflow: 'push', name: 'POST upload session returns 202 with Location and Docker-Upload-UUID', run: postSession },
  { workflow: 'push', name: 'Monolithic upload (POST, PUT ?digest=) returns 201 with Location and Docker-Content-Digest', run: monolithicUpload },
  { workflow: 'push', name: 'Single POST ?digest= with the blob returns 201 (or 202 and a usable session)', run: singlePostUpload },
  { workflow: 'push', name: 'Streamed PATCH without Content-Range returns 202, then PUT ?digest= returns 201', run: streamedUpload },
  { workflow: 'push', name: 'Chunked upload: first chunk returns 202 with Range 0-<end> and Location', run: chunkedFirstChunk },
  { workflow: 'push', name: 'Chunked upload: out-of-order chunk returns 416', run: chunkedOutOfOrder },
  { workflow: 'push', name: 'Chunked upload: repeating an accepted chunk returns 416', run: chunkedRepeat },
  { workflow: 'push', name: 'Chunked upload: GET on the session returns 204 with Range and Location', run: chunkedStatus },
  { workflow: 'push', name: 'Chunked upload: closing PUT with the last chunk and digest returns 201', run: chunkedFinalPutWithChunk },
  { workflow: 'push', name: 'Chunked upload: two PATCHes then an empty closing PUT returns 201', run: chunkedTwoPatchesThenPut },
  { workflow: 'push', name: 'PUT with a wrong digest returns 400 DIGEST_INVALID and stores nothing', run: wrongDigest },
  { workflow: 'push', name: 'DELETE on an upload session returns 204, then the session is 404 BLOB_UPLOAD_UNKNOWN', run: cancelUpload },
  { workflow: 'push', name: 'Zero-byte blob can be pushed, pulled and used as a layer', run: zeroByteBlob },
  { workflow: 'push', name: 'sha512 blob can be pushed (digest=sha512:…) and pulled by its sha512 digest', run: sha512Blob },
  { workflow: 'push', name: 'Mount with from= returns 201 with Location; blob readable in the target repository', run: mountWithFrom },
  { workflow: 'push', name: 'Mount without from= returns 201 (automatic) or 202 (session)', run: mountWithoutFrom },
  { workflow: 'push', name: 'Mount of a nonexistent blob returns 202 with an upload session', run: mountNonexistent },
  { workflow: 'push', name: 'Manifest PUT by tag returns 201 with Location and Docker-Content-Digest', run: manifestPutByTag },
  { workflow: 'push', name: 'Manifest PUT by digest returns 201 with Location and Docker-Content-Digest', run: manifestPutByDigest },
  { workflow: 'push', name: 'Manifest PUT to a digest that does not match the body returns 400 DIGEST_INVALID', run: manifestDigestMismatch },
  { workflow: 'push', name: 'Manifest with no layers is accepted (201)', run: manifestNoLayers },
  { workflow: 'push', name: 'Manifest referencing a missing blob returns 400 MANIFEST_BLOB_UNKNOWN', run: manifestMissingBlob },
  { workflow: 'push', name: 'Invalid manifest JSON returns 400 MANIFEST_INVALID', run: manifestInvalidJson },
  { workflow: 'push', name: 'Manifest PUT by digest with ?tag=a&tag=b echoes OCI-Tag and creates both tags', optional: true, run: manifestTagParams },
  { workflow: 'push', name: 'Image index is accepted and pulled back with its Content-Type', run: manifestIndex },
  { workflow: 'push', name: 'Nested image index (index of an index) is accepted', run: manifestNestedIndex },
  { workflow: 'push', name: 'Manifest with unknown JSON fields round-trips byte-exact', run: manifestUnknownFields },
  { workflow: 'push', name: 'Manifest with a descriptor "data" field is accepted and round-trips', run: manifestDataField },
  { workflow: 'push', name: 'Artifact manifest (artifactType, empty config) is accepted and round-trips', run: manifestArtifact },
  { workflow: 'push', name: 'Manifest with subject returns 201 with OCI-Subject', run: manifestSubjectHeader },
  { workflow: 'push', name: 'Manifest whose subject does not exist is accepted (201)', run: manifestMissingSubject },
  { workflow: 'push', name: 'Manifest of exactly 4 MiB is accepted', run: manifestAtLimit },
  { workflow: 'push', name: 'Manifest larger than 4 MiB returns 413', run: manifestTooLarge },
];
