/**
 * @module auth/secrets
 * Hashing of passwords (scrypt, salted, tunable cost) and bearer tokens
 * (SHA-256: tokens are 256 random bits, so a slow hash adds nothing), and
 * constant-time verification. Clear secrets are never stored.
 */
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

const N = 1 << 15;
const R = 8;
const P = 1;

/** `scrypt$N$r$p$<salt b64>$<hash b64>` of `password`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `password` matches `encoded` (from {@link hashPassword}). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((value) => Number.isSafeInteger(value) && value > 0) || n > 1 << 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const actual = await scrypt(password, salt, expected.length, { N: n, r, p, maxmem: 256 * 1024 * 1024 });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Prefix of every token we issue, so scanners and people recognise them. */
export const TOKEN_PREFIX = 'ast_';

/** A new bearer token: the prefix and 256 random bits. */
export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** `sha256$<hex>` of a token, as stored. */
export function hashToken(token: string): string {
  return `sha256$${createHash('sha256').update(token).digest('hex')}`;
}

/** True when `token` hashes to `encoded`, in constant time. */
export function verifyToken(token: string, encoded: string): boolean {
  const actual = Buffer.from(hashToken(token));
  const expected = Buffer.from(encoded);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
