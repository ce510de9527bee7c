/**
 * @module http/auth/authentication
 * Establishes who is calling, for both APIs: `Authorization: Basic` (a
 * password, or an API token as the password), `Bearer <API token>`, or
 * `Bearer <registry JWT>` from the Docker token flow. With no principals
 * configured the server runs open and every caller may do everything.
 */
import type { NextFunction, Request, Response } from 'express';
import { grantsAllow, isAdmin, likePatterns, TOKEN_PREFIX, type AuthStore, type Grant, type Principal, type TokenService, type AccessClaim } from '../../auth/index.js';
import { setPrincipal, type AccessAction, type RequestPrincipal } from '../principal.js';

/** How the server authenticates and what anonymous callers may do. */
export interface AuthSettings {
  readonly store: AuthStore;
  readonly tokens: TokenService;
  /** Anonymous callers may pull everything (when authentication is in force). */
  readonly anonRead: boolean;
  /** The `service` of the token flow (the registry's host name by default). */
  readonly service: string;
  /**
   * Whether the server may run open while the principals file names nobody
   * (loopback, or `ARTIFACTSTORE_ALLOW_OPEN`). False: revoking every
   * principal or removing the file leaves every request anonymous, never
   * unrestricted. Absent: true (embedded use).
   */
  readonly openAllowed?: boolean;
}

/** Authentication of an app; absent, the server runs open. */
export interface HttpAuth {
  readonly settings: AuthSettings;
  /** Token endpoint URL to advertise; undefined: derived from each request's Host. */
  readonly realm?: string | undefined;
}

/** A principal built from grants (Basic or API token). */
export function grantedPrincipal(principal: Principal, anonRead: boolean): RequestPrincipal {
  const grants = principal.grants;
  const admin = isAdmin(grants);
  return {
    name: principal.name,
    anonymous: false,
    admin,
    allows: (action, name) => grantsAllow(grants, action, name) || (action === 'pull' && anonRead),
    namePatterns: (action) => (admin || (action === 'pull' && anonRead) || grantsAllow(grants, action, '*') ? null : likePatterns(grants, action)),
  };
}

/** The anonymous caller when authentication is in force. */
export function anonymousPrincipal(anonRead: boolean): RequestPrincipal {
  return {
    name: 'anonymous',
    anonymous: true,
    admin: false,
    allows: (action) => action === 'pull' && anonRead,
    namePatterns: (action) => (action === 'pull' && anonRead ? null : []),
  };
}

/**
 * A principal limited to a registry token's `access` claims and, when the
 * token names a principal, to that principal's grants as they are now (so
 * narrowing a grant takes effect on tokens already issued). The
 * `registry:catalog:*` claim lets the bearer list what its principal may
 * pull — never more.
 */
export function tokenPrincipal(subject: string, access: readonly AccessClaim[], anonRead: boolean, grants?: readonly Grant[]): RequestPrincipal {
  const stillGranted = (action: AccessAction, name: string): boolean => grants === undefined || grantsAllow(grants, action, name);
  const claimed = (claim: AccessClaim, action: AccessAction): boolean => claim.type === 'repository' && (claim.actions.includes(action) || claim.actions.includes('*'));
  const allowed = (action: AccessAction, name: string): boolean => access.some((claim) => claim.name === name && claimed(claim, action)) && stillGranted(action, name);
  const catalog = access.some((claim) => claim.type === 'registry' && claim.name === 'catalog');
  return {
    name: subject || 'anonymous',
    anonymous: !subject,
    admin: false,
    tokenLimited: true,
    allows: (action, name) => allowed(action, name) || (action === 'pull' && anonRead),
    namePatterns: (action) => {
      if (action === 'pull' && anonRead) return null;
      if (action === 'pull' && catalog && grants !== undefined) return isAdmin(grants) || grantsAllow(grants, 'pull', '*') ? null : likePatterns(grants, 'pull');
      return access.filter((claim) => claimed(claim, action) && stillGranted(action, claim.name)).map((claim) => claim.name.replace(/[\\%_]/g, (c) => `\\${c}`));
    },
  };
}

/** Decodes `Basic base64(user:secret)`. */
export function basicCredentials(header: string | undefined): { user: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** Authenticates `user` with a password or one of their API tokens. */
export async function authenticateBasic(settings: AuthSettings, user: string, secret: string): Promise<Principal | undefined> {
  if (secret.startsWith(TOKEN_PREFIX)) {
    const owner = settings.store.authenticateToken(secret);
    return owner && owner.name === user ? owner : undefined;
  }
  return settings.store.authenticatePassword(user, secret);
}

/** A caller whose credentials did not authenticate: allowed nothing; authorization answers 401 with `reason`. */
export function rejectedPrincipal(reason: string): RequestPrincipal {
  return { name: 'anonymous', anonymous: true, admin: false, credentialError: reason, allows: () => false, namePatterns: () => [] };
}

/** Who the `Authorization` header says the caller is. Never throws for bad credentials: see {@link rejectedPrincipal}. */
export async function principalFromHeader(settings: AuthSettings, header: string | undefined): Promise<RequestPrincipal> {
  if (!header) return anonymousPrincipal(settings.anonRead);
  const basic = basicCredentials(header);
  if (basic) {
    const principal = await authenticateBasic(settings, basic.user, basic.secret);
    return principal ? grantedPrincipal(principal, settings.anonRead) : rejectedPrincipal('the user name or password is wrong');
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (!bearer) return rejectedPrincipal('unsupported Authorization scheme; use Basic or Bearer');
  if (bearer.startsWith(TOKEN_PREFIX)) {
    const principal = settings.store.authenticateToken(bearer);
    return principal ? grantedPrincipal(principal, settings.anonRead) : rejectedPrincipal('the token is not valid (revoked or mistyped)');
  }
  const verified = await settings.tokens.verify(bearer);
  if (!verified) return rejectedPrincipal('the registry token is invalid or expired');
  // A principal revoked since the token was issued loses access at once; one whose grants narrowed keeps only what is still granted.
  const owner = verified.subject ? settings.store.principal(verified.subject) : undefined;
  if (verified.subject && !owner) return rejectedPrincipal('the token was issued to a principal that no longer exists');
  return tokenPrincipal(verified.subject, verified.access, settings.anonRead, owner?.grants);
}

/**
 * The authentication middleware, for the whole app: sets the request's
 * principal. With no principals configured it does nothing (the server runs
 * open) — unless the server may not run open, when every caller stays
 * anonymous. Bad credentials are recorded, not refused here, so each API
 * refuses them in its own error format.
 */
export function authenticate(settings: AuthSettings) {
  return async (request: Request, _response: Response, next: NextFunction): Promise<void> => {
    try {
      if (settings.store.enabled || settings.openAllowed === false) setPrincipal(request, await principalFromHeader(settings, request.headers.authorization));
      next();
    } catch (error) {
      next(error);
    }
  };
}

export type { Grant };
