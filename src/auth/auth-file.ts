/**
 * @module auth/auth-file
 * The principals file (`ARTIFACTSTORE_AUTH_FILE`, YAML or JSON):
 *
 *     principals:
 *       alice:
 *         password: scrypt$…          # optional
 *         tokens: [{id: …, hash: sha256$…, created_at: …}]
 *         grants: ["pull,push:team-a/*"]
 *
 * Reading validates everything (a bad file is refused whole, never half
 * applied); writing is atomic (temp file + rename, mode 0600).
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { RegistryError } from '../errors/index.js';
import { parseGrant, type Grant } from './grants.js';

/** One stored token (its hash only). */
export interface StoredToken {
  readonly id: string;
  readonly hash: string;
  readonly created_at: string;
}

/** One principal as stored. */
export interface StoredPrincipal {
  readonly password?: string;
  readonly tokens?: StoredToken[];
  readonly grants: string[];
}

/** The whole file. */
export interface AuthDocument {
  readonly principals: Record<string, StoredPrincipal>;
}

/** A principal ready for decisions. */
export interface Principal {
  readonly name: string;
  readonly passwordHash: string | null;
  readonly tokens: readonly StoredToken[];
  readonly grants: readonly Grant[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** True when `name` may name a principal. */
export function isPrincipalName(name: string): boolean {
  return NAME.test(name) && name !== 'anonymous';
}

/** Reads and validates the file; a missing file is an empty document. */
export async function readAuthFile(file: string): Promise<AuthDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { principals: {} };
    throw new RegistryError('CONFIG_INVALID', `cannot read the auth file ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new RegistryError('CONFIG_INVALID', `the auth file ${file} is not valid YAML or JSON: ${(error as Error).message}`);
  }
  return validateDocument(document ?? { principals: {} }, file);
}

/** Writes the file atomically with mode 0600. */
export async function writeAuthFile(file: string, document: AuthDocument): Promise<void> {
  validateDocument(document, file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
  await writeFile(temp, stringifyYaml(document), { mode: 0o600 });
  await rename(temp, file);
}

/** Principals of a validated document. */
export function principalsOf(document: AuthDocument): Principal[] {
  return Object.entries(document.principals).map(([name, stored]) => ({
    name,
    passwordHash: stored.password ?? null,
    tokens: stored.tokens ?? [],
    grants: stored.grants.map(parseGrant),
  }));
}

function validateDocument(document: unknown, file: string): AuthDocument {
  const fail = (why: string): never => {
    throw new RegistryError('CONFIG_INVALID', `auth file ${file}: ${why}`);
  };
  if (typeof document !== 'object' || document === null || Array.isArray(document)) fail('must be a mapping with "principals"');
  const principals = (document as { principals?: unknown }).principals ?? {};
  if (typeof principals !== 'object' || principals === null || Array.isArray(principals)) fail('"principals" must be a mapping of name to principal');
  for (const [name, value] of Object.entries(principals as Record<string, unknown>)) {
    if (!isPrincipalName(name)) fail(`principal name ${JSON.stringify(name)} must be 1-128 of A-Z a-z 0-9 . _ @ - (and not "anonymous")`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`principal ${name} must be a mapping`);
    const stored = value as Record<string, unknown>;
    if (stored.password !== undefined && (typeof stored.password !== 'string' || !stored.password.startsWith('scrypt$'))) fail(`principal ${name}: password must be an scrypt hash (use "artifactstore auth add-user"), never clear text`);
    if (stored.tokens !== undefined) {
      if (!Array.isArray(stored.tokens)) fail(`principal ${name}: tokens must be a list`);
      for (const token of stored.tokens as unknown[]) {
        const t = token as Record<string, unknown> | null;
        if (!t || typeof t.id !== 'string' || typeof t.hash !== 'string' || !t.hash.startsWith('sha256$') || typeof t.created_at !== 'string') fail(`principal ${name}: each token needs id, hash (sha256$…) and created_at`);
      }
    }
    if (!Array.isArray(stored.grants) || !(stored.grants as unknown[]).every((grant) => typeof grant === 'string')) fail(`principal ${name}: grants must be a list of "ACTIONS:PATTERN" strings`);
    for (const grant of stored.grants as string[]) {
      try {
        parseGrant(grant);
      } catch (error) {
        fail(`principal ${name}: ${(error as RegistryError).detail}`);
      }
    }
  }
  return document as AuthDocument;
}
