/**
 * @module http/native/upload-routes
 * Resumable uploads: `POST /packages/{id}/uploads` opens a session,
 * `PATCH /uploads/{uid}` appends a chunk at `Content-Range` or
 * `Upload-Offset`, `HEAD|GET /uploads/{uid}` report progress,
 * `POST /uploads/{uid}/complete` turns it into a file and `DELETE` drops it.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { renderFile, renderUpload, uploadLocation, type UploadView } from './render.js';
import { chunkPosition } from './request.js';
import { json, problems, type NativeRoute } from './route.js';
import { CompleteUploadRequest, ContentRangeHeader, FileSchema, PackageIdParams, StartUploadRequest, UploadIdParams, UploadOffsetHeader, UploadSchema } from './schemas.js';
import { validate } from './validate.js';

const TAGS = ['uploads'];

/** Header reporting how many bytes an upload holds. */
export const UPLOAD_OFFSET_HEADER = 'Upload-Offset';
/** Header reporting an upload's declared size. */
export const UPLOAD_LENGTH_HEADER = 'Upload-Length';

const progressHeaders = z.object({
  'Upload-Offset': z.string().openapi({ description: 'Bytes received so far' }),
  'Upload-Length': z.string().optional().openapi({ description: 'Declared size, when there is one' }),
});

function progress(response: Response, view: UploadView): void {
  response.setHeader(UPLOAD_OFFSET_HEADER, String(view.offset));
  if (view.size !== null) response.setHeader(UPLOAD_LENGTH_HEADER, String(view.size));
  response.setHeader('Cache-Control', 'no-store');
}

export const uploadRoutes: NativeRoute[] = [
  {
    method: 'post',
    path: '/packages/{id}/uploads',
    operationId: 'startUpload',
    summary: 'Open a resumable upload of one file',
    tags: TAGS,
    jsonBody: true,
    request: { params: PackageIdParams, body: { required: true, content: json(StartUploadRequest) } },
    responses: {
      201: { description: 'The session', headers: z.object({ Location: z.string() }), content: json(UploadSchema) },
      ...problems(400, 404, 409, 413, 415),
    },
    handle: async ({ registry, request, response, actor }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      const body = validate(StartUploadRequest, request.body, 'body');
      const view = await registry.startFileUpload(
        id,
        {
          relativePath: body.relative_path,
          mediaType: body.media_type,
          ...(body.size !== undefined ? { size: body.size } : {}),
          ...(body.blake3 !== undefined ? { blake3: body.blake3 } : {}),
          ...(body.sha256 !== undefined ? { sha256: body.sha256 } : {}),
        },
        actor,
      );
      progress(response, view);
      response.status(201).setHeader('Location', uploadLocation(view.id));
      response.json(renderUpload(view));
    },
  },
  {
    method: 'patch',
    path: '/uploads/{uid}',
    operationId: 'appendUpload',
    summary: 'Append a chunk',
    description:
      'The chunk must start at the current offset: out-of-order or overlapping chunks get 416 UPLOAD_OFFSET_MISMATCH with the current offset in `size` and `Upload-Offset`; a chunk past the declared size gets 400 SIZE_MISMATCH before anything is stored.',
    tags: TAGS,
    request: {
      params: UploadIdParams,
      headers: z.object({ 'Content-Range': ContentRangeHeader, 'Upload-Offset': UploadOffsetHeader }),
      body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    },
    responses: {
      200: { description: 'The session after the chunk', headers: progressHeaders, content: json(UploadSchema) },
      ...problems(400, 404, 416),
    },
    handle: async ({ registry, request, response }) => {
      const { uid } = validate(UploadIdParams, request.params, 'path');
      const view = await registry.appendFileUpload(uid, request, chunkPosition(request));
      progress(response, view);
      response.status(200).json(renderUpload(view));
    },
  },
  {
    method: 'head',
    path: '/uploads/{uid}',
    operationId: 'uploadProgress',
    summary: 'Upload progress in headers (to resume)',
    tags: TAGS,
    request: { params: UploadIdParams },
    responses: { 200: { description: 'Progress', headers: progressHeaders }, ...problems(404) },
    handle: async ({ registry, request, response }) => {
      const { uid } = validate(UploadIdParams, request.params, 'path');
      progress(response, await registry.fileUpload(uid));
      response.status(200).end();
    },
  },
  {
    method: 'get',
    path: '/uploads/{uid}',
    operationId: 'getUpload',
    summary: 'Read an upload session',
    tags: TAGS,
    request: { params: UploadIdParams },
    responses: { 200: { description: 'The session', headers: progressHeaders, content: json(UploadSchema) }, ...problems(404) },
    handle: async ({ registry, request, response }) => {
      const { uid } = validate(UploadIdParams, request.params, 'path');
      const view = await registry.fileUpload(uid);
      progress(response, view);
      response.status(200).json(renderUpload(view));
    },
  },
  {
    method: 'post',
    path: '/uploads/{uid}/complete',
    operationId: 'completeUpload',
    summary: 'Complete an upload: check size and digests, add the file to the package',
    tags: TAGS,
    jsonBody: true,
    request: { params: UploadIdParams, body: { required: false, content: json(CompleteUploadRequest) } },
    responses: {
      201: { description: 'The file', headers: z.object({ Location: z.string() }), content: json(FileSchema) },
      ...problems(400, 404, 409, 415),
    },
    handle: async ({ registry, request, response, actor }) => {
      const { uid } = validate(UploadIdParams, request.params, 'path');
      validate(CompleteUploadRequest, request.body, 'body');
      const file = await registry.completeFileUpload(uid, actor);
      response.status(201).setHeader('Location', `/files/${file.id}`);
      response.json(renderFile(file));
    },
  },
  {
    method: 'delete',
    path: '/uploads/{uid}',
    operationId: 'cancelUpload',
    summary: 'Cancel an upload and drop its bytes',
    tags: TAGS,
    request: { params: UploadIdParams },
    responses: { 204: { description: 'Cancelled' }, ...problems(404) },
    handle: async ({ registry, request, response }) => {
      const { uid } = validate(UploadIdParams, request.params, 'path');
      await registry.cancelFileUpload(uid);
      response.status(204).end();
    },
  },
];
