/**
 * @module http/oci/listing-routes
 * `GET /v2/<name>/tags/list`, `GET /v2/_catalog` and
 * `GET /v2/<name>/referrers/<digest>`.
 */
import { principalOf } from '../principal.js';
import type { Request, Response } from 'express';
import { nextPageLink, parsePageRequest, referrerDescriptor, referrersIndex, REFERRERS_CONTENT_TYPE } from '../../oci/index.js';
import type { NamePage } from '../../registry/index.js';
import type { OciRoute } from './route.js';
import { FILTERS_APPLIED_HEADER, CONTENT_DIGEST_HEADER } from './headers.js';
import { queryParam } from './request.js';
import { computeOciDigest } from '../../oci/index.js';

function page(request: Request): { n: number | undefined; last: string | undefined } {
  const parsed = parsePageRequest(request.query as Record<string, string | string[] | undefined>);
  return { n: parsed.n ?? undefined, last: parsed.last ?? undefined };
}

function linkNext(response: Response, path: string, result: NamePage, n: number | undefined): void {
  const last = result.items.at(-1);
  if (result.more && last !== undefined) {
    response.setHeader('Link', nextPageLink(path, { n: n ?? result.items.length, last }));
  }
}

export const listingRoutes: OciRoute[] = [
  {
    pattern: /^\/_catalog$/,
    methods: {
      GET: async ({ registry, request, response }) => {
        const { n, last } = page(request);
        const result = n === 0 ? { items: [], more: false } : await registry.listRepositories(n, last, principalOf(request).namePatterns('pull'));
        linkNext(response, '/v2/_catalog', result, n ?? 100);
        response.status(200).json({ repositories: result.items });
      },
    },
  },
  {
    pattern: /^\/(?<name>.+)\/tags\/list$/,
    methods: {
      GET: async ({ registry, request, response, name }) => {
        const { n, last } = page(request);
        const result = await registry.listTags(name, n, last);
        const items = n === 0 ? [] : result.items;
        if (n !== 0) linkNext(response, `/v2/${name}/tags/list`, result, n);
        response.status(200).json({ name, tags: items });
      },
    },
  },
  {
    pattern: /^\/(?<name>.+)\/referrers\/(?<segment>[^/]+)$/,
    methods: {
      GET: async ({ registry, request, response, name, segment }) => {
        const artifactType = queryParam(request, 'artifactType');
        const rows = await registry.listReferrers(name, segment, artifactType);
        const body = referrersIndex(rows.map(referrerDescriptor));
        if (artifactType !== undefined) response.setHeader(FILTERS_APPLIED_HEADER, 'artifactType');
        response.setHeader(CONTENT_DIGEST_HEADER, computeOciDigest(body));
        response.status(200).type(REFERRERS_CONTENT_TYPE).send(Buffer.from(body));
      },
    },
  },
];
