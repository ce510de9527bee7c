// Shared vocabulary for the checks: the run context, assertions that fail with a readable
// reason, and the push helpers checks use to create the content they need.
import { HttpResponse, RegistryClient } from '../client.js';
import { BlobFixture, Fixtures, ManifestFixture, MT } from '../fixtures/data.js';

export type Workflow = 'pull' | 'push' | 'discovery' | 'management';
export const WORKFLOWS: readonly Workflow[] = ['pull', 'push', 'discovery', 'management'];

export interface Check {
  workflow: Workflow;
  name: string;
  /** Optional checks are reported but a failure does not count as a conformance failure. */
  optional?: boolean;
  /** Resolves with a short detail on success; throws (CheckFailure or otherwise) on failure. */
  run: (ctx: Context) => Promise<string | void>;
}

/** A failed expectation. Its message is the reason printed next to FAIL. */
export class CheckFailure extends Error {}

/** Error codes defined by the distribution spec (plus the legacy ones clients may see). */
export const SPEC_ERROR_CODES = [
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
];

export const MANIFEST_ACCEPT = [
  MT.manifest,
  MT.index,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export class Context {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(
    readonly client: RegistryClient,
    readonly repo: string,
    readonly crossRepo: string,
    readonly runId: string,
    readonly fx: Fixtures,
  ) {}

  /** Run `fn` once per run for `key`; later callers share its promise (and its failure). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.memo.set(key, p);
    }
    return p;
  }

  /** A tag unique to this run: `<label>-<runId>` (lowercase, within the tag grammar). */
  tag(label: string): string {
    return `${label}-${this.runId}`.toLowerCase().replace(/[^a-z0-9._-]/g, '-').slice(0, 128);
  }

  blobUrl(digest: string, repo = this.repo): string {
    return `/v2/${repo}/blobs/${digest}`;
  }
  manifestUrl(ref: string, repo = this.repo): string {
    return `/v2/${repo}/manifests/${ref}`;
  }
  uploadsUrl(repo = this.repo): string {
    return `/v2/${repo}/blobs/uploads/`;
  }
  tagsUrl(repo = this.repo): string {
    return `/v2/${repo}/tags/list`;
  }
  referrersUrl(digest: string, repo = this.repo): string {
    return `/v2/${repo}/referrers/${digest}`;
  }
}

export function fail(reason: string): never {
  throw new CheckFailure(reason);
}

export function assert(cond: unknown, reason: string): asserts cond {
  if (!cond) fail(reason);
}

export function excerpt(res: HttpResponse, max = 160): string {
  const t = res.text().replace(/\s+/g, ' ').trim();
  if (t === '') return '';
  return ` body: ${t.length > max ? t.slice(0, max) + '…' : t}`;
}

/** Fail unless the response status is one of `expected`. */
export function expectStatus(res: HttpResponse, expected: number | number[], what?: string): void {
  const list = Array.isArray(expected) ? expected : [expected];
  if (!list.includes(res.status)) {
    fail(`${what ? what + ': ' : ''}${res.describe()}, expected ${list.join(' or ')}.${excerpt(res)}`);
  }
  if (res.bodyError !== null) {
    const cl = res.header('Content-Length');
    fail(`${what ? what + ': ' : ''}${res.describe()}, but its body could not be read: ${res.bodyError}${cl !== null ? ` (declared Content-Length ${cl})` : ''}`);
  }
}

/** Return a header's value, failing when it is absent or empty. */
export function expectHeader(res: HttpResponse, name: string, what?: string): string {
  const v = res.header(name);
  if (v === null || v.trim() === '') fail(`${what ? what + ': ' : ''}${res.describe()} has no ${name} header`);
  return v;
}

/** Fail unless a header equals `value` exactly. */
export function expectHeaderEquals(res: HttpResponse, name: string, value: string, what?: string): void {
  const v = expectHeader(res, name, what);
  if (v !== value) fail(`${what ? what + ': ' : ''}${res.describe()}: ${name} is ${JSON.stringify(v)}, expected ${JSON.stringify(value)}`);
}

export interface OciError {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Parse the OCI error envelope `{"errors":[{code,message,detail}]}`, failing with the reason it is not one. */
export function parseErrorEnvelope(res: HttpResponse, what?: string): OciError[] {
  const pre = `${what ? what + ': ' : ''}${res.describe()}`;
  const body = res.json();
  if (body === undefined) fail(`${pre}: body is not JSON (Content-Type ${res.header('content-type') ?? 'none'}).${excerpt(res)}`);
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { errors?: unknown }).errors)) {
    fail(`${pre}: body has no "errors" array.${excerpt(res)}`);
  }
  const errors = (body as { errors: unknown[] }).errors;
  if (errors.length === 0) fail(`${pre}: "errors" is empty`);
  for (const e of errors) {
    if (typeof e !== 'object' || e === null) fail(`${pre}: an error entry is not an object`);
    const { code, message } = e as Record<string, unknown>;
    if (typeof code !== 'string' || !/^[A-Z_]+$/.test(code)) fail(`${pre}: error code ${JSON.stringify(code)} is not an uppercase identifier`);
    if (message !== undefined && typeof message !== 'string') fail(`${pre}: error message is not a string`);
  }
  return errors as OciError[];
}

/** Fail unless the status is one of `statuses` and the envelope carries one of `codes`. */
export function expectError(res: HttpResponse, statuses: number | number[], codes: string[], what?: string): string {
  expectStatus(res, statuses, what);
  const errors = parseErrorEnvelope(res, what);
  const found = errors.map((e) => e.code);
  const hit = found.find((c) => codes.includes(c));
  if (!hit) fail(`${what ? what + ': ' : ''}${res.describe()}: error code ${found.join(',')}, expected ${codes.join(' or ')}`);
  return hit;
}

/** Turn any failure inside `fn` into "setup (<what>): <reason>" so it reads as a precondition. */
export async function setup<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new CheckFailure(msg.startsWith('setup') ? msg : `setup (${what}): ${msg}`);
  }
}

/** POST an upload session; returns the absolute upload URL. */
export async function startUpload(ctx: Context, repo = ctx.repo, headers: Record<string, string> = {}): Promise<{ res: HttpResponse; location: string }> {
  const res = await ctx.client.post(ctx.uploadsUrl(repo), { body: Buffer.alloc(0), headers });
  expectStatus(res, 202, 'POST upload session');
  const location = res.location();
  if (location === null) fail(`${res.describe()} has no Location`);
  return { res, location };
}

/** Push a blob monolithically (POST session + PUT ?digest=). */
export async function pushBlob(ctx: Context, blob: BlobFixture, repo = ctx.repo): Promise<HttpResponse> {
  const { location } = await startUpload(ctx, repo);
  const res = await ctx.client.put(location, {
    query: { digest: blob.digest },
    headers: { 'Content-Type': MT.octet },
    body: blob.bytes,
  });
  expectStatus(res, 201, `PUT blob ${blob.label}`);
  return res;
}

/** Push a blob once per run and repository. Only for blobs that no check deletes. */
export function ensureBlob(ctx: Context, blob: BlobFixture, repo = ctx.repo): Promise<void> {
  return ctx.once(`blob:${repo}:${blob.digest}`, async () => {
    await pushBlob(ctx, blob, repo);
  });
}

/** PUT a manifest (no prerequisite pushes); returns the response whatever its status. */
export function putManifest(ctx: Context, m: ManifestFixture, ref: string, repo = ctx.repo, query?: Record<string, string | string[]>): Promise<HttpResponse> {
  return ctx.client.put(ctx.manifestUrl(ref, repo), { headers: { 'Content-Type': m.mediaType }, body: m.bytes, query });
}

/**
 * Push everything a manifest needs (blobs, child manifests by digest), then the manifest
 * itself under `ref` (tag or digest, default its digest). Fails unless the final PUT is 201.
 */
export async function pushManifestTree(ctx: Context, m: ManifestFixture, ref = m.digest, repo = ctx.repo, opts: { sharedBlobs?: boolean } = {}): Promise<HttpResponse> {
  for (const b of m.blobs) {
    if (opts.sharedBlobs === false) await pushBlob(ctx, b, repo);
    else await ensureBlob(ctx, b, repo);
  }
  for (const c of m.children) await pushManifestTree(ctx, c, c.digest, repo, opts);
  const res = await putManifest(ctx, m, ref, repo);
  expectStatus(res, 201, `PUT manifest ${m.label}`);
  return res;
}

/** Push a manifest tree once per run/repo/ref. Only for content that no check deletes. */
export function ensureManifest(ctx: Context, m: ManifestFixture, ref = m.digest, repo = ctx.repo): Promise<void> {
  return ctx.once(`manifest:${repo}:${ref}:${m.digest}`, async () => {
    await pushManifestTree(ctx, m, ref, repo);
  });
}

/** Read every page of a list endpoint that paginates with `Link: <…>; rel="next"`. */
export async function followPages(ctx: Context, first: string, pick: (body: unknown) => string[], maxPages = 200): Promise<{ items: string[]; pages: number }> {
  const items: string[] = [];
  let url: string | null = first;
  let pages = 0;
  while (url !== null && pages < maxPages) {
    const res = await ctx.client.get(url);
    expectStatus(res, 200, `page ${pages + 1}`);
    items.push(...pick(res.json()));
    pages++;
    const next = nextLink(res);
    url = next;
  }
  return { items, pages };
}

/** The target of a `Link: <url>; rel="next"` header (RFC 8288), resolved to an absolute URL. */
export function nextLink(res: HttpResponse): string | null {
  const link = res.header('link');
  if (link === null) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m) continue;
    const rels = (m[2] ?? '')
      .split(';')
      .map((p) => p.trim())
      .filter((p) => /^rel\s*=/i.test(p))
      .flatMap((p) => p.replace(/^rel\s*=\s*/i, '').replace(/^"|"$/g, '').toLowerCase().split(/\s+/));
    if (rels.includes('next')) return new URL(m[1] ?? '', res.url).toString();
  }
  return null;
}

export function tagsOf(body: unknown): string[] {
  const tags = (body as { tags?: unknown } | undefined)?.tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags)) fail(`"tags" is not an array: ${JSON.stringify(tags).slice(0, 80)}`);
  return tags as string[];
}

export function reposOf(body: unknown): string[] {
  const repos = (body as { repositories?: unknown } | undefined)?.repositories;
  if (repos === null || repos === undefined) return [];
  if (!Array.isArray(repos)) fail(`"repositories" is not an array`);
  return repos as string[];
}

/** True when `list` is in lexical order, either by code unit or case-insensitively. */
export function isLexicallySorted(list: string[]): boolean {
  const byCodeUnit = list.every((v, i) => i === 0 || (list[i - 1] as string) < v);
  const ci = list.every((v, i) => {
    if (i === 0) return true;
    const a = (list[i - 1] as string).toLowerCase();
    const b = v.toLowerCase();
    return a < b || (a === b && (list[i - 1] as string) < v);
  });
  return byCodeUnit || ci;
}

/** A digest that no registry has: the digest of bytes unique to this run and label. */
export function unknownDigest(ctx: Context, label: string): string {
  return ctx.fx.blob(`unknown/${label}`, 64).digest;
}
