/**
 * @module http/native/file-routes
 * `POST|GET /packages/{id}/files` (multipart ingest, listing),
 * `GET /files/{id}` and `GET /files/{id}/download`.
 */
import { z } from 'zod';
import { CONTENT_ADDRESS_HEADER, DIGEST_SHA256_HEADER, contentDisposition, renderFile, sendBytes, sendNotModified } from './render.js';
import { REDIRECT_RESPONSE, sendRedirect } from './redirect.js';
import { disconnectSignal, entityTag, noneMatch, openRange } from './request.js';
import { json, problems, type NativeRoute } from './route.js';
import { multipartParts } from './multipart.js';
import { FileIdParams, FileListSchema, FileSchema, FilesCreatedSchema, IfNoneMatchHeader, PackageIdParams, RangeHeader, type FileBody } from './schemas.js';
import { invalid, validate } from './validate.js';

const TAGS = ['files'];

/** The form field that names the next file part's relative path. */
export const RELATIVE_PATH_FIELD = 'relative_path';

const MultipartForm = z
  .object({
    relative_path: z.string().optional().openapi({ description: 'Relative path of the file part that follows (overrides its filename)' }),
    file: z.string().openapi({ format: 'binary', description: 'A file part (repeatable); its filename is its relative path, its Content-Type its media type' }),
  })
  .openapi({ description: 'Parts are processed in order; each file part is streamed into the store as it arrives' });

export const fileRoutes: NativeRoute[] = [
  {
    method: 'post',
    path: '/packages/{id}/files',
    operationId: 'uploadFiles',
    summary: 'Add files to a package (multipart/form-data)',
    description:
      'Each file part is ingested as it arrives, in order. Its filename (the full relative path) names it unless a `relative_path` text field precedes it; its Content-Type is its media type. Files before a failing part stay in the package.',
    tags: TAGS,
    request: { params: PackageIdParams, body: { required: true, content: { 'multipart/form-data': { schema: MultipartForm } } } },
    responses: { 201: { description: 'The files added', content: json(FilesCreatedSchema) }, ...problems(400, 404, 409, 415) },
    handle: async ({ registry, request, response, actor }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      const signal = disconnectSignal(response);
      const files: FileBody[] = [];
      let pendingPath: string | undefined;
      for await (const part of multipartParts(request)) {
        if (part.kind === 'field') {
          if (part.name !== RELATIVE_PATH_FIELD) {
            throw invalid('body', [{ pointer: `/${part.name}`, message: `unknown form field; only ${RELATIVE_PATH_FIELD} fields and file parts are accepted` }]);
          }
          pendingPath = part.value;
          continue;
        }
        const relativePath = pendingPath ?? part.filename;
        pendingPath = undefined;
        if (relativePath === undefined) {
          throw invalid('body', [{ pointer: `/${part.name}`, message: `a file part needs a filename or a preceding ${RELATIVE_PATH_FIELD} field` }]);
        }
        files.push(renderFile(await registry.ingestFile(id, { relativePath, mediaType: part.mediaType }, part.content, actor, signal)));
      }
      if (pendingPath !== undefined) throw invalid('body', [{ pointer: `/${RELATIVE_PATH_FIELD}`, message: 'is not followed by a file part' }]);
      if (files.length === 0) throw invalid('body', [{ pointer: '', message: 'the form has no file part' }]);
      response.status(201).json({ files });
    },
  },
  {
    method: 'get',
    path: '/packages/{id}/files',
    operationId: 'listFiles',
    summary: 'List the files of a package by relative path',
    tags: TAGS,
    request: { params: PackageIdParams },
    responses: { 200: { description: 'The files', content: json(FileListSchema) }, ...problems(404) },
    handle: async ({ registry, request, response }) => {
      const { id } = validate(PackageIdParams, request.params, 'path');
      response.status(200).json({ items: (await registry.listFiles(id)).map(renderFile) });
    },
  },
  {
    method: 'get',
    path: '/files/{id}',
    operationId: 'getFile',
    summary: 'Read a file’s metadata',
    tags: TAGS,
    request: { params: FileIdParams },
    responses: { 200: { description: 'The file', content: json(FileSchema) }, ...problems(404) },
    handle: async ({ registry, request, response }) => {
      const { id } = validate(FileIdParams, request.params, 'path');
      response.status(200).json(renderFile(await registry.getFile(id)));
    },
  },
  {
    method: 'get',
    path: '/files/{id}/download',
    operationId: 'downloadFile',
    summary: 'Download a file’s bytes (single Range, conditional on If-None-Match)',
    tags: TAGS,
    request: { params: FileIdParams, headers: z.object({ Range: RangeHeader, 'If-None-Match': IfNoneMatchHeader }) },
    responses: {
      200: {
        description: 'The whole file',
        headers: z.object({
          ETag: z.string().openapi({ description: '"<content address>"' }),
          'Content-Disposition': z.string().openapi({ description: 'attachment with the basename' }),
          'Accept-Ranges': z.literal('bytes'),
        }),
        content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
      },
      206: { description: 'The requested range', headers: z.object({ 'Content-Range': z.string() }), content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
      304: { description: 'If-None-Match matched the ETag' },
      307: REDIRECT_RESPONSE,
      ...problems(404, 416),
    },
    handle: async ({ registry, request, response }) => {
      const { id } = validate(FileIdParams, request.params, 'path');
      const direct = await registry.directFileUrl(id);
      if (direct) {
        const etag = entityTag(direct.file.contentAddress);
        response.setHeader('ETag', etag);
        if (noneMatch(request, etag)) response.status(304).end();
        else sendRedirect(response, direct.url);
        return;
      }
      const opened = await openRange((range) => registry.openFile(id, range), request.headers.range);
      const etag = entityTag(opened.file.contentAddress);
      response.setHeader('ETag', etag);
      if (noneMatch(request, etag)) {
        sendNotModified(response, opened.stream);
        return;
      }
      response.setHeader('Content-Type', opened.file.mediaType);
      response.setHeader('Content-Disposition', contentDisposition(opened.file.relativePath));
      response.setHeader(CONTENT_ADDRESS_HEADER, opened.file.contentAddress);
      response.setHeader(DIGEST_SHA256_HEADER, opened.file.digestSha256);
      await sendBytes(request, response, opened);
    },
  },
];
