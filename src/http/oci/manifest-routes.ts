/**
 * @module http/oci/manifest-routes
 * `GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`.
 */
import { RegistryError } from '../../errors/index.js';
import type { OciRoute } from './route.js';
import { CONTENT_ADDRESS_HEADER, CONTENT_DIGEST_HEADER, SUBJECT_HEADER, TAG_HEADER } from './headers.js';
import { queryParams, readBoundedBody } from './request.js';

export const manifestRoutes: OciRoute[] = [
  {
    pattern: /^\/(?<name>.+)\/manifests\/(?<segment>[^/]+)$/,
    methods: {
      HEAD: async ({ registry, response, name, segment }) => {
        const manifest = await registry.statManifest(name, segment);
        response.status(200);
        response.setHeader('Content-Type', manifest.mediaType);
        response.setHeader('Content-Length', String(manifest.size));
        response.setHeader(CONTENT_DIGEST_HEADER, manifest.digest);
        response.setHeader(CONTENT_ADDRESS_HEADER, manifest.contentAddress);
        response.setHeader('ETag', `"${manifest.digest}"`);
        response.end();
      },
      GET: async ({ registry, response, name, segment }) => {
        // Manifests are small and bounded: one write of the whole body (no
        // stream pipeline per request), usually from the in-process cache.
        const { manifest, bytes } = await registry.readManifest(name, segment);
        response.status(200);
        response.setHeader('Content-Type', manifest.mediaType);
        response.setHeader('Content-Length', String(bytes.length));
        response.setHeader(CONTENT_DIGEST_HEADER, manifest.digest);
        response.setHeader(CONTENT_ADDRESS_HEADER, manifest.contentAddress);
        response.setHeader('ETag', `"${manifest.digest}"`);
        response.end(bytes);
      },
      PUT: async ({ registry, request, response, name, segment, actor }) => {
        const limit = registry.context.oci.manifestMaxBytes;
        const bytes = await readBoundedBody(request, limit, () => new RegistryError('MANIFEST_TOO_LARGE', `manifests are limited to ${limit} bytes`));
        const result = await registry.putManifest(name, segment, bytes, request.headers['content-type'], queryParams(request, 'tag'), actor);
        response.status(201);
        response.setHeader('Location', `/v2/${name}/manifests/${result.digest}`);
        response.setHeader(CONTENT_DIGEST_HEADER, result.digest);
        if (result.subject) response.setHeader(SUBJECT_HEADER, result.subject);
        const extraTags = queryParams(request, 'tag');
        if (extraTags.length > 0) response.setHeader(TAG_HEADER, result.tags);
        response.setHeader('Content-Length', '0');
        response.end();
      },
      DELETE: async ({ registry, response, name, segment, actor }) => {
        await registry.deleteManifest(name, segment, actor);
        response.status(202).setHeader('Content-Length', '0');
        response.end();
      },
    },
  },
];
