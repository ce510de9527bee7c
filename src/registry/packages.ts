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

/** Input of {@link createPackage}. */
export interface CreatePackageInput {
  readonly name: string;
  readonly producer: string;
  readonly subject?: string | null;
  readonly retentionClass: string;
  readonly metadata?: Record<string, unknown>;
}

/** A package as the registry reports it. */
export interface PackageView {
  readonly id: string;
  readonly name: string;
  readonly producer: string;
  readonly subject: string | null;
  readonly retentionClass: string;
  readonly metadata: Record<string, CanonicalValue>;
  readonly status: 'created' | 'finalized';
  readonly manifestDigest: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly finalizedAt: string | null;
  readonly expiresAt: string | null;
  readonly fileCount: number;
  /** Bytes of the package's distinct objects (a content shared by two files counts once). */
  readonly totalSize: number;
  readonly lastEventSequence: number;
}

const MAX_LABEL_LENGTH = 256;

/**
 * Creates a package and applies its retention class default, as two events
 * in one transaction.
 * @throws RegistryError FIELD_INVALID, METADATA_INVALID, RETENTION_CLASS_UNKNOWN.
 */
export async function createPackage(ctx: RegistryContext, input: CreatePackageInput, actor: Actor): Promise<PackageView> {
  const name = label('name', input.name);
  const producer = label('producer', input.producer);
  const subject = input.subject === undefined || input.subject === null ? null : label('subject', input.subject, 512);
  const retentionClass = assertRetentionClass(input.retentionClass);
  const metadata = checkMetadata(input.metadata ?? {});
  const id = newId();
  const at = new Date();
  const retention = retentionDefault(retentionClass, ctx.retentionDurations, at);
  await ctx.journal.transact(async (tx) => {
    await tx.record({
      type: 'v1.package.created',
      subjectId: id,
      actor,
      at,
      payload: { package_id: id, name, producer, subject, retention_class: retentionClass, metadata },
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
  const reader = trx ?? ctx.db.knex;
  if (!isId(id)) throw new RegistryError('PACKAGE_NOT_FOUND', `no package ${JSON.stringify(id)}`);
  const row = await reader('artifact_packages as p')
    .leftJoin('retention_state as r', 'r.package_id', 'p.id')
    .where('p.id', id)
    .first('p.*', 'r.current_expires_at');
  if (!row) throw new RegistryError('PACKAGE_NOT_FOUND', `no package ${id}`);
  const counts = await reader('artifact_files').where('package_id', id).count({ n: '*' }).first();
  const size = await reader
    .sum({ total: 'size' })
    .from(reader('artifact_files').distinct('content_address', 'size').where('package_id', id).as('distinct_objects'))
    .first();
  return {
    id: row.id,
    name: row.name,
    producer: row.producer,
    subject: row.subject,
    retentionClass: row.retention_class,
    metadata: fromJcs(row.metadata) as Record<string, CanonicalValue>,
    status: row.status,
    manifestDigest: row.manifest_digest,
    createdBy: row.created_by,
    createdAt: row.created_at,
    finalizedAt: row.finalized_at,
    expiresAt: row.current_expires_at ?? null,
    fileCount: Number(counts?.n ?? 0),
    totalSize: Number(size?.total ?? 0),
    lastEventSequence: Number(row.last_event_sequence),
  };
}

function label(field: string, value: unknown, max = MAX_LABEL_LENGTH): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.trim() === '' || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new RegistryError('FIELD_INVALID', `${field} must be a non-empty string of at most ${max} characters without control characters`, { field });
  }
  return value;
}

function checkMetadata(metadata: unknown): Record<string, CanonicalValue> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new RegistryError('METADATA_INVALID', 'metadata must be an object');
  }
  try {
    encodeCanonical(metadata as CanonicalValue);
  } catch (error) {
    throw new RegistryError('METADATA_INVALID', `metadata must hold only text, integers, booleans, null, arrays and objects: ${(error as Error).message}`, undefined, { cause: error });
  }
  return metadata as Record<string, CanonicalValue>;
}
