/**
 * @module registry/metadata-schemas
 * Metadata schemas (docs/adr/0018): JSON Schemas (draft 2020-12) registered
 * under a name, for ever, and the checks packages that name one must pass.
 * A schema never changes once registered (a new version is a new name), so
 * its compiled validator is cached per registry and name without expiry.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { RegistryError } from '../errors/index.js';
import { blake3Hex } from '../identity/index.js';
import { canonicalViolations, fromJcs, isPlainObject, toJcs, type CanonicalValue } from '../manifest/index.js';
import type { Transaction } from '../db/index.js';
import type { Actor, RegistryContext } from './context.js';

// ajv-formats is CommonJS; its default export is the plugin function itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Grammar of schema names: lowercase, digits, `.`, `_`, `-`; versions are part of the name (`guide-board.run.v1`). */
export const METADATA_SCHEMA_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** Largest accepted schema, as JCS bytes. */
export const MAX_METADATA_SCHEMA_BYTES = 256 * 1024;

/** A registered schema as the registry reports it. */
export interface MetadataSchemaView {
  readonly name: string;
  readonly schema: Record<string, CanonicalValue>;
  /** `blake3:` of the schema's JCS text. */
  readonly schemaDigest: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly eventSequence: number;
}

/** Outcome of {@link registerMetadataSchema}: the schema, and whether this call registered it. */
export interface RegisterMetadataSchemaResult {
  readonly schema: MetadataSchemaView;
  readonly created: boolean;
}

/** One failure of a value against a schema, or of a schema against the meta-schema. */
export interface SchemaViolation {
  /** JSON pointer into the checked value (ajv's `instancePath`). */
  readonly pointer: string;
  readonly message: string;
}

/** A compiled schema: validates a value and lists every violation. */
export type MetadataValidator = (value: unknown) => SchemaViolation[];

/**
 * Compiles `schema` (JSON Schema 2020-12, self-contained: no `$ref` outside
 * itself) with every error reported (`allErrors`) and the ajv-formats
 * formats. Unknown keywords and formats are refused, so a typo does not
 * silently accept everything.
 * @throws RegistryError METADATA_SCHEMA_INVALID with `extra.violations`.
 */
export function compileMetadataSchema(schema: unknown): MetadataValidator {
  if (!isPlainObject(schema)) {
    throw new RegistryError('METADATA_SCHEMA_INVALID', 'a metadata schema must be a JSON object', { violations: [{ pointer: '', message: 'must be an object' }] });
  }
  const ajv = sharedAjv();
  let validate: ValidateFunction;
  try {
    // Throws, rather than answering false, for a `$schema` other than 2020-12.
    if (!ajv.validateSchema(schema)) {
      const violations = violationsOf(ajv.errors ?? []);
      throw new RegistryError('METADATA_SCHEMA_INVALID', `not a valid JSON Schema 2020-12: ${describe(violations)}`, { violations });
    }
    validate = ajv.compile(schema);
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    const message = (error as Error).message;
    throw new RegistryError('METADATA_SCHEMA_INVALID', `the schema does not compile: ${message}`, { violations: [{ pointer: '', message }] }, { cause: error });
  } finally {
    // The compiled function keeps what it needs; dropping the schema from the
    // instance lets another registry (database) compile a different schema
    // with the same `$id`, and a rejected schema leave nothing behind.
    ajv.removeSchema(schema);
  }
  return (value) => (validate(value) ? [] : violationsOf(validate.errors ?? []));
}

/**
 * Registers `schema` under `name`. Registering the identical schema again
 * returns the existing registration (no event); a different one under a
 * registered name is refused. The check and the event share one
 * transaction, which write transactions take one at a time, so concurrent
 * registrations of one name (two servers starting) record one event.
 * @throws RegistryError FIELD_INVALID (name), METADATA_SCHEMA_INVALID, METADATA_SCHEMA_CONFLICT.
 */
export async function registerMetadataSchema(ctx: RegistryContext, name: string, schema: unknown, actor: Actor): Promise<RegisterMetadataSchemaResult> {
  assertSchemaName(name);
  const canonical = canonicalSchema(schema);
  const validator = compileMetadataSchema(canonical.value);
  const result = await ctx.journal.transact(async (tx): Promise<RegisterMetadataSchemaResult> => {
    const existing = await readSchema(tx.trx, name);
    if (existing) {
      if (existing.schemaDigest !== canonical.digest) {
        throw new RegistryError('METADATA_SCHEMA_CONFLICT', `${name} is registered with a different schema (${existing.schemaDigest}, not ${canonical.digest}); schemas never change: register the new version under a new name`, { name });
      }
      return { schema: existing, created: false };
    }
    await tx.record({ type: 'v1.metadata_schema.registered', subjectId: name, actor, payload: { name, schema: canonical.value } });
    const recorded = await readSchema(tx.trx, name);
    if (!recorded) throw new RegistryError('INTERNAL', `metadata schema ${name} was recorded but is not in the view`);
    return { schema: recorded, created: true };
  });
  if (result.created) cacheOf(ctx).set(name, validator);
  return result;
}

/**
 * Reads one registered schema.
 * @throws RegistryError METADATA_SCHEMA_NOT_FOUND.
 */
export async function getMetadataSchema(ctx: RegistryContext, name: string): Promise<MetadataSchemaView> {
  const found = METADATA_SCHEMA_NAME.test(name) ? await readSchema(ctx.db.knex, name) : null;
  if (!found) throw new RegistryError('METADATA_SCHEMA_NOT_FOUND', `no metadata schema ${JSON.stringify(name)}`);
  return found;
}

/** Every registered schema, by name (bytewise). */
export async function listMetadataSchemas(ctx: RegistryContext): Promise<MetadataSchemaView[]> {
  const rows = (await ctx.db.knex('metadata_schemas').select('*').orderBy('name', 'asc')) as SchemaRow[];
  return rows.map(viewOf);
}

/**
 * Checks `metadata` against the registered schema `name`.
 * @throws RegistryError METADATA_SCHEMA_UNKNOWN when no such schema is
 *   registered; METADATA_SCHEMA_VIOLATION with `extra.violations` (every
 *   failure, with its JSON pointer) when the metadata does not conform.
 */
export async function assertMetadataConforms(ctx: RegistryContext, name: string, metadata: unknown, reader?: Transaction): Promise<void> {
  const validator = await validatorFor(ctx, name, reader);
  const violations = validator(metadata);
  if (violations.length > 0) {
    throw new RegistryError('METADATA_SCHEMA_VIOLATION', `metadata does not conform to ${name}: ${describe(violations)}`, { schema: name, violations });
  }
}

/** @throws RegistryError FIELD_INVALID unless `name` follows {@link METADATA_SCHEMA_NAME}. */
export function assertSchemaName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !METADATA_SCHEMA_NAME.test(name)) {
    throw new RegistryError('FIELD_INVALID', `${field} must match ${METADATA_SCHEMA_NAME.source} (lowercase letters, digits, ".", "_" and "-"; at most 128 characters)`, {
      field,
      violations: [{ pointer: `/${field}`, message: `must match ${METADATA_SCHEMA_NAME.source}` }],
    });
  }
}

// ---------------------------------------------------------------- internals

interface SchemaRow {
  name: string;
  schema: string;
  schema_digest: string;
  created_by: string;
  created_at: string;
  event_sequence: number | string;
}

type Reader = RegistryContext['db']['knex'] | Transaction;

const caches = new WeakMap<RegistryContext, Map<string, MetadataValidator>>();

let ajvInstance: Ajv2020 | undefined;

/**
 * One ajv per process: building one and compiling its meta-schemas costs
 * several times compiling a schema, so it is done once (measured in
 * docs/adr/0018). Compiling is synchronous, so users never interleave.
 */
function sharedAjv(): Ajv2020 {
  if (!ajvInstance) {
    ajvInstance = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false, strictRequired: false });
    addFormats(ajvInstance);
  }
  return ajvInstance;
}

/** Validators of one registry (one database): names mean one schema each there, for ever. */
function cacheOf(ctx: RegistryContext): Map<string, MetadataValidator> {
  let cache = caches.get(ctx);
  if (!cache) caches.set(ctx, (cache = new Map()));
  return cache;
}

async function validatorFor(ctx: RegistryContext, name: string, reader?: Transaction): Promise<MetadataValidator> {
  const cache = cacheOf(ctx);
  const cached = cache.get(name);
  if (cached) return cached;
  const row = METADATA_SCHEMA_NAME.test(name) ? await readSchema(reader ?? ctx.db.knex, name) : null;
  if (!row) throw new RegistryError('METADATA_SCHEMA_UNKNOWN', `no metadata schema ${JSON.stringify(name)} is registered (see GET /metadata-schemas)`, { schema: name });
  const validator = compileMetadataSchema(row.schema);
  cache.set(name, validator);
  return validator;
}

async function readSchema(reader: Reader, name: string): Promise<MetadataSchemaView | null> {
  const row = (await reader('metadata_schemas').where({ name }).first()) as SchemaRow | undefined;
  return row ? viewOf(row) : null;
}

function viewOf(row: SchemaRow): MetadataSchemaView {
  return {
    name: row.name,
    schema: fromJcs(row.schema) as Record<string, CanonicalValue>,
    schemaDigest: row.schema_digest,
    createdBy: row.created_by,
    createdAt: row.created_at,
    eventSequence: Number(row.event_sequence),
  };
}

/**
 * The schema as a canonical value with the digest of its JCS text. Event
 * payloads are canonical CBOR, which has no floats: a schema must spell its
 * numbers as integers (metadata holds only integers anyway).
 */
function canonicalSchema(schema: unknown): { value: Record<string, CanonicalValue>; digest: string } {
  if (!isPlainObject(schema)) {
    throw new RegistryError('METADATA_SCHEMA_INVALID', 'a metadata schema must be a JSON object', { violations: [{ pointer: '', message: 'must be an object' }] });
  }
  const violations = canonicalViolations(schema, { limit: 20 }).map((violation) => ({ pointer: violation.pointer, message: violation.message }));
  if (violations.length > 0) {
    throw new RegistryError('METADATA_SCHEMA_INVALID', `a metadata schema may hold only text, integers, booleans, null, arrays and objects: ${describe(violations)}`, { violations });
  }
  const text = toJcs(schema as CanonicalValue);
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength > MAX_METADATA_SCHEMA_BYTES) {
    throw new RegistryError('METADATA_SCHEMA_INVALID', `the schema is ${bytes.byteLength} bytes as JCS; the limit is ${MAX_METADATA_SCHEMA_BYTES}`, { violations: [{ pointer: '', message: 'too large' }] });
  }
  return { value: schema as Record<string, CanonicalValue>, digest: `blake3:${blake3Hex(bytes)}` };
}

function violationsOf(errors: readonly ErrorObject[]): SchemaViolation[] {
  return errors.map((error) => ({ pointer: error.instancePath, message: error.message ?? error.keyword }));
}

function describe(violations: readonly SchemaViolation[]): string {
  const shown = violations.slice(0, 10).map((violation) => `${violation.pointer || '(root)'} ${violation.message}`).join('; ');
  return violations.length > 10 ? `${shown}; … ${violations.length - 10} more` : shown;
}
