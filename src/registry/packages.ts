/**
 * @module registry/packages
 * Creating and reading packages.
 */
import { RegistryError } from '../errors/index.js';
import { encodeCanonical, fromJcs, type CanonicalValue } from '../manifest/index.js';
import { assertRetentionClass, retentionDefault } from '../retention/index.js';
import type { Transaction } from '../db/index.js';
import type { Actor, RegistryContext } from './context.js';
import { isId, newId } from './ids.js';
import { assertMetadataConforms, assertSchemaName } from './metadata-schemas.js';

/** Input of {@link createPackage}. */
export interface CreatePackageInput {
  readonly name: string;
  readonly producer: string;
  readonly subject?: string | null;
  readonly retentionClass: string;
  readonly metadata?: Record<string, unknown>;
  /** A registered metadata schema the metadata must conform to (now and at finalize). */
  readonly metadataSchema?: string | null;
}

/** A package as the registry reports it. */
export interface PackageView {
  readonly id: string;
  readonly name: string;
  readonly producer: string;
  readonly subject: string | null;
  readonly retentionClass: string;
  readonly metadata: Record<string, CanonicalValue>;
  /** The metadata schema the package named at creation, or null. */
  readonly metadataSchema: string | null;
  readonly status: 'created' | 'finalized' | 'deleted';
  readonly deletedAt: string | null;
  readonly manifestDigest: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly finalizedAt: string | null;
  readonly expiresAt: string | null;
  readonly fileCount: number;
  /** Bytes of the package's distinct objects (a content shared by two files counts once). */
  readonly totalSize: number;
  /** Sum of the file sizes, each file counted (a content stored twice in the package counts twice). */
  readonly logicalSize: number;
  /** Bytes of the distinct objects behind the files: the same as {@link totalSize}, named as in accounting. */
  readonly storedSize: number;
  readonly lastEventSequence: number;
}

const MAX_LABEL_LENGTH = 256;

/**
 * Creates a package and applies its retention class default, as two events
 * in one transaction.
 * @throws RegistryError FIELD_INVALID, METADATA_INVALID, RETENTION_CLASS_UNKNOWN,
 *   METADATA_SCHEMA_UNKNOWN, METADATA_SCHEMA_VIOLATION.
 */
export async function createPackage(ctx: RegistryContext, input: CreatePackageInput, actor: Actor): Promise<PackageView> {
  const name = label('name', input.name);
  const producer = label('producer', input.producer);
  const subject = input.subject === undefined || input.subject === null ? null : label('subject', input.subject, 512);
  const retentionClass = assertRetentionClass(input.retentionClass);
  const metadata = checkMetadata(input.metadata ?? {});
  const metadataSchema = input.metadataSchema ?? null;
  if (metadataSchema !== null) {
    assertSchemaName(metadataSchema, 'metadata_schema');
    // Schemas never change once registered, so checking before the transaction is as good as inside it.
    await assertMetadataConforms(ctx, metadataSchema, metadata);
  }
  const id = newId();
  const at = new Date();
  const retention = retentionDefault(retentionClass, ctx.retentionDurations, at);
  await ctx.journal.transact(async (tx) => {
    await tx.record({
      type: 'v1.package.created',
      subjectId: id,
      actor,
      at,
      payload: { package_id: id, name, producer, subject, retention_class: retentionClass, metadata, ...(metadataSchema !== null ? { metadata_schema: metadataSchema } : {}) },
    });
    await tx.record({
      type: 'v1.retention.default_applied',
      subjectId: id,
      actor,
      at,
      payload: {
        package_id: id,
        retention_class: retentionClass,
        duration_seconds: retention.durationSeconds,
        expires_at: retention.expiresAt,
      },
    });
  });
  return getPackage(ctx, id);
}

/**
 * Reads one package with its file count, deduplicated size and expiry.
 * @throws RegistryError PACKAGE_NOT_FOUND.
 */
export async function getPackage(ctx: RegistryContext, id: string, trx?: Transaction): Promise<PackageView> {
  const [pkg] = isId(id) ? await loadPackages(trx ?? ctx.db.knex, [id]) : [];
  if (!pkg) throw new RegistryError('PACKAGE_NOT_FOUND', `no package ${JSON.stringify(id)}`);
  return pkg;
}

/** Loads packages by id with three queries whatever their number, in the order of `ids` (missing ones dropped). */
async function loadPackages(reader: RegistryContext['db']['knex'] | Transaction, ids: readonly string[]): Promise<PackageView[]> {
  if (ids.length === 0) return [];
  const rows = await reader('artifact_packages as p')
    .leftJoin('retention_state as r', 'r.package_id', 'p.id')
    .whereIn('p.id', ids)
    .select('p.*', 'r.current_expires_at');
  const counts = new Map<string, number>();
  const countRows = (await reader('artifact_files').whereIn('package_id', ids).groupBy('package_id').select('package_id').count({ n: '*' })) as Array<Record<string, unknown>>;
  for (const row of countRows) counts.set(row.package_id as string, Number(row.n));
  const sizes = new Map<string, number>();
  const distinct = reader('artifact_files').distinct('package_id', 'content_address', 'size').whereIn('package_id', ids).as('d');
  const sizeRows = (await reader.from(distinct).groupBy('package_id').select('package_id').sum({ total: 'size' })) as Array<Record<string, unknown>>;
  for (const row of sizeRows) sizes.set(row.package_id as string, Number(row.total));
  const logical = new Map<string, number>();
  const logicalRows = (await reader('artifact_files').whereIn('package_id', ids).groupBy('package_id').select('package_id').sum({ total: 'size' })) as Array<Record<string, unknown>>;
  for (const row of logicalRows) logical.set(row.package_id as string, Number(row.total));
  const byId = new Map(rows.map((row) => [row.id as string, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    return [{
      id: row.id,
      name: row.name,
      producer: row.producer,
      subject: row.subject,
      retentionClass: row.retention_class,
      metadata: fromJcs(row.metadata) as Record<string, CanonicalValue>,
      metadataSchema: row.metadata_schema ?? null,
      status: row.status,
      manifestDigest: row.manifest_digest,
      createdBy: row.created_by,
      createdAt: row.created_at,
      finalizedAt: row.finalized_at,
      deletedAt: row.deleted_at ?? null,
      expiresAt: row.current_expires_at ?? null,
      fileCount: counts.get(id) ?? 0,
      totalSize: sizes.get(id) ?? 0,
      logicalSize: logical.get(id) ?? 0,
      storedSize: sizes.get(id) ?? 0,
      lastEventSequence: Number(row.last_event_sequence),
    } satisfies PackageView];
  });
}

function label(field: string, value: unknown, max = MAX_LABEL_LENGTH): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.trim() === '' || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new RegistryError('FIELD_INVALID', `${field} must be a non-empty string of at most ${max} characters without control characters`, { field });
  }
  return value;
}

/** Largest accepted metadata, as canonical CBOR bytes. */
export const MAX_METADATA_BYTES = 64 * 1024;
/** Longest accepted top-level metadata key. */
export const MAX_METADATA_KEY_LENGTH = 256;

function checkMetadata(metadata: unknown): Record<string, CanonicalValue> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new RegistryError('METADATA_INVALID', 'metadata must be an object');
  }
  let encoded: Uint8Array;
  try {
    encoded = encodeCanonical(metadata as CanonicalValue);
  } catch (error) {
    throw new RegistryError('METADATA_INVALID', `metadata must hold only text, integers, booleans, null, arrays and objects: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (encoded.byteLength > MAX_METADATA_BYTES) {
    throw new RegistryError('METADATA_INVALID', `metadata is ${encoded.byteLength} bytes as canonical CBOR; the limit is ${MAX_METADATA_BYTES}`);
  }
  for (const key of Object.keys(metadata)) {
    if (key.length === 0 || key.length > MAX_METADATA_KEY_LENGTH) {
      throw new RegistryError('METADATA_INVALID', `metadata keys must be 1 to ${MAX_METADATA_KEY_LENGTH} characters; ${JSON.stringify(key.slice(0, 40))} is ${key.length}`);
    }
  }
  return metadata as Record<string, CanonicalValue>;
}

/** What {@link listPackages} filters on; every given field must match. */
export interface PackageFilter {
  readonly producer?: string;
  readonly subject?: string;
  readonly retentionClass?: string;
  readonly status?: string;
  /** Top-level metadata keys and the text of their values (see metadataValueText). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Only names matching one of these SQL LIKE patterns (escape `\`); null or absent: every name. */
  readonly namePatterns?: readonly string[] | null;
}

/** One page of packages in creation order; `nextCursor` is null on the last page. */
export interface PackagePage {
  readonly items: PackageView[];
  readonly nextCursor: string | null;
}

/**
 * Packages matching `filter` in creation order (ids are UUIDv7), after the
 * opaque `cursor`, at most `limit`.
 * @throws RegistryError FIELD_INVALID for a malformed cursor or limit.
 */
export async function listPackages(ctx: RegistryContext, filter: PackageFilter, page: { limit: number; cursor?: string }): Promise<PackagePage> {
  if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > 1000) {
    throw new RegistryError('FIELD_INVALID', 'limit must be an integer from 1 to 1000', { field: 'limit' });
  }
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  const knex = ctx.db.knex;
  const metadataFilters = Object.entries(filter.metadata ?? {});
  // With a metadata filter, order by the first join's package_id (equal to
  // the package id): then the database walks its (key, value, package_id)
  // index in order and stops after one page. Ordered by the packages' own id,
  // SQLite sorts every match first (measured on 70,000 of 100,000: 28 ms → 0.1 ms).
  const order = metadataFilters.length > 0 ? 'm0.package_id' : 'artifact_packages.id';
  const query = knex('artifact_packages').select('artifact_packages.id').orderBy(order, 'asc').limit(page.limit + 1);
  if (after !== undefined) query.where(order, '>', after);
  if (filter.producer !== undefined) query.where('artifact_packages.producer', filter.producer);
  if (filter.subject !== undefined) query.where('artifact_packages.subject', filter.subject);
  if (filter.retentionClass !== undefined) query.where('artifact_packages.retention_class', filter.retentionClass);
  if (filter.status !== undefined) query.where('artifact_packages.status', filter.status);
  if (filter.namePatterns) {
    const patterns = filter.namePatterns;
    if (patterns.length === 0) return { items: [], nextCursor: null };
    query.where((builder) => {
      for (const pattern of patterns) builder.orWhereRaw("artifact_packages.name LIKE ? ESCAPE '\\'", [pattern]);
    });
  }
  // Each metadata filter is a join on its (key, value, package_id) index, so
  // the page is found by walking the index in id order, not by building the
  // list of every matching id first.
  metadataFilters.forEach(([key, value], index) => {
    const alias = `m${index}`;
    query.join(`artifact_package_metadata as ${alias}`, (on) => {
      on.on(`${alias}.package_id`, '=', 'artifact_packages.id').andOnVal(`${alias}.key`, '=', key).andOnVal(`${alias}.value`, '=', value);
    });
  });
  const ids = (await query).map((row: { id: string }) => row.id);
  const more = ids.length > page.limit;
  const pageIds = more ? ids.slice(0, page.limit) : ids;
  const items = await loadPackages(knex, pageIds);
  return { items, nextCursor: more ? encodeCursor(pageIds[pageIds.length - 1]!) : null };
}

function encodeCursor(id: string): string {
  return Buffer.from(`p1:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith('p1:') ? text.slice(3) : '';
  if (!isId(id)) throw new RegistryError('FIELD_INVALID', 'cursor is not one this server issued', { field: 'cursor' });
  return id;
}
