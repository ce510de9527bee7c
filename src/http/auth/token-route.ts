/**
 * @module http/auth/token-route
 * The Docker token endpoint: `GET /token` (Basic credentials, or none for
 * anonymous pulls) and the OAuth2 form flow `POST /token`
 * (`grant_type=password`). It answers a short-lived registry token whose
 * `access` claims are the intersection of what was asked and what the
 * caller is allowed; a partial grant is not an error.
 */
import express, { type Request, type Response, type Router } from 'express';
import { parseScopes, type AccessClaim } from '../../auth/index.js';
import type { AccessAction, RequestPrincipal } from '../principal.js';
import { anonymousPrincipal, authenticateBasic, basicCredentials, grantedPrincipal, type AuthSettings } from './authentication.js';

const ACTIONS: AccessAction[] = ['pull', 'push', 'delete'];

/** The claims to grant: each requested action the principal has. */
export function grantedAccess(principal: RequestPrincipal, requested: readonly AccessClaim[]): AccessClaim[] {
  const granted: AccessClaim[] = [];
  for (const claim of requested) {
    if (claim.type === 'registry' && claim.name === 'catalog') {
      if (!principal.anonymous || principal.allows('pull', '*')) granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    if (claim.type !== 'repository') continue;
    const wanted = claim.actions.includes('*') ? ACTIONS : (claim.actions.filter((action) => (ACTIONS as string[]).includes(action)) as AccessAction[]);
    const actions = wanted.filter((action) => principal.allows(action, claim.name));
    if (actions.length > 0) granted.push({ type: 'repository', name: claim.name, actions });
  }
  return granted;
}

function tokenError(response: Response, status: number, code: string, message: string): void {
  response.status(status).setHeader('Cache-Control', 'no-store');
  if (status === 401) response.setHeader('WWW-Authenticate', 'Basic realm="artifactstore"');
  response.json({ errors: [{ code, message, detail: null }], error: code === 'UNAUTHORIZED' ? 'invalid_grant' : 'invalid_request', error_description: message });
}

/** `GET /token` and `POST /token`. */
export function createTokenRouter(settings: AuthSettings): Router {
  const router = express.Router();

  router.get('/token', async (request: Request, response: Response) => {
    let principal = anonymousPrincipal(settings.anonRead);
    const credentials = basicCredentials(request.headers.authorization);
    if (request.headers.authorization !== undefined) {
      const authenticated = credentials ? await authenticateBasic(settings, credentials.user, credentials.secret) : undefined;
      if (!authenticated) {
        tokenError(response, 401, 'UNAUTHORIZED', 'the user name or password is wrong');
        return;
      }
      principal = grantedPrincipal(authenticated, settings.anonRead);
    }
    const scopes = ([] as unknown[]).concat(request.query.scope ?? []).filter((scope): scope is string => typeof scope === 'string');
    const access = grantedAccess(principal, parseScopes(scopes));
    const issued = await settings.tokens.issue(principal.anonymous ? '' : principal.name, access);
    response.setHeader('Cache-Control', 'no-store');
    response.json({ token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt });
  });

  router.post('/token', express.urlencoded({ extended: false, limit: '16kb' }), async (request: Request, response: Response) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    if (form.grant_type !== 'password') {
      tokenError(response, 400, 'UNSUPPORTED', 'grant_type must be "password" (refresh tokens are not issued)');
      return;
    }
    if (typeof form.username !== 'string' || typeof form.password !== 'string') {
      tokenError(response, 400, 'UNSUPPORTED', 'username and password are required');
      return;
    }
    const authenticated = await authenticateBasic(settings, form.username, form.password);
    if (!authenticated) {
      tokenError(response, 401, 'UNAUTHORIZED', 'the user name or password is wrong');
      return;
    }
    const principal = grantedPrincipal(authenticated, settings.anonRead);
    const access = grantedAccess(principal, parseScopes(typeof form.scope === 'string' ? [form.scope] : []));
    const issued = await settings.tokens.issue(principal.name, access);
    response.setHeader('Cache-Control', 'no-store');
    response.json({ access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, issued_at: issued.issuedAt, scope: access.map((claim) => `${claim.type}:${claim.name}:${claim.actions.join(',')}`).join(' ') });
  });

  return router;
}

/** The `WWW-Authenticate` challenge pointing clients at the token endpoint. */
export function bearerChallenge(settings: AuthSettings, realm: string | undefined) {
  return (request: Request, scope: string | undefined): string => {
    const tokenRealm = realm ?? `${request.protocol}://${request.get('host') ?? '127.0.0.1'}/token`;
    const parts = [`realm="${tokenRealm}"`, `service="${settings.service}"`];
    if (scope) parts.push(`scope="${scope}"`);
    return `Bearer ${parts.join(',')}`;
  };
}
