/**
 * @module http/oci/blob-routes
 * `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`.
 */
import { writeBody } from '../../storage/index.js';
import type { OciRoute } from './route.js';
import { CONTENT_ADDRESS_HEADER, CONTENT_DIGEST_HEADER } from './headers.js';
import { parseRangeHeader, resolveSuffix } from './request.js';

export const blobRoutes: OciRoute[] = [
  {
    pattern: /^\/(?<name>.+)\/blobs\/(?<segment>[^/]+)$/,
    methods: {
      HEAD: async ({ registry, response, name, segment }) => {
        const blob = await registry.statBlob(name, segment);
        response.status(200);
        response.setHeader('Content-Type', 'application/octet-stream');
        response.setHeader('Content-Length', String(blob.size));
        response.setHeader(CONTENT_DIGEST_HEADER, blob.digest);
        response.setHeader(CONTENT_ADDRESS_HEADER, blob.contentAddress);
        response.setHeader('Accept-Ranges', 'bytes');
        response.setHeader('ETag', `"${blob.digest}"`);
        response.end();
      },
      GET: async ({ registry, request, response, name, segment }) => {
        const direct = await registry.directBlobUrl(name, segment);
        if (direct) {
          // The client fetches the bytes (and any Range it asked for) from the store.
          response.status(307);
          response.setHeader('Location', direct.url);
          response.setHeader(CONTENT_DIGEST_HEADER, direct.blob.digest);
          response.setHeader(CONTENT_ADDRESS_HEADER, direct.blob.contentAddress);
          response.setHeader('Content-Length', '0');
          response.end();
          return;
        }
        const blob = await registry.statBlob(name, segment);
        const range = resolveSuffix(parseRangeHeader(request.headers.range), blob.size);
        const opened = await registry.openBlob(name, segment, range, blob);
        response.setHeader('Content-Type', 'application/octet-stream');
        response.setHeader(CONTENT_DIGEST_HEADER, blob.digest);
        response.setHeader(CONTENT_ADDRESS_HEADER, blob.contentAddress);
        response.setHeader('Accept-Ranges', 'bytes');
        response.setHeader('ETag', `"${blob.digest}"`);
        if (opened.range) {
          response.status(206);
          response.setHeader('Content-Range', `bytes ${opened.range.start}-${opened.range.end}/${opened.size}`);
          response.setHeader('Content-Length', String(opened.range.end - opened.range.start + 1));
        } else {
          response.status(200);
          response.setHeader('Content-Length', String(opened.size));
        }
        await writeBody(opened.stream, response);
      },
      DELETE: async ({ registry, response, name, segment, actor }) => {
        await registry.deleteBlob(name, segment, actor);
        response.status(202).setHeader('Content-Length', '0');
        response.end();
      },
    },
  },
];
