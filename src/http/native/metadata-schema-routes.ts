/**
 * @module http/native/metadata-schema-routes
 * `POST|GET /metadata-schemas` and `GET /metadata-schemas/{name}`: JSON
 * Schemas packages may name for their metadata (docs/adr/0018). Schemas are
 * immutable: re-registering the same one answers 200 with it, a different
 * one under a registered name 409.
 */
import { z } from 'zod';
import type { MetadataSchemaView } from '../../registry/index.js';
import { json, problems, type NativeRoute } from './route.js';
import { validate } from './validate.js';

const TAGS = ['metadata-schemas'];
const NAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/)
  .openapi({ description: 'Schema name; a new version is a new name', example: 'guide-board.run.v1' });

const MetadataSchemaSchema = z
  .strictObject({
    name: NAME,
    schema: z.record(z.string(), z.unknown()).openapi({ description: 'The JSON Schema (2020-12) as registered (canonical values only: integers, no floats)' }),
    schema_digest: z.string().openapi({ description: 'BLAKE3 of the schema\'s JCS (RFC 8785) text', example: `blake3:${'ab'.repeat(32)}` }),
    created_by: z.string(),
    created_at: z.iso.datetime(),
    event_sequence: z.number().int().min(1).openapi({ description: 'Sequence of the `v1.metadata_schema.registered` event' }),
  })
  .openapi('MetadataSchema');

const MetadataSchemaListSchema = z.strictObject({ items: z.array(MetadataSchemaSchema) }).openapi('MetadataSchemaList');

const RegisterMetadataSchemaRequest = z
  .strictObject({
    name: NAME,
    schema: z.record(z.string(), z.unknown()).openapi({ description: 'A self-contained JSON Schema 2020-12 document', example: { type: 'object', required: ['run_id'] } }),
  })
  .openapi('RegisterMetadataSchema');

const NameParams = z.strictObject({ name: NAME });

type MetadataSchemaBody = z.infer<typeof MetadataSchemaSchema>;

function render(view: MetadataSchemaView): MetadataSchemaBody {
  return {
    name: view.name,
    schema: view.schema,
    schema_digest: view.schemaDigest,
    created_by: view.createdBy,
    created_at: view.createdAt,
    event_sequence: view.eventSequence,
  };
}

/** The metadata schema routes. */
export const metadataSchemaRoutes: NativeRoute[] = [
  {
    method: 'post',
    path: '/metadata-schemas',
    operationId: 'registerMetadataSchema',
    summary: 'Register a metadata schema (administrators)',
    description: 'Idempotent: the identical schema under a registered name answers 200 with the existing registration and records nothing; a different one is 409 `METADATA_SCHEMA_CONFLICT`. A schema ajv cannot compile is 422 `METADATA_SCHEMA_INVALID` with `violations`.',
    tags: TAGS,
    jsonBody: true,
    request: { body: { required: true, content: json(RegisterMetadataSchemaRequest) } },
    responses: {
      201: { description: 'Registered', headers: z.object({ Location: z.string().openapi({ example: '/metadata-schemas/guide-board.run.v1' }) }), content: json(MetadataSchemaSchema) },
      200: { description: 'Already registered with this very schema', content: json(MetadataSchemaSchema) },
      ...problems(400, 409, 413, 415, 422),
    },
    handle: async ({ registry, request, response, actor }) => {
      const body = validate(RegisterMetadataSchemaRequest, request.body, 'body');
      const result = await registry.registerMetadataSchema(body.name, body.schema, actor);
      response.setHeader('Location', `/metadata-schemas/${encodeURIComponent(result.schema.name)}`);
      response.status(result.created ? 201 : 200).json(render(result.schema));
    },
  },
  {
    method: 'get',
    path: '/metadata-schemas',
    operationId: 'listMetadataSchemas',
    summary: 'Every registered metadata schema, by name',
    tags: TAGS,
    responses: { 200: { description: 'The schemas', content: json(MetadataSchemaListSchema) } },
    handle: async ({ registry, response }) => {
      response.status(200).json({ items: (await registry.listMetadataSchemas()).map(render) });
    },
  },
  {
    method: 'get',
    path: '/metadata-schemas/{name}',
    operationId: 'getMetadataSchema',
    summary: 'Read a metadata schema',
    tags: TAGS,
    request: { params: NameParams },
    responses: { 200: { description: 'The schema', content: json(MetadataSchemaSchema) }, ...problems(400, 404) },
    handle: async ({ registry, request, response }) => {
      const { name } = validate(NameParams, request.params, 'path');
      response.status(200).json(render(await registry.getMetadataSchema(name)));
    },
  },
];
