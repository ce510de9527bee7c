// Content management: deleting tags, manifests and blobs. Every check deletes only
// content it pushed itself (unique to the run), so other checks are unaffected.
import { BlobFixture } from '../fixtures/data.js';
import {
  assert,
  Check,
  Context,
  expectError,
  expectStatus,
  fail,
  followPages,
  MANIFEST_ACCEPT,
  pushBlob,
  pushManifestTree,
  setup,
  tagsOf,
  unknownDigest,
} from './common.js';

async function listTags(ctx: Context): Promise<string[]> {
  return (await followPages(ctx, ctx.tagsUrl(), tagsOf)).items;
}

async function deleteTag(ctx: Context): Promise<string> {
  const m = ctx.fx.image('mgmt/tag-delete', { layers: 1 });
  const gone = ctx.tag('mgmt-untag');
  const kept = ctx.tag('mgmt-keep');
  await setup('push a manifest under two tags', async () => {
    await pushManifestTree(ctx, m, gone);
    await pushManifestTree(ctx, m, kept);
  });
  const del = await ctx.client.delete(ctx.manifestUrl(gone));
  if (del.status === 400 || del.status === 405) {
    const code = (del.json() as { errors?: { code?: string }[] } | undefined)?.errors?.[0]?.code;
    fail(
      `DELETE tag → ${del.status}${code ? ` ${code}` : ''}: tag deletion is not supported ` +
        '(the spec allows 400/405 only where tag deletion is disabled; expected 202)',
    );
  }
  expectStatus(del, 202, `DELETE tag ${gone}`);
  const get = await ctx.client.get(ctx.manifestUrl(gone), { headers: { Accept: MANIFEST_ACCEPT } });
  expectError(get, 404, ['MANIFEST_UNKNOWN'], 'GET the deleted tag');
  const tags = await listTags(ctx);
  assert(!tags.includes(gone), `tags list still has ${gone}`);
  assert(tags.includes(kept), `tags list lost ${kept}, which was not deleted`);
  const byDigest = await ctx.client.head(ctx.manifestUrl(m.digest), { headers: { Accept: MANIFEST_ACCEPT } });
  expectStatus(byDigest, 200, 'HEAD the manifest by digest after deleting one of its tags');
  return '202; tag 404s and leaves the list; other tag and manifest remain';
}

async function deleteManifest(ctx: Context): Promise<string> {
  const m = ctx.fx.image('mgmt/manifest-delete', { layers: 1 });
  const t1 = ctx.tag('mgmt-del-1');
  const t2 = ctx.tag('mgmt-del-2');
  await setup('push a manifest under two tags', async () => {
    await pushManifestTree(ctx, m, t1);
    await pushManifestTree(ctx, m, t2);
  });
  const del = await ctx.client.delete(ctx.manifestUrl(m.digest));
  expectStatus(del, 202, 'DELETE by digest');
  const get = await ctx.client.get(ctx.manifestUrl(m.digest), { headers: { Accept: MANIFEST_ACCEPT } });
  expectError(get, 404, ['MANIFEST_UNKNOWN'], 'GET the deleted digest');
  for (const t of [t1, t2]) {
    const r = await ctx.client.get(ctx.manifestUrl(t), { headers: { Accept: MANIFEST_ACCEPT } });
    expectStatus(r, 404, `GET tag ${t} that pointed at the deleted manifest`);
  }
  const tags = await listTags(ctx);
  for (const t of [t1, t2]) assert(!tags.includes(t), `tags list still has ${t}`);
  return '202; digest and both of its tags 404; tags list updated';
}

async function deleteBlob(ctx: Context): Promise<string> {
  const blob: BlobFixture = ctx.fx.blob('mgmt/blob-delete', 1800);
  await setup('push a blob', () => pushBlob(ctx, blob));
  const del = await ctx.client.delete(ctx.blobUrl(blob.digest));
  expectStatus(del, 202, 'DELETE blob');
  const get = await ctx.client.get(ctx.blobUrl(blob.digest));
  expectError(get, 404, ['BLOB_UNKNOWN'], 'GET the deleted blob');
  const head = await ctx.client.head(ctx.blobUrl(blob.digest));
  expectStatus(head, 404, 'HEAD the deleted blob');
  return '202; then GET 404 BLOB_UNKNOWN, HEAD 404';
}

async function deleteUnknownManifest(ctx: Context): Promise<string> {
  await setup('make sure the repository exists', () => pushBlob(ctx, ctx.fx.blob('mgmt/exists', 100)));
  const res = await ctx.client.delete(ctx.manifestUrl(unknownDigest(ctx, 'mgmt-manifest')));
  const code = expectError(res, 404, ['MANIFEST_UNKNOWN']);
  return `404 ${code}`;
}

async function deleteUnknownBlob(ctx: Context): Promise<string> {
  await setup('make sure the repository exists', () => pushBlob(ctx, ctx.fx.blob('mgmt/exists', 100)));
  const res = await ctx.client.delete(ctx.blobUrl(unknownDigest(ctx, 'mgmt-blob')));
  const code = expectError(res, 404, ['BLOB_UNKNOWN']);
  return `404 ${code}`;
}

export const managementChecks: Check[] = [
  { workflow: 'management', name: 'DELETE a tag returns 202; the tag then 404s and leaves the tags list', run: deleteTag },
  { workflow: 'management', name: 'DELETE a manifest by digest returns 202 and removes it and every tag pointing to it', run: deleteManifest },
  { workflow: 'management', name: 'DELETE a blob returns 202, then GET returns 404', run: deleteBlob },
  { workflow: 'management', name: 'DELETE an unknown manifest returns 404 MANIFEST_UNKNOWN', run: deleteUnknownManifest },
  { workflow: 'management', name: 'DELETE an unknown blob returns 404 BLOB_UNKNOWN', run: deleteUnknownBlob },
];
