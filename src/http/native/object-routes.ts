/**
 * @module http/native/object-routes
 * `GET|HEAD /objects/{content-address}`: stored bytes by `blake3:` or
 * `sha256:` address, whatever package or repository references them.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { CONTENT_ADDRESS_HEADER, DIGEST_SHA256_HEADER, sendBytes, sendNotModified } from './render.js';
import { REDIRECT_RESPONSE, sendRedirect } from './redirect.js';
import { entityTag, noneMatch, openRange } from './request.js';
import { problems, type NativeRoute } from './route.js';
import { IfNoneMatchHeader, ObjectParams, RangeHeader } from './schemas.js';
import { validate } from './validate.js';

const TAGS = ['objects'];

const objectHeaders = z.object({
  ETag: z.string().openapi({ description: '"<blake3 content address>"' }),
  'Artifactstore-Content-Address': z.string(),
  'Artifactstore-Digest-Sha256': z.string(),
  'Accept-Ranges': z.literal('bytes'),
});
const bytes = { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } };
const RestoreBody = z.object({
  content_address: z.string(),
  retrieval_tier: z.enum(['hot', 'cold', 'archive']).nullable(),
  restore_status: z.enum(['none', 'requested', 'completed']),
  scheduled: z.boolean(),
  locations: z.array(z.object({ backend_id: z.string(), retrieval_tier: z.string(), restore_status: z.string(), created_at: z.string() })),
});

/** Sets the identity headers of an object; returns its ETag. */
function describe(response: Response, object: { contentAddress: string; digestSha256: string }): string {
  const etag = entityTag(object.contentAddress);
  response.setHeader('ETag', etag);
  response.setHeader(CONTENT_ADDRESS_HEADER, object.contentAddress);
  response.setHeader(DIGEST_SHA256_HEADER, object.digestSha256);
  // Content-addressed bytes never change.
  response.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
  return etag;
}

export const objectRoutes: NativeRoute[] = [
  {
    method: 'head',
    path: '/objects/{content-address}',
    operationId: 'statObject',
    summary: 'Whether an object is stored, its size and digests',
    tags: TAGS,
    request: { params: ObjectParams, headers: z.object({ 'If-None-Match': IfNoneMatchHeader }) },
    responses: { 200: { description: 'Stored', headers: objectHeaders.extend({ 'Content-Length': z.string() }) }, 304: { description: 'If-None-Match matched' }, ...problems(400, 404) },
    handle: async ({ registry, request, response }) => {
      const { 'content-address': address } = validate(ObjectParams, request.params, 'path');
      const object = await registry.statObject(address);
      const etag = describe(response, object);
      if (noneMatch(request, etag)) {
        response.status(304).end();
        return;
      }
      response.status(200).setHeader('Content-Type', 'application/octet-stream');
      response.setHeader('Content-Length', String(object.size));
      response.setHeader('Accept-Ranges', 'bytes');
      response.end();
    },
  },
  {
    method: 'get',
    path: '/objects/{content-address}',
    operationId: 'getObject',
    summary: 'Read an object’s bytes (single Range)',
    tags: TAGS,
    request: { params: ObjectParams, headers: z.object({ Range: RangeHeader, 'If-None-Match': IfNoneMatchHeader }) },
    responses: {
      200: { description: 'The whole object', headers: objectHeaders, content: bytes },
      206: { description: 'The requested range', headers: objectHeaders.extend({ 'Content-Range': z.string() }), content: bytes },
      304: { description: 'If-None-Match matched' },
      307: REDIRECT_RESPONSE,
      ...problems(400, 404, 409, 416),
    },
    handle: async ({ registry, request, response }) => {
      const { 'content-address': address } = validate(ObjectParams, request.params, 'path');
      const direct = await registry.directObjectUrl(address);
      // An archived object answers 409 OBJECT_ARCHIVED (with its restore_status) from openObject below (ADR 0022).
      if (direct) {
        if (noneMatch(request, describe(response, direct.object))) response.status(304).end();
        else sendRedirect(response, direct.url);
        return;
      }
      const opened = await openRange((range) => registry.openObject(address, range), request.headers.range);
      const etag = describe(response, opened.object);
      if (noneMatch(request, etag)) {
        sendNotModified(response, opened.stream);
        return;
      }
      response.setHeader('Content-Type', 'application/octet-stream');
      await sendBytes(request, response, opened);
    },
  },
  {
    method: 'post',
    path: '/objects/{content-address}/restore',
    operationId: 'restoreObject',
    summary: 'Copy an object from the cold or archive tier back to the hot tier (ADR 0022)',
    description:
      'Schedules a copy back to the serving backend and answers 202 with the object’s tiers and restore_status (requested, then completed); ' +
      '200 when a hot copy exists already (always, without a cold tier). Poll this route, or retry the read, until restore_status is completed.',
    tags: TAGS,
    request: { params: ObjectParams },
    responses: {
      200: { description: 'Already on the hot tier', content: { 'application/json': { schema: RestoreBody } } },
      202: { description: 'Restore requested (or still running)', content: { 'application/json': { schema: RestoreBody } } },
      ...problems(400, 404),
    },
    handle: async ({ registry, request, response, actor }) => {
      const { 'content-address': address } = validate(ObjectParams, request.params, 'path');
      const view = await registry.requestRestore(address, actor);
      const hot = view.retrievalTier === 'hot';
      response.status(hot ? 200 : 202).json({
        content_address: view.contentAddress,
        retrieval_tier: view.retrievalTier,
        restore_status: view.restoreStatus,
        scheduled: view.scheduled,
        locations: view.locations.map((location) => ({
          backend_id: location.backendId,
          retrieval_tier: location.retrievalTier,
          restore_status: location.restoreStatus,
          created_at: location.createdAt,
        })),
      });
    },
  },
];
