// Content discovery: tags list (order, n/last paging with Link), _catalog, referrers.
import { ANNOTATION_KEY, ARTIFACT_TYPE, Descriptor, EMPTY_BLOB, ManifestFixture, MT } from '../fixtures/data.js';
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
  followPages,
  isLexicallySorted,
  nextLink,
  reposOf,
  setup,
  tagsOf,
  unknownDigest,
} from './common.js';

/** Five tags on one manifest, unique to the run, in lexical order. */
async function taggedSet(ctx: Context): Promise<string[]> {
  return ctx.once('discovery:tags', async () => {
    const m = ctx.fx.image('discovery/tags', { layers: 1 });
    const base = ctx.tag('tl');
    const tags = ['a', 'b', 'c', 'd', 'e'].map((s) => `${base}-${s}`);
    await setup('push the tagged manifest', async () => {
      // Pushed out of order on purpose: listing order must not follow push order.
      for (const t of [tags[3], tags[0], tags[4], tags[1], tags[2]] as string[]) await ensureManifest(ctx, m, t);
    });
    return tags;
  });
}

async function tagsListBasic(ctx: Context): Promise<string> {
  const tags = await taggedSet(ctx);
  const res = await ctx.client.get(ctx.tagsUrl());
  expectStatus(res, 200);
  const body = res.json() as { name?: unknown } | undefined;
  assert(body !== undefined, 'body is not JSON');
  assert(body.name === ctx.repo, `"name" is ${JSON.stringify(body.name)}, expected ${JSON.stringify(ctx.repo)}`);
  const { items } = await followPages(ctx, ctx.tagsUrl(), tagsOf);
  for (const t of tags) assert(items.includes(t), `pushed tag ${t} is missing from the list`);
  return `200, {name, tags} lists all ${tags.length} pushed tags (${items.length} tags in total)`;
}

async function tagsListOrdered(ctx: Context): Promise<string> {
  await taggedSet(ctx);
  const { items, pages } = await followPages(ctx, ctx.tagsUrl(), tagsOf);
  assert(items.length > 0, 'the list is empty');
  if (!isLexicallySorted(items)) {
    const i = items.findIndex((v, k) => k > 0 && (items[k - 1] as string).toLowerCase() > v.toLowerCase());
    fail(`tags are not in lexical order (e.g. ${JSON.stringify(items[i - 1])} before ${JSON.stringify(items[i])})`);
  }
  assert(new Set(items).size === items.length, 'the list repeats a tag');
  return `${items.length} tags in lexical order over ${pages} page(s)`;
}

async function tagsListPaging(ctx: Context): Promise<string> {
  const tags = await taggedSet(ctx);
  const first = await ctx.client.get(ctx.tagsUrl(), { query: { n: '2' } });
  expectStatus(first, 200, '?n=2');
  const page0 = tagsOf(first.json());
  assert(page0.length === 2, `?n=2 returned ${page0.length} tags (the repository has at least ${tags.length})`);
  assert(nextLink(first) !== null, '?n=2 has no Link rel="next" although more tags exist');

  const res = await ctx.client.get(ctx.tagsUrl(), { query: { n: '2', last: tags[0] as string } });
  expectStatus(res, 200, `?n=2&last=${tags[0]}`);
  const page1 = tagsOf(res.json());
  assert(
    JSON.stringify(page1) === JSON.stringify(tags.slice(1, 3)),
    `?n=2&last=${tags[0]} returned ${JSON.stringify(page1)}, expected ${JSON.stringify(tags.slice(1, 3))}`,
  );
  const link = expectHeader(res, 'Link', `?n=2&last=${tags[0]}`);
  const next = nextLink(res);
  if (next === null) fail(`Link ${JSON.stringify(link)} has no rel="next" target`);
  const res2 = await ctx.client.get(next);
  expectStatus(res2, 200, 'following Link');
  const page2 = tagsOf(res2.json());
  assert(page2.length <= 2, `the next page has ${page2.length} tags, more than n=2`);
  assert(
    JSON.stringify(page2) === JSON.stringify(tags.slice(3, 5)),
    `following Link returned ${JSON.stringify(page2)}, expected ${JSON.stringify(tags.slice(3, 5))}`,
  );
  return `n=2 pages: ${page1.join(',')} then (via Link) ${page2.join(',')}`;
}

async function tagsListZero(ctx: Context): Promise<string> {
  await taggedSet(ctx);
  const res = await ctx.client.get(ctx.tagsUrl(), { query: { n: '0' } });
  expectStatus(res, 200);
  const tags = tagsOf(res.json());
  assert(tags.length === 0, `?n=0 returned ${tags.length} tags`);
  assert(res.header('Link') === null, `?n=0 sent a Link header: ${res.header('Link')}`);
  return '200, empty list, no Link';
}

async function tagsListLastPastEnd(ctx: Context): Promise<string> {
  await taggedSet(ctx);
  const last = 'z'.repeat(128);
  const res = await ctx.client.get(ctx.tagsUrl(), { query: { last } });
  expectStatus(res, 200);
  const tags = tagsOf(res.json());
  assert(tags.length === 0, `?last=zzz… returned ${JSON.stringify(tags.slice(0, 5))}`);
  assert(res.header('Link') === null, `sent a Link header past the end: ${res.header('Link')}`);
  return '200, empty list';
}

async function tagsListLastExclusive(ctx: Context): Promise<string> {
  const tags = await taggedSet(ctx);
  const res = await ctx.client.get(ctx.tagsUrl(), { query: { last: tags[2] as string } });
  expectStatus(res, 200);
  const got = tagsOf(res.json());
  assert(!got.includes(tags[2] as string), `?last=${tags[2]} included ${tags[2]} itself`);
  assert(got[0] === tags[3] && got[1] === tags[4], `?last=${tags[2]} starts with ${JSON.stringify(got.slice(0, 2))}, expected ${JSON.stringify(tags.slice(3))}`);
  return `starts after ${tags[2]}`;
}

async function tagsListUnknownRepo(ctx: Context): Promise<string> {
  const res = await ctx.client.get(ctx.tagsUrl(`${ctx.repo}/never-pushed-${ctx.runId}`));
  const code = expectError(res, 404, ['NAME_UNKNOWN']);
  return `404 ${code}`;
}

async function catalogLists(ctx: Context): Promise<string> {
  await taggedSet(ctx);
  await setup('push a blob to the cross-mount repository', () => ensureBlob(ctx, EMPTY_BLOB, ctx.crossRepo));
  const { items, pages } = await followPages(ctx, '/v2/_catalog?n=100', reposOf);
  assert(items.includes(ctx.repo), `${ctx.repo} is not listed (${items.length} repositories over ${pages} page(s))`);
  assert(isLexicallySorted(items), 'repositories are not in lexical order');
  return `${ctx.repo} listed among ${items.length} repositories`;
}

async function catalogPaging(ctx: Context): Promise<string> {
  await taggedSet(ctx);
  await setup('push a blob to the cross-mount repository', () => ensureBlob(ctx, EMPTY_BLOB, ctx.crossRepo));
  const res = await ctx.client.get('/v2/_catalog', { query: { n: '1' } });
  expectStatus(res, 200);
  const repos = reposOf(res.json());
  assert(repos.length === 1, `?n=1 returned ${repos.length} repositories`);
  const next = nextLink(res);
  if (next === null) fail(`?n=1 has no Link rel="next" (at least 2 repositories exist)`);
  const res2 = await ctx.client.get(next);
  expectStatus(res2, 200, 'following Link');
  const repos2 = reposOf(res2.json());
  assert(repos2.length === 1, `the next page has ${repos2.length} repositories, expected 1`);
  assert((repos2[0] as string) > (repos[0] as string), `the next page (${repos2[0]}) does not come after ${repos[0]}`);
  return `n=1: ${repos[0]}, then via Link ${repos2[0]}`;
}

// ---------------------------------------------------------------- referrers

interface ReferrerSet {
  subject: ManifestFixture;
  referrers: ManifestFixture[];
  missingSubject: ManifestFixture;
  danglingReferrer: ManifestFixture;
}

/**
 * A subject with four referrers (two artifactType manifests, a config-typed manifest, an
 * index with and one without artifactType), the first pushed before its subject; plus a
 * referrer whose subject is never pushed.
 */
function referrerSet(ctx: Context): Promise<ReferrerSet> {
  return ctx.once('discovery:referrers', async () => {
    const f = ctx.fx;
    const subject = f.image('refs/subject', { layers: 1 });
    const ann = (v: string) => ({ [ANNOTATION_KEY]: `${v}-${ctx.runId}` });
    const early = f.artifact('refs/signature', ARTIFACT_TYPE.signature, { subject, annotations: ann('signature') });
    const sbom = f.configTypedReferrer('refs/sbom', ARTIFACT_TYPE.sbom, subject, ann('sbom'));
    const idxTyped = f.index('refs/index-typed', [f.image('refs/index-typed/child', { layers: 1 })], {
      subject,
      artifactType: ARTIFACT_TYPE.signature,
      annotations: ann('index-typed'),
    });
    const idxPlain = f.index('refs/index-plain', [f.image('refs/index-plain/child', { layers: 1 })], { subject, annotations: ann('index-plain') });
    const missingSubject = f.phantom('refs/missing');
    const danglingReferrer = f.artifact('refs/dangling', ARTIFACT_TYPE.bundle, { subject: missingSubject, annotations: ann('dangling') });
    await setup('push the subject and its referrers', async () => {
      await ensureBlob(ctx, EMPTY_BLOB);
      await ensureManifest(ctx, early); // before its subject exists
      await ensureManifest(ctx, subject, ctx.tag('refs-subject'));
      await ensureManifest(ctx, sbom);
      await ensureManifest(ctx, idxTyped);
      await ensureManifest(ctx, idxPlain);
      await ensureManifest(ctx, danglingReferrer);
    });
    return { subject, referrers: [early, sbom, idxTyped, idxPlain], missingSubject, danglingReferrer };
  });
}

/** GET every page of a referrers listing; checks status, Content-Type and index shape. */
async function fetchReferrers(ctx: Context, digest: string, query?: Record<string, string>): Promise<{ manifests: Descriptor[]; filtersApplied: string | null }> {
  let res = await ctx.client.get(ctx.referrersUrl(digest), { query });
  const manifests: Descriptor[] = [];
  const filtersApplied = res.header('OCI-Filters-Applied');
  for (let page = 0; page < 50; page++) {
    expectStatus(res, 200, `referrers page ${page + 1}`);
    const ct = res.header('Content-Type');
    assert(ct === MT.index, `Content-Type ${JSON.stringify(ct)}, expected ${MT.index}`);
    const body = res.json() as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown } | undefined;
    assert(body !== undefined, 'body is not JSON');
    assert(body.schemaVersion === 2, `schemaVersion ${JSON.stringify(body.schemaVersion)}, expected 2`);
    assert(body.mediaType === MT.index, `mediaType ${JSON.stringify(body.mediaType)}, expected ${MT.index}`);
    assert(Array.isArray(body.manifests), '"manifests" is not an array');
    manifests.push(...(body.manifests as Descriptor[]));
    const next = nextLink(res);
    if (next === null) break;
    res = await ctx.client.get(next);
  }
  return { manifests, filtersApplied };
}

function expectDescriptorsMatch(got: Descriptor[], want: ManifestFixture[]): void {
  const gotDigests = got.map((d) => d.digest).sort();
  const wantDigests = want.map((m) => m.digest).sort();
  if (JSON.stringify(gotDigests) !== JSON.stringify(wantDigests)) {
    const missing = want.filter((m) => !gotDigests.includes(m.digest)).map((m) => m.label);
    const extra = got.filter((d) => !wantDigests.includes(d.digest)).map((d) => d.digest.slice(0, 19));
    fail(`listed ${got.length} referrers, expected ${want.length}` + (missing.length ? `; missing ${missing.join(', ')}` : '') + (extra.length ? `; unexpected ${extra.join(', ')}` : ''));
  }
  for (const m of want) {
    const d = got.find((x) => x.digest === m.digest) as Descriptor;
    assert(d.mediaType === m.mediaType, `${m.label}: mediaType ${d.mediaType}, expected ${m.mediaType}`);
    assert(d.size === m.size, `${m.label}: size ${d.size}, expected ${m.size}`);
    if (m.referrerArtifactType === undefined) {
      assert(d.artifactType === undefined, `${m.label}: artifactType ${JSON.stringify(d.artifactType)}, expected none (index without artifactType)`);
    } else {
      assert(d.artifactType === m.referrerArtifactType, `${m.label}: artifactType ${JSON.stringify(d.artifactType)}, expected ${m.referrerArtifactType}`);
    }
    assert(
      JSON.stringify(d.annotations ?? {}) === JSON.stringify(m.annotations ?? {}),
      `${m.label}: annotations ${JSON.stringify(d.annotations)}, expected ${JSON.stringify(m.annotations)}`,
    );
  }
}

async function referrersUnknownSubject(ctx: Context): Promise<string> {
  await referrerSet(ctx); // the repository exists
  const { manifests } = await fetchReferrers(ctx, unknownDigest(ctx, 'referrers'));
  assert(manifests.length === 0, `listed ${manifests.length} referrers for a digest nothing refers to`);
  return `200, empty ${MT.index}`;
}

async function referrersListed(ctx: Context): Promise<string> {
  const set = await referrerSet(ctx);
  const { manifests } = await fetchReferrers(ctx, set.subject.digest);
  expectDescriptorsMatch(manifests, set.referrers);
  return `${manifests.length} referrers with artifactType (from artifactType or config.mediaType) and annotations`;
}

async function referrersFiltered(ctx: Context): Promise<string> {
  const set = await referrerSet(ctx);
  const { manifests, filtersApplied } = await fetchReferrers(ctx, set.subject.digest, { artifactType: ARTIFACT_TYPE.signature });
  if (filtersApplied === null) fail('no OCI-Filters-Applied header: the artifactType filter was not applied');
  assert(filtersApplied === 'artifactType', `OCI-Filters-Applied ${JSON.stringify(filtersApplied)}, expected "artifactType"`);
  expectDescriptorsMatch(
    manifests,
    set.referrers.filter((r) => r.referrerArtifactType === ARTIFACT_TYPE.signature),
  );
  return `OCI-Filters-Applied: artifactType; ${manifests.length} matching referrers`;
}

async function referrersMissingSubject(ctx: Context): Promise<string> {
  const set = await referrerSet(ctx);
  const { manifests } = await fetchReferrers(ctx, set.missingSubject.digest);
  expectDescriptorsMatch(manifests, [set.danglingReferrer]);
  return '200, lists the referrer pushed for a subject that does not exist';
}

async function referrersMalformedDigest(ctx: Context): Promise<string> {
  await referrerSet(ctx);
  const res = await ctx.client.get(ctx.referrersUrl(`sha256:${'0'.repeat(10)}`));
  expectStatus(res, 400);
  return '400';
}

export const discoveryChecks: Check[] = [
  { workflow: 'discovery', name: 'Tags list returns 200 with name and every pushed tag', run: tagsListBasic },
  { workflow: 'discovery', name: 'Tags list is in lexical order', run: tagsListOrdered },
  { workflow: 'discovery', name: 'Tags list ?n= limits the page and Link rel="next" continues it', run: tagsListPaging },
  { workflow: 'discovery', name: 'Tags list ?n=0 returns an empty list and no Link', run: tagsListZero },
  { workflow: 'discovery', name: 'Tags list ?last= past the end returns an empty list', run: tagsListLastPastEnd },
  { workflow: 'discovery', name: 'Tags list ?last= starts after the given tag (exclusive)', run: tagsListLastExclusive },
  { workflow: 'discovery', name: 'Tags list of an unknown repository returns 404 NAME_UNKNOWN', run: tagsListUnknownRepo },
  { workflow: 'discovery', name: '_catalog lists the repository', run: catalogLists },
  { workflow: 'discovery', name: '_catalog ?n=1 returns one repository and a working Link rel="next"', run: catalogPaging },
  { workflow: 'discovery', name: 'Referrers of an unknown subject return 200 with an empty image index', run: referrersUnknownSubject },
  { workflow: 'discovery', name: 'Referrers list every manifest with that subject, with artifactType and annotations', run: referrersListed },
  { workflow: 'discovery', name: 'Referrers ?artifactType= filters and sends OCI-Filters-Applied: artifactType', run: referrersFiltered },
  { workflow: 'discovery', name: 'Referrers of a subject that was never pushed list its referrers', run: referrersMissingSubject },
  { workflow: 'discovery', name: 'Referrers with a malformed digest return 400', run: referrersMalformedDigest },
];
