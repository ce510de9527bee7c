/**
 * @module auth/jwt
 * Registry tokens of the Docker token flow: short-lived JWTs (ES256, jose)
 * whose `access` claims list what the bearer may do. The signing key is
 * generated on first start into the data directory, or configured.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type CryptoKey } from 'jose';
import { RegistryError } from '../errors/index.js';

/** One access claim: `repository:<name>:<actions>` parsed. */
export interface AccessClaim {
  readonly type: string;
  readonly name: string;
  readonly actions: string[];
}

/** What a verified token says. */
export interface VerifiedToken {
  readonly subject: string;
  readonly access: AccessClaim[];
}

/** Lifetime of issued tokens (the spec's minimum is 60 s). */
export const TOKEN_LIFETIME_SECONDS = 300;

/** Signs and verifies registry tokens with one key pair. */
export class TokenService {
  private constructor(private readonly privateKey: CryptoKey, private readonly publicKey: CryptoKey, readonly issuer: string, readonly service: string) {}

  /** Loads the key from `keyFile`, generating it (mode 0600) when absent. */
  static async open(keyFile: string, service: string): Promise<TokenService> {
    let jwk: JWK;
    try {
      jwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RegistryError('CONFIG_INVALID', `cannot read the token signing key ${keyFile}: ${(error as Error).message}`);
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: randomUUID() };
      await mkdir(path.dirname(keyFile), { recursive: true });
      const temp = `${keyFile}.${randomUUID()}.tmp`;
      await writeFile(temp, JSON.stringify(jwk), { mode: 0o600 });
      await rename(temp, keyFile);
    }
    const privateKey = (await importJWK(jwk, 'ES256')) as CryptoKey;
    const { d: _d, ...publicJwk } = jwk;
    const publicKey = (await importJWK(publicJwk, 'ES256')) as CryptoKey;
    return new TokenService(privateKey, publicKey, 'artifactstore', service);
  }

  /** A signed token for `subject` granting `access`. */
  async issue(subject: string, access: AccessClaim[], lifetimeSeconds = TOKEN_LIFETIME_SECONDS): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(this.issuer)
      .setAudience(this.service)
      .setSubject(subject)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn: lifetimeSeconds, issuedAt: new Date(now * 1000).toISOString() };
  }

  /** Verifies a token (signature, issuer, audience, expiry) or returns undefined. */
  async verify(token: string): Promise<VerifiedToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { issuer: this.issuer, audience: this.service, algorithms: ['ES256'] });
      const access = Array.isArray(payload.access) ? (payload.access as AccessClaim[]) : [];
      return { subject: String(payload.sub ?? ''), access };
    } catch {
      return undefined;
    }
  }
}

/** Parses `repository:<name>:<actions>` scopes (repeatable; `registry:catalog:*` kept as is). */
export function parseScopes(scopes: readonly string[]): AccessClaim[] {
  const claims: AccessClaim[] = [];
  for (const scope of scopes) {
    for (const item of scope.split(' ')) {
      const first = item.indexOf(':');
      const last = item.lastIndexOf(':');
      if (first <= 0 || last === first) continue;
      claims.push({ type: item.slice(0, first), name: item.slice(first + 1, last), actions: item.slice(last + 1).split(',').filter(Boolean) });
    }
  }
  return claims;
}
