/**
 * @module http/native/access
 * Who may call which native route: each route names the action it needs and
 * how to find the name (package name) grants are checked against. Routes
 * that list things filter by the caller's visible names instead (see the
 * handlers); documentation and health are public.
 */
import type { Request } from 'express';
import { RegistryError } from '../../errors/index.js';
import type { Registry } from '../../registry/index.js';
import { demand, demandAdmin, refuseBadCredentials } from '../auth/visibility.js';
import { principalOf, type AccessAction, type RequestPrincipal } from '../principal.js';

type Check = (registry: Registry, request: Request) => Promise<void>;

const param = (request: Request, name: string): string => String((request.params as Record<string, string>)[name] ?? '');

/**
 * Throws unless `principal` may do `action` on `name`, a name the caller did
 * not give (it was resolved from an id or a digest): the refusal names
 * `what` the caller asked for, never the hidden name.
 */
function demandResolved(principal: RequestPrincipal, action: AccessAction, name: string | undefined, what: string): void {
  refuseBadCredentials(principal);
  if (name !== undefined && principal.allows(action, name)) return;
  if (principal.anonymous) throw new RegistryError('UNAUTHORIZED', `authentication required to ${action} ${what}`);
  throw new RegistryError('DENIED', `${principal.name} may not ${action} ${what}`);
}

const onPackage = (action: 'pull' | 'push' | 'delete'): Check => async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin) return;
  const id = param(request, 'id');
  demandResolved(principal, action, (await registry.getPackage(id)).name, `package ${id}`);
};

const onUpload: Check = async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin) return;
  const uid = param(request, 'uid');
  const session = await registry.fileUpload(uid);
  demandResolved(principal, 'push', (await registry.getPackage(session.packageId)).name, `upload ${uid}`);
};

const onFile: Check = async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin) return;
  const id = param(request, 'id');
  const file = await registry.getFile(id);
  demandResolved(principal, 'pull', (await registry.getPackage(file.packageId)).name, `file ${id}`);
};

const onObject: Check = async (registry, request) => {
  const principal = principalOf(request);
  if (principal.admin || principal.namePatterns('pull') === null) return;
  const address = param(request, 'content-address');
  const names = await registry.namesHoldingObject(address);
  demandResolved(principal, 'pull', names.find((name) => principal.allows('pull', name)), `object ${address}`);
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
  // Whoever may read an object may ask for it back from the archive (ADR 0022).
  'post /objects/{content-address}/restore': onObject,
  'get /events': authenticated,
  // Reading a repository's figures is reading the repository, as a pull through /v2/.
  'get /repositories/{name}': async (_registry, request) => demand(principalOf(request), 'pull', param(request, 'name')),
  'get /events/stream': authenticated,
  // Schemas are global and permanent and bind every package naming them: registering is an administrator's act.
  'post /metadata-schemas': admin,
  'get /metadata-schemas': authenticated,
  'get /metadata-schemas/{name}': authenticated,
};

/** Runs the check of a route, if it has one. */
export async function checkAccess(registry: Registry, request: Request, method: string, path: string): Promise<void> {
  refuseBadCredentials(principalOf(request));
  await ACCESS[`${method} ${path}`]?.(registry, request);
}
