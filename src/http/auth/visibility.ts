/**
 * @module http/auth/visibility
 * Resolving what a request touches to the name grants are written on (a
 * package name or an OCI repository), and filtering events to those the
 * caller may read.
 */
import { RegistryError, isRegistryError } from '../../errors/index.js';
import type { EventView, Registry } from '../../registry/index.js';
import type { AccessAction, RequestPrincipal } from '../principal.js';

/**
 * Throws unless `principal` may do `action` on `name`: 401 for an anonymous
 * caller (who should authenticate), 403 for an authenticated one.
 */
export function demand(principal: RequestPrincipal, action: AccessAction, name: string, scope?: string): void {
  refuseBadCredentials(principal);
  if (principal.allows(action, name)) return;
  if (principal.anonymous) throw new RegistryError('UNAUTHORIZED', `authentication required to ${action} ${name}`, scope ? { scope } : undefined);
  throw new RegistryError('DENIED', `${principal.name} may not ${action} ${name}`, scope ? { scope } : undefined);
}

/** Throws UNAUTHORIZED when the caller presented credentials that did not authenticate. */
export function refuseBadCredentials(principal: RequestPrincipal): void {
  if (principal.credentialError !== undefined) throw new RegistryError('UNAUTHORIZED', principal.credentialError);
}

/** Throws unless the caller is an administrator. */
export function demandAdmin(principal: RequestPrincipal): void {
  refuseBadCredentials(principal);
  if (principal.admin) return;
  if (principal.anonymous) throw new RegistryError('UNAUTHORIZED', 'authentication required');
  throw new RegistryError('DENIED', `${principal.name} is not an administrator`);
}

/** A per-request resolver of package ids to names, caching what it looked up. */
export function packageNames(registry: Registry): (packageId: string) => Promise<string | null> {
  const cache = new Map<string, string | null>();
  return async (packageId) => {
    if (cache.has(packageId)) return cache.get(packageId)!;
    let name: string | null = null;
    try {
      name = (await registry.getPackage(packageId)).name;
    } catch (error) {
      if (!isRegistryError(error, 'PACKAGE_NOT_FOUND')) throw error;
    }
    cache.set(packageId, name);
    return name;
  };
}

/** A predicate telling whether the caller may read an event (what it is about). */
export function eventVisibility(registry: Registry, principal: RequestPrincipal): (event: EventView) => Promise<boolean> {
  if (principal.admin || principal.namePatterns('pull') === null) return async () => true;
  const nameOf = packageNames(registry);
  return async (event) => {
    const payload = (event.payload ?? {}) as Record<string, unknown>;
    let name: string | null = null;
    if (event.subject_kind === 'oci' && typeof payload.repository === 'string') name = payload.repository;
    else if (event.subject_kind === 'package' || event.subject_kind === 'retention') name = await nameOf(event.subject_id);
    else if (event.subject_kind === 'file' && typeof payload.package_id === 'string') name = await nameOf(payload.package_id);
    return name !== null && principal.allows('pull', name);
  };
}
