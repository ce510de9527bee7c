/**
 * @module registry/accounting
 * How many bytes things take. Every content is stored once (ADR 0001), so
 * two figures matter: the logical size (what the files or images add up to
 * if each counted on its own) and the stored size (the distinct objects
 * behind them, each counted once). Storage usage adds what the backend
 * really holds, found by listing it, and what nothing references any more
 * (bytes awaiting garbage collection, by GC's own definition of a reference).
 */
import { RegistryError } from '../errors/index.js';
import { isRepositoryName } from '../oci/index.js';
import type { RegistryContext } from './context.js';
import { UNREFERENCED_SQL } from './gc.js';

/** A count of objects and their bytes. */
export interface ObjectFigures {
  readonly objects: number;
  readonly bytes: number;
}

/** What an OCI repository holds and takes. */
export interface RepositoryUsage {
  readonly repository: string;
  readonly manifests: number;
  readonly tags: number;
  /** Blob links (configs, layers and blobs pushed on their own). */
  readonly blobs: number;
  /** Every manifest's own bytes plus the config and layers it lists, as if each manifest were pulled on its own. */
  readonly logicalSize: number;
  /** Distinct objects behind the repository's blob links and manifests. */
  readonly stored: ObjectFigures;
}

/** What one producer's packages hold and take (deleted packages hold nothing). */
export interface ProducerUsage {
  readonly producer: string;
  readonly packages: number;
  readonly files: number;
  /** Sum of the file sizes. */
  readonly logicalSize: number;
  /** Distinct objects behind the files. */
  readonly stored: ObjectFigures;
}

/** The storage usage report (`artifactstore storage usage`). */
export interface StorageUsage {
  readonly producers: ProducerUsage[];
  readonly repositories: RepositoryUsage[];
  readonly totals: {
    /** Distinct objects something references (packages, OCI, upload sessions), each once. */
    readonly referenced: ObjectFigures;
    /** What the serving backend and the cold tier (if any) hold, by listing them; `id` names them joined by `+`. */
    readonly backend: ObjectFigures & { readonly id: string };
    /** Objects in the backend nothing references: bytes awaiting garbage collection. */
    readonly unreferenced: ObjectFigures;
    /** Referenced objects the backend does not list (0 unless something is wrong; `verify --objects` says more). */
    readonly missing: ObjectFigures;
  };
}

type Row = Record<string, unknown>;
const n = (value: unknown): number => Number(value ?? 0);

/** Usage of every OCI repository, by name, or only of `only`. */
async function repositoryUsages(ctx: RegistryContext, only?: string): Promise<RepositoryUsage[]> {
  const knex = ctx.db.knex;
  const scoped = <T extends { where: (column: string, value: string) => T }>(query: T, column = 'repository'): T => (only === undefined ? query : query.where(column, only));
  const names = (await scoped(knex('oci_repositories').orderBy('name'), 'name').pluck('name')) as string[];
  const count = async (table: string): Promise<Map<string, number>> => {
    const rows = (await scoped(knex(table).groupBy('repository').select('repository').count({ n: '*' }))) as Row[];
    return new Map(rows.map((row) => [row.repository as string, n(row.n)]));
  };
  const manifests = await count('oci_manifests');
  const tags = await count('oci_tags');
  const blobs = await count('oci_blob_links');
  const manifestBytes = new Map(((await scoped(knex('oci_manifests').groupBy('repository').select('repository').sum({ total: 'size' }))) as Row[])
    .map((row) => [row.repository as string, n(row.total)]));
  const referencedBytes = new Map(((await scoped(knex('oci_manifest_references as r')
    .join('oci_blob_links as l', function () {
      this.on('l.repository', 'r.repository').andOn('l.digest', 'r.digest');
    })
    .whereIn('r.kind', ['config', 'layer'])
    .groupBy('r.repository')
    .select('r.repository as repository')
    .sum({ total: 'l.size' }), 'r.repository')) as Row[]).map((row) => [row.repository as string, n(row.total)]));
  // UNION (not UNION ALL) leaves each (repository, object) once, whether it is linked, a manifest, or both.
  const distinct = knex.union([
    scoped(knex('oci_blob_links').select('repository', 'content_address', 'size')),
    scoped(knex('oci_manifests').select('repository', 'content_address', 'size')),
  ]).as('u');
  const stored = new Map(((await knex.from(distinct).groupBy('repository').select('repository').count({ objects: '*' }).sum({ bytes: 'size' })) as Row[])
    .map((row) => [row.repository as string, { objects: n(row.objects), bytes: n(row.bytes) }]));
  return names.map((repository) => ({
    repository,
    manifests: manifests.get(repository) ?? 0,
    tags: tags.get(repository) ?? 0,
    blobs: blobs.get(repository) ?? 0,
    logicalSize: (manifestBytes.get(repository) ?? 0) + (referencedBytes.get(repository) ?? 0),
    stored: stored.get(repository) ?? { objects: 0, bytes: 0 },
  }));
}

/**
 * What an OCI repository holds: manifests, tags, blobs, logical and
 * deduplicated stored size. @throws NAME_INVALID, NAME_UNKNOWN.
 */
export async function repositoryUsage(ctx: RegistryContext, repository: string): Promise<RepositoryUsage> {
  if (!isRepositoryName(repository)) throw new RegistryError('NAME_INVALID', `${JSON.stringify(String(repository).slice(0, 300))} is not a repository name`);
  const [usage] = await repositoryUsages(ctx, repository);
  if (!usage) throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known`);
  return usage;
}

async function producerUsages(ctx: RegistryContext): Promise<ProducerUsage[]> {
  const knex = ctx.db.knex;
  const packages = (await knex('artifact_packages').whereNot('status', 'deleted').groupBy('producer').select('producer').count({ n: '*' })) as Row[];
  const files = new Map(((await knex('artifact_files as f').join('artifact_packages as p', 'p.id', 'f.package_id')
    .groupBy('p.producer').select('p.producer as producer').count({ n: '*' }).sum({ total: 'f.size' })) as Row[])
    .map((row) => [row.producer as string, { files: n(row.n), logical: n(row.total) }]));
  const distinct = knex('artifact_files as f').join('artifact_packages as p', 'p.id', 'f.package_id').distinct('p.producer as producer', 'f.content_address', 'f.size').as('d');
  const stored = new Map(((await knex.from(distinct).groupBy('producer').select('producer').count({ objects: '*' }).sum({ bytes: 'size' })) as Row[])
    .map((row) => [row.producer as string, { objects: n(row.objects), bytes: n(row.bytes) }]));
  return packages
    .map((row) => row.producer as string)
    .sort()
    .map((producer) => ({
      producer,
      packages: n(packages.find((row) => row.producer === producer)?.n),
      files: files.get(producer)?.files ?? 0,
      logicalSize: files.get(producer)?.logical ?? 0,
      stored: stored.get(producer) ?? { objects: 0, bytes: 0 },
    }));
}

/**
 * Usage per producer and per OCI repository, and totals checked against
 * the backend: every object it lists is either referenced or awaiting GC.
 * Sizes of listed objects come from the verified `objects` rows; objects
 * the database does not know are asked of the backend one by one.
 */
export async function storageUsage(ctx: RegistryContext): Promise<StorageUsage> {
  const knex = ctx.db.knex;
  const producers = await producerUsages(ctx);
  const repositories = await repositoryUsages(ctx);
  const known = new Map<string, { size: number; referenced: boolean }>();
  const rows = (await knex('objects as o').select('o.content_address', 'o.size', knex.raw(`CASE WHEN ${UNREFERENCED_SQL} THEN 0 ELSE 1 END AS referenced`))) as Row[];
  for (const row of rows) known.set(row.content_address as string, { size: n(row.size), referenced: n(row.referenced) === 1 });
  const backend = { objects: 0, bytes: 0 };
  const unreferenced = { objects: 0, bytes: 0 };
  const listed = new Set<string>();
  // Objects moved to a cold tier are held there, not by the serving backend;
  // one caught between the two by a move counts once.
  const planes = ctx.coldTier ? [ctx.coldTier.hot, ctx.coldTier.cold] : [ctx.dataPlane];
  for (const plane of planes) {
    for await (const address of plane.listObjects()) {
      if (listed.has(address)) continue;
      listed.add(address);
      const record = known.get(address);
      const size = record ? record.size : (await plane.statObject(address))?.size;
      if (size === undefined) continue; // removed between the listing and the stat
      backend.objects += 1;
      backend.bytes += size;
      if (!record?.referenced) {
        unreferenced.objects += 1;
        unreferenced.bytes += size;
      }
    }
  }
  const referenced = { objects: 0, bytes: 0 };
  const missing = { objects: 0, bytes: 0 };
  for (const [address, record] of known) {
    if (!record.referenced) continue;
    referenced.objects += 1;
    referenced.bytes += record.size;
    if (!listed.has(address)) {
      missing.objects += 1;
      missing.bytes += record.size;
    }
  }
  const id = planes.map((plane) => plane.backendId).join('+');
  return { producers, repositories, totals: { referenced, backend: { id, ...backend }, unreferenced, missing } };
}
