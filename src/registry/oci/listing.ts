/**
 * @module registry/oci/listing
 * Tag lists, the catalog and referrers: lexically ordered pages (bytewise,
 * on both databases) with an exclusive `last` cursor.
 */
import { RegistryError } from '../../errors/index.js';
import { fromJcs } from '../../manifest/index.js';
import { isMediaTypeName, isRepositoryName, isTag, parseOciDigest } from '../../oci/index.js';
import type { RegistryContext } from '../context.js';

/** One page of names. `more` is true when a next page exists. */
export interface NamePage {
  readonly items: string[];
  readonly more: boolean;
}

/**
 * Tags of `repository` after `last`, at most `n` (all when `n` is undefined).
 * @throws NAME_UNKNOWN when the repository does not exist.
 */
export async function listTags(ctx: RegistryContext, repository: string, n: number | undefined, last: string | undefined): Promise<NamePage> {
  const known = await ctx.db.knex('oci_repositories').where({ name: repository }).first('name');
  if (!known) throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known`);
  const query = ctx.db.knex('oci_tags').where({ repository }).orderBy('tag', 'asc');
  // `last` must be a real tag value (spec); anything else names no position.
  if (last !== undefined && !isTag(last)) throw new RegistryError('TAG_INVALID', `last=${JSON.stringify(String(last).slice(0, 140))} is not a tag`);
  if (last !== undefined) query.andWhere('tag', '>', last);
  return page(await query.limit(limitFor(ctx, n)).pluck('tag'), n);
}

/**
 * Repositories after `last`, at most `n` (default 100, as distribution
 * does), limited to names matching one of `namePatterns` (SQL LIKE, escape
 * `\`) unless it is null.
 */
export async function listRepositories(ctx: RegistryContext, n: number | undefined, last: string | undefined, namePatterns: readonly string[] | null = null): Promise<NamePage> {
  const size = n ?? 100;
  if (namePatterns && namePatterns.length === 0) return { items: [], more: false };
  const query = ctx.db.knex('oci_repositories').orderBy('name', 'asc');
  if (namePatterns) {
    query.where((builder) => {
      for (const pattern of namePatterns) builder.orWhereRaw("name LIKE ? ESCAPE '\\'", [pattern]);
    });
  }
  if (last !== undefined && !isRepositoryName(last)) throw new RegistryError('NAME_INVALID', `last=${JSON.stringify(String(last).slice(0, 300))} is not a repository name`);
  if (last !== undefined) query.andWhere('name', '>', last);
  return page(await query.limit(limitFor(ctx, size)).pluck('name'), size);
}

/** A referrer descriptor, ready for the referrers index. */
export interface ReferrerRow {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType: string | null;
  readonly annotations: Record<string, string> | null;
}

/**
 * Manifests of `repository` whose subject is `digest`, optionally only
 * those of one artifact type. An unknown subject or repository gives none.
 */
export async function listReferrers(ctx: RegistryContext, repository: string, digest: string, artifactType?: string): Promise<ReferrerRow[]> {
  parseOciDigest(digest);
  // No manifest can have an artifact type that is not a media type.
  if (artifactType !== undefined && !isMediaTypeName(artifactType)) return [];
  const query = ctx.db.knex('oci_manifests').where({ repository, subject_digest: digest }).orderBy('digest', 'asc');
  if (artifactType !== undefined) query.andWhere({ artifact_type: artifactType });
  const rows = await query.select('media_type', 'digest', 'size', 'artifact_type', 'annotations');
  return rows.map((row) => ({
    mediaType: row.media_type,
    digest: row.digest,
    size: Number(row.size),
    artifactType: row.artifact_type,
    annotations: row.annotations === null ? null : (fromJcs(row.annotations) as Record<string, string>),
  }));
}

function limitFor(ctx: RegistryContext, n: number | undefined): number {
  if (n !== undefined && n > ctx.oci.pageMax) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be at most ${ctx.oci.pageMax}`);
  }
  // One extra row tells whether another page exists.
  return n === undefined ? ctx.oci.pageMax * 100 : n + 1;
}

function page(rows: string[], n: number | undefined): NamePage {
  if (n === undefined || rows.length <= n) return { items: rows, more: false };
  return { items: rows.slice(0, n), more: true };
}
