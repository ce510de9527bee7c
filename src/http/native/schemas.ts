/**
 * @module http/native/schemas
 * The zod schemas of the native API: every request body, query and path
 * parameter set, and every response object. They are the single source of
 * both request validation ({@link ./validate.js}) and the OpenAPI document
 * ({@link ./openapi.js}); render functions are typed against the response
 * schemas so a renamed field fails to compile.
 */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

/** Largest JSON request body accepted (package metadata included). */
export const JSON_BODY_LIMIT_BYTES = 1024 * 1024;
/** Default and largest page size of listings. */
export const PAGE_DEFAULT = 100;
export const PAGE_MAX = 1000;
/** Longest `wait` of an events long poll, in seconds. */
export const EVENTS_WAIT_MAX_SECONDS = 60;

const BLAKE3_PATTERN = /^blake3:[0-9a-f]{64}$/;
const SHA256_PATTERN = /^sha256:[0-9a-f]{64}$/;
const CONTENT_ADDRESS_PATTERN = /^(?:blake3|sha256):[0-9a-f]{64}$/;

// ---------------------------------------------------------------- building blocks

const id = (description: string) => z.string().openapi({ description, example: '0190c0de-7b1a-7c3e-8f00-5a1b2c3d4e5f' });
const timestamp = (description: string) => z.iso.datetime().openapi({ description, example: '2025-01-31T12:00:00.000Z' });
const blake3 = z.string().regex(BLAKE3_PATTERN).openapi({ description: 'BLAKE3 content address', example: `blake3:${'ab'.repeat(32)}` });
const sha256 = z.string().regex(SHA256_PATTERN).openapi({ description: 'SHA-256 digest', example: `sha256:${'cd'.repeat(32)}` });
const count = (description: string) => z.number().int().min(0).openapi({ description });
const metadata = z.record(z.string(), z.unknown()).openapi({ description: 'Free-form JSON object (text, integers, booleans, null, arrays, objects)', example: { branch: 'main' } });
/** A query parameter holding a non-negative integer. */
const queryInteger = (min: number, max: number | undefined, fallback: number, description: string) => {
  const base = z.coerce.number().int().min(min);
  return (max === undefined ? base : base.max(max)).default(fallback).openapi({ description });
};

// ---------------------------------------------------------------- responses

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'https://artifactstore.dev/problems/package-not-found' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string().openapi({ description: 'Stable registry error code', example: 'PACKAGE_NOT_FOUND' }),
    violations: z
      .array(z.strictObject({ pointer: z.string().openapi({ description: 'JSON pointer into the body, query or parameters' }), message: z.string() }))
      .optional()
      .openapi({ description: 'Every validation failure (FIELD_INVALID)' }),
    size: z.number().int().optional().openapi({ description: 'Object size (RANGE_NOT_SATISFIABLE) or current upload offset (UPLOAD_OFFSET_MISMATCH)' }),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: 'RFC 7807 problem document' });

export const PackageSchema = z
  .strictObject({
    id: id('Package id (UUIDv7)'),
    name: z.string(),
    producer: z.string(),
    subject: z.string().nullable(),
    retention_class: z.string(),
    metadata,
    metadata_schema: z.string().nullable().openapi({ description: 'The metadata schema the metadata conforms to (checked at creation and finalize), or null', example: 'guide-board.run.v1' }),
    status: z.enum(['created', 'finalized', 'deleted']),
    manifest_digest: blake3.nullable(),
    created_by: z.string(),
    created_at: timestamp('Creation time'),
    finalized_at: timestamp('Finalization time').nullable(),
    deleted_at: timestamp('Deletion time (status deleted)').nullable(),
    expires_at: timestamp('Current retention expiry').nullable(),
    file_count: count('Number of files'),
    total_size: count('Bytes of the distinct objects of the package'),
    logical_size: count('Sum of the file sizes, each file counted (identical files count each time)'),
    stored_size: count('Bytes of the distinct objects behind the files, each stored once (equals total_size)'),
    last_event_sequence: count('Sequence of the last event about this package'),
  })
  .openapi('Package');

export const FileSchema = z
  .strictObject({
    id: id('File id (UUIDv7)'),
    package_id: id('Package id'),
    relative_path: z.string().openapi({ example: 'reports/a.html' }),
    media_type: z.string().openapi({ example: 'text/html' }),
    size: count('Bytes'),
    content_address: blake3,
    digest_sha256: sha256,
    digests: z.strictObject({ blake3, sha256 }),
    created_at: timestamp('Ingestion time'),
  })
  .openapi('File');

export const UploadSchema = z
  .strictObject({
    id: id('Upload session id'),
    package_id: id('Package id'),
    relative_path: z.string(),
    media_type: z.string(),
    offset: count('Bytes received so far'),
    size: count('Declared total size').nullable(),
    blake3: blake3.nullable(),
    sha256: sha256.nullable(),
    created_at: timestamp('Session start'),
    expires_at: timestamp('When an idle session is purged'),
    location: z.string().openapi({ example: '/uploads/0190c0de-7b1a-7c3e-8f00-5a1b2c3d4e5f' }),
  })
  .openapi('UploadSession');

export const EventSchema = z
  .strictObject({
    sequence: z.number().int().min(1),
    created_at: timestamp('Commit time'),
    event_type: z.string().openapi({ example: 'v1.file.ingested' }),
    subject_kind: z.string().openapi({ example: 'file' }),
    subject_id: z.string(),
    actor: z.string(),
    payload: z.unknown().openapi({ description: 'JSON projection of the canonical CBOR payload' }),
    payload_cbor: z.base64().openapi({ description: 'Base64 of the canonical CBOR payload' }),
    payload_digest: blake3,
  })
  .openapi('Event');

export const PackageListSchema = z
  .strictObject({ items: z.array(PackageSchema), next_cursor: z.string().nullable() })
  .openapi('PackageList');
export const FileListSchema = z.strictObject({ items: z.array(FileSchema) }).openapi('FileList');
export const FilesCreatedSchema = z.strictObject({ files: z.array(FileSchema) }).openapi('FilesCreated');
export const FinalizedSchema = z.strictObject({ package_id: id('Package id'), manifest_digest: blake3 }).openapi('Finalized');
export const EventPageSchema = z
  .strictObject({ events: z.array(EventSchema), next_since: z.number().int().min(0).openapi({ description: 'Pass as `since` to continue' }) })
  .openapi('EventPage');

export type PackageBody = z.infer<typeof PackageSchema>;
export type FileBody = z.infer<typeof FileSchema>;
export type UploadBody = z.infer<typeof UploadSchema>;

// ---------------------------------------------------------------- requests

export const CreatePackageRequest = z
  .strictObject({
    name: z.string().min(1).max(256),
    producer: z.string().min(1).max(256),
    subject: z.string().min(1).max(512).nullable().optional(),
    retention_class: z.string().min(1).openapi({ example: 'raw-evidence' }),
    metadata: metadata.optional(),
    metadata_schema: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/)
      .nullable()
      .optional()
      .openapi({ description: 'A registered metadata schema; the metadata must conform to it (422 METADATA_SCHEMA_VIOLATION lists every violation)', example: 'guide-board.run.v1' }),
  })
  .openapi('CreatePackage');

export const StartUploadRequest = z
  .strictObject({
    relative_path: z.string().min(1),
    media_type: z.string().min(1),
    size: z.number().int().min(0).optional().openapi({ description: 'Total size; chunks past it are refused' }),
    blake3: blake3.optional().openapi({ description: 'Expected BLAKE3, checked on complete' }),
    sha256: sha256.optional().openapi({ description: 'Expected SHA-256, checked on complete' }),
  })
  .openapi('StartUpload');

/** Body of `POST /uploads/{uid}/complete`: nothing, or an empty object. */
export const CompleteUploadRequest = z.strictObject({}).optional().openapi('CompleteUpload');

export const PackageListQuery = z.strictObject({
  producer: z.string().optional().openapi({ description: 'Exact producer' }),
  subject: z.string().optional().openapi({ description: 'Exact subject' }),
  retention_class: z.string().optional().openapi({ description: 'Exact retention class' }),
  status: z.enum(['created', 'finalized', 'deleted']).optional(),
  limit: queryInteger(1, PAGE_MAX, PAGE_DEFAULT, `Page size (1–${PAGE_MAX})`),
  cursor: z.string().optional().openapi({ description: 'Opaque cursor from `next_cursor`' }),
});
/** Prefix of `metadata.<key>=<value>` filters of the package listing. */
export const METADATA_FILTER_PREFIX = 'metadata.';

const eventFilters = {
  event_type: z.string().min(1).optional().openapi({ description: 'Exact event type, or a prefix when it ends with `.`', example: 'v1.file.' }),
  subject_kind: z.string().min(1).optional().openapi({ example: 'package' }),
  subject_id: z.string().min(1).optional(),
};

export const EventListQuery = z.strictObject({
  since: queryInteger(0, undefined, 0, 'Return events after this sequence'),
  limit: queryInteger(1, PAGE_MAX, PAGE_DEFAULT, `Most events to return (1–${PAGE_MAX})`),
  wait: z.coerce
    .number()
    .min(0)
    .max(EVENTS_WAIT_MAX_SECONDS)
    .default(0)
    .openapi({ description: `Seconds to wait for a matching event when none is there yet (0–${EVENTS_WAIT_MAX_SECONDS})` }),
  ...eventFilters,
});

export const EventStreamQuery = z.strictObject({
  since: queryInteger(0, undefined, 0, 'Start after this sequence (the Last-Event-ID header wins)'),
  ...eventFilters,
});

/** Headers of `GET /events/stream` (Node lowercases header names). */
export const EventStreamHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^\d+$/)
    .optional()
    .openapi({ description: 'Sequence of the last event received; resumes after it (wins over `since`)' }),
});

export const PackageIdParams = z.strictObject({ id: id('Package id') });
export const FileIdParams = z.strictObject({ id: id('File id') });
export const UploadIdParams = z.strictObject({ uid: id('Upload session id') });
export const ObjectParams = z.strictObject({
  'content-address': z
    .string()
    .regex(CONTENT_ADDRESS_PATTERN)
    .openapi({ description: '`blake3:<hex>` or `sha256:<hex>`', example: `blake3:${'ab'.repeat(32)}` }),
});

// ---------------------------------------------------------------- headers

export const RangeHeader = z.string().optional().openapi({ description: 'A single byte range, `bytes=<start>-<end>`, `bytes=<start>-` or `bytes=-<suffix>`' });
export const IfNoneMatchHeader = z.string().optional().openapi({ description: 'ETags; 304 when one matches' });
export const ContentRangeHeader = z
  .string()
  .optional()
  .openapi({ description: '`bytes <start>-<end>/<total or *>`; this or Upload-Offset is required', example: 'bytes 0-1048575/*' });
export const UploadOffsetHeader = z.string().optional().openapi({ description: 'Offset the chunk starts at; this or Content-Range is required', example: '0' });
