/**
 * @module http/native/package-routes
 * `POST|GET /packages`, `GET /packages/{id}`, `POST /packages/{id}/finalize`
 * and `GET /packages/{id}/manifest[.json]`.
 */
import { principalOf } from '../principal.js';
import type { Request } from 'express';
import { z } from 'zod';
import { renderPackage } from './render.js';
import { entityTag, noneMatch } from './request.js';
import { json, problems, type NativeRoute } from './route.js';
import {
  CreatePackageRequest,
  FinalizedSchema,
  IfNoneMatchHeader,
  METADATA_FILTER_PREFIX,
  PackageIdParams,
  PackageListQuery,
  PackageListSchema,
  PackageSchema,
} from './schemas.js';
import { check, invalid, validate, type Violation } from './validate.js';

const TAGS = ['packages'];

/** The listing filters of `GET /packages`: the schema's fields plus `metadata.<key>=<value>` pairs. */
function listRequest(request: Request): { query: z.output<typeof PackageListQuery>; metadata: Record<string, string> } {
  const plain: Record<string, unknown> = {};
  const metadata: Record<string, string> = {};
  const violations: Violation[] = [];
  for (const [key, value] of Object.entries(request.query as Record<string, unknown>)) {
    if (!key.startsWith(METADATA_FILTER_PREFIX)) {
      plain[key] = value;
    } else if (key.length === METADATA_FILTER_PREFIX.length) {
      violations.push({ pointer: `/${key}`, message: 'a metadata filter needs a key: metadata.<key>=<value>' });
    } else if (typeof value !== 'string') {
      violations.push({ pointer: `/${key}`, message: 'give each metadata key at most once' });
    } else {
      metadata[key.slice(METADATA_FILTER_PREFIX.length)] = value;
    }
  }
  const result = check(PackageListQuery, plain);
  if (!result.ok) violations.push(...result.violations);
  if (!result.ok || violations.length > 0) throw invalid('query', violations);
  return { query: result.value, metadata };
}

/** `<path?query with cursor=next>; rel="next"`. */
function nextLink(request: Request, cursor: string): string {
  const url = new URL(request.originalUrl, 'http://native.invalid');
  url.searchParams.set('cursor', cursor);
  return `<${url.pathname}?${url.searchParams.toString()}>; rel="next"`;
}

export const packageRoutes: NativeRoute[] = [
  {
    method: 'post',
    path: '/packages',
    operationId: 'createPackage',
    summary: 'Create a package',
    tags: TAGS,
    jsonBody: true,
    request: { body: { required: true, content: json(CreatePackageRequest) } },
    responses: {
      201: { description: 'Created', headers: z.object({ Location: z.string().openapi({ example: '/packages/0190…' }) }), content: json(PackageSchema) },
      ...problems(400, 413, 415, 422),
    },
    handle: async ({ registry, request, response, actor }) => {
      const body = validate(CreatePackageRequest, request.body, 'body');
      const view = await registry.createPackage(
        {
          name: body.name,
          producer: body.producer,
          subject: body.subject ?? null,
          retentionClass: body.retention_class,
          ...(body.metadata ? { metadata: body.metadata } : {}),
          metadataSchema: body.metadata_schema ?? null,
        },
        actor,
      );
      response.status(201).setHeader('Location', `/packages/${view.id}`);
      response.json(renderPackage(view));
    },
  },
  {
    method: 'get',
    path: '/packages',
    operationId: 'listPackages',
    summary: 'List packages in creation order',
    description: 'Filters AND together. `metadata.<key>=<value>` matches packages whose metadata has that key with that value; repeat with other keys to narrow.',
    tags: TAGS,
    request: { query: PackageListQuery },
    parameters: [
      {
        name: 'metadata.<key>',
        in: 'query',
        required: false,
        description: 'Metadata filter: `metadata.branch=main`; one per key, several keys AND together',
        schema: { type: 'string' },
      },
    ],
    responses: {
      200: {
        description: 'One page',
        headers: z.object({ Link: z.string().optional().openapi({ description: '`<…&cursor=…>; rel="next"` when there are more' }) }),
        content: json(PackageListSchema),
      },
      ...problems(400),
    },
    handle: async ({ registry, request, response }) => {
      const { query, metadata } = listRequest(request);
      const filter = {
        ...(query.producer !== undefined ? { producer: query.producer } : {}),
        ...(query.subject !== undefined ? { subject: query.subject } : {}),
        ...(query.retention_class !== undefined ? { retentionClass: query.retention_class } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        namePatterns: principalOf(request).namePatterns('pull'),
      };
      const page = await registry.listPackages(filter, { limit: query.limit, ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) });
      if (page.nextCursor !== null) response.setHeader('Link', nextLink(request, page.nextCursor));
      response.status(200).json({ items: page.items.map(renderPackage), next_cursor: page.nextCursor });
    },
  },
  {
    method: 'get',
    path: '/packages/{id}',
    operationId: 'getPackage',
    summary: 'Read a package',
    tags: TAGS,
    request: { params: PackageIdParams },
    responses: { 200: { description: 'The package', content: json(PackageSchema) }, ...problems(404) },
    handle: async ({ registry, request, response }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      response.status(200).json(renderPackage(await registry.getPackage(id)));
    },
  },
  {
    method: 'post',
    path: '/packages/{id}/finalize',
    operationId: 'finalizePackage',
    summary: 'Finalize a package: write its manifest; it takes no more files',
    tags: TAGS,
    request: { params: PackageIdParams },
    responses: { 200: { description: 'Finalized', content: json(FinalizedSchema) }, ...problems(404, 409, 422) },
    handle: async ({ registry, request, response, actor }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      const result = await registry.finalizePackage(id, actor);
      response.status(200).json({ package_id: result.packageId, manifest_digest: result.manifestDigest });
    },
  },
  ...(['cbor', 'json'] as const).map(
    (format): NativeRoute => ({
      method: 'get',
      path: format === 'cbor' ? '/packages/{id}/manifest' : '/packages/{id}/manifest.json',
      operationId: format === 'cbor' ? 'getManifest' : 'getManifestJson',
      summary: format === 'cbor' ? 'The package manifest as canonical CBOR' : 'The package manifest as JCS (RFC 8785) JSON',
      tags: TAGS,
      request: { params: PackageIdParams, headers: z.object({ 'If-None-Match': IfNoneMatchHeader }) },
      responses: {
        200: {
          description: 'The manifest bytes; the ETag is the manifest digest',
          headers: z.object({ ETag: z.string() }),
          content: { [format === 'cbor' ? 'application/cbor' : 'application/json']: { schema: z.string().openapi({ format: 'binary' }) } },
        },
        304: { description: 'The manifest matches If-None-Match' },
        ...problems(404, 409),
      },
      handle: async ({ registry, request, response }) => {
        const { id } = validate(PackageIdParams, request.params, 'path');
        const manifest = await registry.getManifestBytes(id, format);
        const etag = entityTag(manifest.digest);
        response.setHeader('ETag', etag);
        if (noneMatch(request, etag)) {
          response.status(304).end();
          return;
        }
        response.status(200).setHeader('Content-Type', manifest.contentType);
        response.setHeader('Content-Length', String(manifest.bytes.byteLength));
        response.end(Buffer.from(manifest.bytes.buffer, manifest.bytes.byteOffset, manifest.bytes.byteLength));
      },
    }),
  ),
];
