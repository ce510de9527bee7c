/**
 * @module http/principal
 * Who is making a request and what they may do, as authentication
 * established it. Everything downstream (authorization, actors of events,
 * rate limits, access logs, metrics) reads it from here and nowhere else.
 */
import type { Request } from 'express';

/** Actions a caller may be allowed on a name (an OCI repository or a package name). */
export type AccessAction = 'pull' | 'push' | 'delete' | 'admin';

/** An authenticated caller, or the anonymous one. */
export interface RequestPrincipal {
  /** Principal name; `anonymous` when no credentials were presented. */
  readonly name: string;
  readonly anonymous: boolean;
  /** True when the caller may do anything (an `admin:*` grant, or a server running open). */
  readonly admin: boolean;
  /** True when the caller presented a registry token: missing access means "ask for a new token" (401), not 403. */
  readonly tokenLimited?: boolean;
  /** Set when credentials were presented but did not authenticate: every check answers 401 with this reason. */
  readonly credentialError?: string;
  /** Whether the caller may do `action` on `name`. */
  allows(action: AccessAction, name: string): boolean;
  /**
   * SQL LIKE patterns (escape `\`) of the names the caller may `action`, or
   * null when every name is allowed — for filtering listings in the database.
   */
  namePatterns(action: AccessAction): string[] | null;
}

/** The caller nobody authenticated, on a server where authentication is not in force. */
export const OPEN_ANONYMOUS: RequestPrincipal = Object.freeze({
  name: 'anonymous',
  anonymous: true,
  admin: true,
  allows: () => true,
  namePatterns: () => null,
});

const PRINCIPAL = Symbol('artifactstore.principal');

/** Records the caller of `request` (called once, by authentication). */
export function setPrincipal(request: Request, principal: RequestPrincipal): void {
  (request as unknown as Record<symbol, RequestPrincipal>)[PRINCIPAL] = principal;
}

/** The caller of `request`; an unrestricted anonymous caller when nothing authenticated it (a server running open). */
export function principalOf(request: Request): RequestPrincipal {
  return (request as unknown as Record<symbol, RequestPrincipal | undefined>)[PRINCIPAL] ?? OPEN_ANONYMOUS;
}

/** @deprecated alias of {@link OPEN_ANONYMOUS}. */
export const ANONYMOUS = OPEN_ANONYMOUS;
