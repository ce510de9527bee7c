/**
 * @module http/oci/upload-routes
 * Blob uploads: `POST /v2/<name>/blobs/uploads/` (session, monolithic
 * `?digest=`, mount `?mount=&from=`), and `PATCH|PUT|GET|DELETE` on a
 * session's location.
 */
import { principalOf } from '../principal.js';
import type { Response } from 'express';
import { RegistryError } from '../../errors/index.js';
import { isRepositoryName } from '../../oci/index.js';
import type { BlobInfo, UploadStatus } from '../../registry/index.js';
import type { OciRoute } from './route.js';
import { CONTENT_DIGEST_HEADER, UPLOAD_UUID_HEADER, uploadRange } from './headers.js';
import { contentLength, hasBody, parseContentRange, queryParam } from './request.js';

function sessionLocation(status: UploadStatus): string {
  return `/v2/${status.repository}/blobs/uploads/${status.id}`;
}

function renderSession(response: Response, status: UploadStatus, code: number): void {
  response.status(code);
  response.setHeader('Location', sessionLocation(status));
  response.setHeader(UPLOAD_UUID_HEADER, status.id);
  response.setHeader('Range', uploadRange(status.offset));
  response.setHeader('Content-Length', '0');
  response.end();
}

function renderBlobCreated(response: Response, blob: BlobInfo): void {
  response.status(201);
  response.setHeader('Location', `/v2/${blob.repository}/blobs/${blob.digest}`);
  response.setHeader(CONTENT_DIGEST_HEADER, blob.digest);
  response.setHeader('Content-Length', '0');
  response.end();
}

export const uploadRoutes: OciRoute[] = [
  {
    pattern: /^\/(?<name>.+)\/blobs\/uploads\/?$/,
    methods: {
      POST: async ({ registry, request, response, name, actor }) => {
        const mount = queryParam(request, 'mount');
        const digest = queryParam(request, 'digest');
        if (mount !== undefined) {
          const fromText = queryParam(request, 'from');
          // An invalid `from` is no reason to fail the push: fall back to any copy.
          const from = fromText !== undefined && isRepositoryName(fromText) ? fromText : undefined;
          // Only what the caller may read can be mounted; otherwise this is a normal upload.
          const principal = principalOf(request);
          const mounted = await registry.mountBlob(name, mount, from, actor, (repository) => principal.allows('pull', repository));
          if (mounted) {
            renderBlobCreated(response, mounted);
            return;
          }
        } else if (digest !== undefined) {
          const blob = await registry.pushBlob(name, digest, request, actor, contentLength(request));
          renderBlobCreated(response, blob);
          return;
        }
        renderSession(response, await registry.startUpload(name, actor), 202);
      },
    },
  },
  {
    pattern: /^\/(?<name>.+)\/blobs\/uploads\/(?<segment>[^/]+)$/,
    methods: {
      GET: async ({ registry, response, name, segment }) => {
        renderSession(response, await registry.uploadStatus(name, segment), 204);
      },
      PATCH: async ({ registry, request, response, name, segment }) => {
        const range = parseContentRange(request.headers['content-range']);
        const length = contentLength(request);
        const status = await registry.appendUpload(name, segment, request, { ...(range ? { range } : {}), ...(length !== undefined ? { contentLength: length } : {}) });
        renderSession(response, status, 202);
      },
      PUT: async ({ registry, request, response, name, segment, actor }) => {
        const digest = queryParam(request, 'digest');
        if (digest === undefined) throw new RegistryError('DIGEST_INVALID', 'closing an upload needs ?digest=<digest> of the whole blob');
        const range = parseContentRange(request.headers['content-range']);
        const length = contentLength(request);
        const finalChunk = hasBody(request)
          ? { source: request, ...(range ? { range } : {}), ...(length !== undefined ? { contentLength: length } : {}) }
          : null;
        renderBlobCreated(response, await registry.completeUpload(name, segment, digest, finalChunk, actor));
      },
      DELETE: async ({ registry, response, name, segment }) => {
        await registry.cancelUpload(name, segment);
        response.status(204).end();
      },
    },
  },
];
