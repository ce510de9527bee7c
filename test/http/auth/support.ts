/**
 * Helpers for the authentication tests: a principals file written the way
 * the CLI writes it, a registry served with authentication over loopback
 * HTTP, credentials, and bounded polling (never a blind sleep).
 */
import { randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { AuthStore, TokenService, hashPassword, hashToken, newToken, writeAuthFile, type AuthDocument, type StoredPrincipal } from '../../../src/auth/index.js';
import type { AuthSettings } from '../../../src/http/auth/index.js';
import { principalOf } from '../../../src/http/principal.js';
import { startServer, type RunningServer } from '../../../src/http/server.js';
import type { Registry } from '../../../src/registry/index.js';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;

/**
 * An scrypt password hash in exactly the stored format of `hashPassword`
 * (`scrypt$N$r$p$salt$hash`), at a low cost (N = 2^10) so hundreds of
 * Basic requests stay fast. The server verifies it with the cost the hash
 * names, through the same code path as a production hash.
 */
export async function cheapPasswordHash(password: string): Promise<string> {
  const N = 1 << 10;
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { N, r: 8, p: 1 });
  return `scrypt$${N}$8$1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** One principal to create: its grants; a password and an API token are generated. */
export interface PrincipalSpec {
  readonly grants: readonly string[];
}

/** The clear secrets of a created principal (the file holds only hashes). */
export interface Credentials {
  readonly name: string;
  readonly password: string;
  readonly token: string;
  readonly tokenId: string;
}

/** `Basic base64(user:secret)`. */
export function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs` with `what`. */
export async function eventually(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A registry served with authentication, its principals file and how to edit it. */
export interface AuthServer {
  readonly base: string;
  readonly host: string;
  readonly server: RunningServer;
  readonly settings: AuthSettings;
  readonly file: string;
  readonly dir: string;
  /** Clear credentials by principal name. */
  readonly credentials: Map<string, Credentials>;
  /** What the server logged (JSON lines), to wait for a reload without sleeping. */
  readonly logs: string[];
  /** The document last written. */
  document(): AuthDocument;
  /** Writes `document` atomically (as the CLI does); the server picks it up by itself. */
  write(document: AuthDocument): Promise<void>;
  /** Adds (or replaces) principals, generating their secrets. */
  addPrincipals(specs: Readonly<Record<string, PrincipalSpec>>): Promise<void>;
  /** Serves the same registry, store and key again with other settings (e.g. anonymous read). */
  serveAlso(overrides: Partial<Pick<AuthSettings, 'anonRead' | 'openAllowed'>>): Promise<RunningServer>;
  close(): Promise<void>;
}

/**
 * Serves `registry` on 127.0.0.1 with authentication over a fresh principals
 * file holding `specs`, watched every `intervalMs`. `/metrics` is for
 * administrators, as `artifactstore serve` wires it.
 */
export async function serveWithAuth(
  registry: Registry,
  specs: Readonly<Record<string, PrincipalSpec>>,
  options: { anonRead?: boolean; intervalMs?: number; service?: string; realHashes?: boolean } = {},
): Promise<AuthServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-auth-http-'));
  const file = path.join(dir, 'principals.yaml');
  const credentials = new Map<string, Credentials>();
  let current: AuthDocument = { principals: {} };
  const hash = options.realHashes ? hashPassword : cheapPasswordHash;
  const addPrincipals = async (more: Readonly<Record<string, PrincipalSpec>>): Promise<void> => {
    const principals: Record<string, StoredPrincipal> = { ...current.principals };
    for (const [name, spec] of Object.entries(more)) {
      const password = `${name}-${randomBytes(6).toString('hex')}`;
      const token = newToken();
      const tokenId = `tok-${name}`;
      credentials.set(name, { name, password, token, tokenId });
      principals[name] = { password: await hash(password), tokens: [{ id: tokenId, hash: hashToken(token), created_at: new Date().toISOString() }], grants: [...spec.grants] };
    }
    current = { principals };
    await writeAuthFile(file, current);
  };
  await addPrincipals(specs);
  const logs: string[] = [];
  const storeLogger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const store = await AuthStore.open(file, { watch: true, intervalMs: options.intervalMs ?? 50, logger: storeLogger });
  const tokens = await TokenService.open(path.join(dir, 'token-signing-key.jwk.json'), options.service ?? 'artifactstore-test');
  const settings: AuthSettings = { store, tokens, anonRead: options.anonRead ?? false, service: options.service ?? 'artifactstore-test' };
  const logger = pino({ level: 'silent' });
  const servers: RunningServer[] = [];
  const serve = async (auth: AuthSettings): Promise<RunningServer> => {
    const running = await startServer(registry, { host: '127.0.0.1', port: 0 }, logger, undefined, {
      auth: { settings: auth },
      authorizeMetrics: (request) => principalOf(request).admin,
    });
    servers.push(running);
    return running;
  };
  const server = await serve(settings);
  const host = `127.0.0.1:${server.address.port}`;
  return {
    base: `http://${host}`,
    host,
    server,
    settings,
    file,
    dir,
    credentials,
    logs,
    document: () => current,
    write: async (document) => {
      current = document;
      await writeAuthFile(file, document);
    },
    addPrincipals,
    serveAlso: (overrides) => serve({ ...settings, ...overrides }),
    close: async () => {
      for (const running of servers) {
        running.server.closeAllConnections();
        await running.close();
      }
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
