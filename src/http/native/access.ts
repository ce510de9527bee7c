/**
 * @module http/native/access
 * Who may call which native route: each route names the action it needs and
 * how to find the name (package name) grants are checked against. Routes
 * that list things filter by the caller's visible names instead (see the
 * handlers); documentation and health are public.
 */
import type { Request } from 'express';
import type { Registry } from '../../registry/index.js';
import { demand, demandAdmin, refuseBadCredentials } from '../auth/visibility.js';
import { principalOf } from '../principal.js';

type Check = (registry: Registry, request: Request) => Promise<void>;

const param = (request: Request, name: string): string => String((request.params as Record<string, string>)[name] ?? '');

const onPackage = (action: 'pull' | 'push' | 'delete'): Check => async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin) return;
  demand(principal, action, (await registry.getPackage(param(request, 'id'))).name);
};

const onUpload: Check = async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin) return;
  const session = await registry.fileUpload(param(request, 'uid'));
  demand(principal, 'push', (await registry.getPackage(session.packageId)).name);
};

const onFile: Check = async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin) return;
  const file = await registry.getFile(param(request, 'id'));
  demand(principal, 'pull', (await registry.getPackage(file.packageId)).name);
};

const onObject: Check = async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin || principal.namePatterns('pull') === null) return;
  const names = await registry.namesHoldingObject(param(request, 'content-address'));
  if (!names.some((name) => principal.allows('pull', name))) demand(principal, 'pull', names[0] ?? 'this object');
};

const authenticated: Check = async (_registry, request) => {
  const principal = principalOf(request);
  if (principal.anonymous && !principal.allows('pull', '*') && !principal.admin) demand(principal, 'pull', 'this registry');
};

const admin: Check = async (_registry, request) => demandAdmin(principalOf(request));

/** The check of each `<method> <path template>`; routes not listed are public. */
export const ACCESS: Readonly<Record<string, Check>> = {
  'post /packages': async (_registry, request) => {
    const principal = principalOf(request);
    const name = (request.body as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string') demand(principal, 'push', name);
    else if (principal.anonymous && !principal.admin) demand(principal, 'push', 'packages');
  },
  'get /packages': authenticated,
  'get /packages/{id}': onPackage('pull'),
  'get /packages/{id}/files': onPackage('pull'),
  'post /packages/{id}/files': onPackage('push'),
  'post /packages/{id}/uploads': onPackage('push'),
  'post /packages/{id}/finalize': onPackage('push'),
  'get /packages/{id}/manifest': onPackage('pull'),
  'get /packages/{id}/manifest.json': onPackage('pull'),
  'get /packages/{id}/retention': onPackage('pull'),
  'post /packages/{id}/retention/extensions': onPackage('push'),
  'post /packages/{id}/retention/holds': onPackage('push'),
  'delete /packages/{id}/retention/holds/{hold_id}': onPackage('push'),
  'delete /packages/{id}': admin,
  'patch /uploads/{uid}': onUpload,
  'head /uploads/{uid}': onUpload,
  'get /uploads/{uid}': onUpload,
  'post /uploads/{uid}/complete': onUpload,
  'delete /uploads/{uid}': onUpload,
  'get /files/{id}': onFile,
  'get /files/{id}/download': onFile,
  'get /objects/{content-address}': onObject,
  'head /objects/{content-address}': onObject,
  'get /events': authenticated,
  'get /events/stream': authenticated,
};

/** Runs the check of a route, if it has one. */
export async function checkAccess(registry: Registry, request: Request, method: string, path: string): Promise<void> {
  refuseBadCredentials(principalOf(request));
  await ACCESS[`${method} ${path}`]?.(registry, request);
}
