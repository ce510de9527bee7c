/**
 * @module http/native/repository-routes
 * `GET /repositories/{name}`: what an OCI repository holds (manifests, tags,
 * blobs) and the bytes it takes, logical and deduplicated. The name is one
 * path segment, so its slashes are sent percent-encoded (`team%2Fapp`).
 */
import { z } from 'zod';
import type { RepositoryUsage } from '../../registry/index.js';
import { json, problems, type NativeRoute } from './route.js';
import { validate } from './validate.js';

const TAGS = ['repositories'];
const size = (description: string) => z.number().int().min(0).openapi({ description });

/** The figures of one OCI repository. */
export const RepositorySchema = z
  .strictObject({
    name: z.string().openapi({ example: 'team/app' }),
    manifests: size('Manifests (images, indexes, artifacts, referrers)'),
    tags: size('Tags'),
    blobs: size('Blob links: configs, layers and blobs pushed on their own'),
    logical_size: size("Every manifest's own bytes plus the config and layers it lists: a layer shared by two images counts twice"),
    stored_size: size('Bytes of the distinct objects behind the blobs and manifests, each counted once'),
    stored_objects: size('Distinct objects behind the blobs and manifests'),
  })
  .openapi('Repository');

const RepositoryParams = z.strictObject({ name: z.string().min(1).openapi({ description: 'The repository name, percent-encoded (`team%2Fapp`)', example: 'team%2Fapp' }) });

function renderRepository(usage: RepositoryUsage): z.infer<typeof RepositorySchema> {
  return {
    name: usage.repository,
    manifests: usage.manifests,
    tags: usage.tags,
    blobs: usage.blobs,
    logical_size: usage.logicalSize,
    stored_size: usage.stored.bytes,
    stored_objects: usage.stored.objects,
  };
}

/** Routes about OCI repositories. */
export const repositoryRoutes: NativeRoute[] = [
  {
    method: 'get',
    path: '/repositories/{name}',
    operationId: 'getRepository',
    summary: 'Manifest, tag and blob counts of an OCI repository, with its logical and deduplicated stored size (needs pull on the repository)',
    tags: TAGS,
    request: { params: RepositoryParams },
    responses: { 200: { description: 'The repository', content: json(RepositorySchema) }, ...problems(400, 404) },
    handle: async ({ registry, request, response }) => {
      const { name } = validate(RepositoryParams, request.params, 'path');
      response.status(200).json(renderRepository(await registry.repositoryUsage(name)));
    },
  },
];
