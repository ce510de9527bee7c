/**
 * @module http/observability/routes
 * The route template of a request path, for metric labels and access logs:
 * `/v2/:name/blobs/:digest`, `/packages/:id`, … — never the raw path, so a
 * label's cardinality is bounded by the route table. Paths no route serves
 * are `unmatched`.
 *
 * Native templates come from the native route table itself; OCI routes are
 * matched by anchored patterns (repository names contain slashes), mirrored
 * here from the OCI router with the segment names of the distribution spec.
 */
import { nativeRoutes } from '../native/index.js';

/** The label of paths that no route serves. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Routes the application itself serves (outside both APIs). */
const APP_ROUTES = ['/', '/health', '/ready', '/metrics'];

/** OCI routes in the OCI router's matching order. */
const OCI_ROUTES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^\/v2\/?$/i, '/v2/'],
  [/^\/v2\/_catalog\/?$/i, '/v2/_catalog'],
  [/^\/v2\/.+\/tags\/list\/?$/i, '/v2/:name/tags/list'],
  [/^\/v2\/.+\/referrers\/[^/]+\/?$/i, '/v2/:name/referrers/:digest'],
  [/^\/v2\/.+\/blobs\/uploads\/?$/i, '/v2/:name/blobs/uploads/'],
  [/^\/v2\/.+\/blobs\/uploads\/[^/]+\/?$/i, '/v2/:name/blobs/uploads/:reference'],
  [/^\/v2\/.+\/blobs\/[^/]+\/?$/i, '/v2/:name/blobs/:digest'],
  [/^\/v2\/.+\/manifests\/[^/]+\/?$/i, '/v2/:name/manifests/:reference'],
];

/** `/packages/{id}/files` → [`^/packages/[^/]+/files/?$`, `/packages/:id/files`]. */
function compileTemplate(template: string): readonly [RegExp, string] {
  const parts = template.split(/(\{[^}]+\})/).filter((part) => part !== '');
  const source = parts.map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  const label = parts.map((part) => (part.startsWith('{') ? `:${part.slice(1, -1)}` : part)).join('');
  return [new RegExp(`^${source === '/' ? '' : source}/?$`, 'i'), label];
}

let table: ReadonlyArray<readonly [RegExp, string]> | undefined;

function routeTable(): ReadonlyArray<readonly [RegExp, string]> {
  if (!table) {
    const native = [...new Set(nativeRoutes().map((route) => route.path))];
    // Literal segments before parameters, so `/events/stream` wins over a `/events/{x}`.
    native.sort((a, b) => a.split('{').length - b.split('{').length);
    table = [...APP_ROUTES.map(compileTemplate), ...OCI_ROUTES, ...native.map(compileTemplate)];
  }
  return table;
}

/** The route template serving `path` (a request path without query), or {@link UNMATCHED_ROUTE}. */
export function routeTemplateOf(path: string): string {
  for (const [pattern, template] of routeTable()) if (pattern.test(path)) return template;
  return UNMATCHED_ROUTE;
}

/** Methods that keep their own label; anything else is `OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method label of `method` (bounded: unknown methods are `OTHER`). */
export function methodLabelOf(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

/**
 * Which API an upload body on `route` belongs to, or undefined when the
 * request does not stream upload bytes: OCI POST/PATCH/PUT on the upload
 * routes, native PATCH `/uploads/:uid` and POST `/packages/:id/files`.
 */
export function uploadApiOf(route: string, method: string): 'oci' | 'native' | undefined {
  if ((route === '/v2/:name/blobs/uploads/' && method === 'POST') || (route === '/v2/:name/blobs/uploads/:reference' && (method === 'PATCH' || method === 'PUT'))) return 'oci';
  if ((route === '/uploads/:uid' && method === 'PATCH') || (route === '/packages/:id/files' && method === 'POST')) return 'native';
  return undefined;
}
