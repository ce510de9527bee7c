/**
 * @module auth/grants
 * Grants: actions on a name pattern, written `pull,push:team-a/*`. One
 * pattern language covers OCI repositories and native package names alike:
 * `*` matches any run of characters (slashes included), everything else
 * matches itself. `admin` implies every action.
 */
import { RegistryError } from '../errors/index.js';

/** What a grant can allow. */
export const ACTIONS = ['pull', 'push', 'delete', 'admin'] as const;
export type Action = (typeof ACTIONS)[number];

/** A parsed grant. */
export interface Grant {
  readonly actions: ReadonlySet<Action>;
  readonly pattern: string;
}

/** Parses `actions:pattern`. @throws CONFIG_INVALID with what is wrong. */
export function parseGrant(text: string): Grant {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) throw new RegistryError('CONFIG_INVALID', `grant ${JSON.stringify(text)} must be ACTIONS:PATTERN, e.g. pull,push:team-a/*`);
  const actions = text.slice(0, colon).split(',').map((action) => action.trim());
  for (const action of actions) {
    if (!(ACTIONS as readonly string[]).includes(action)) throw new RegistryError('CONFIG_INVALID', `grant ${JSON.stringify(text)}: unknown action ${JSON.stringify(action)} (known: ${ACTIONS.join(', ')})`);
  }
  const pattern = text.slice(colon + 1).trim();
  // eslint-disable-next-line no-control-regex
  if (pattern === '' || /[\s\u0000-\u001f]/.test(pattern)) throw new RegistryError('CONFIG_INVALID', `grant ${JSON.stringify(text)}: the pattern must be non-empty without spaces`);
  return { actions: new Set(actions as Action[]), pattern };
}

/** Formats a grant back to its text form. */
export function formatGrant(grant: Grant): string {
  return `${ACTIONS.filter((action) => grant.actions.has(action)).join(',')}:${grant.pattern}`;
}

/** True when `pattern` matches `name` (`*` = any run of characters). */
export function patternMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  if (!name.startsWith(parts[0]!) || !name.endsWith(parts[parts.length - 1]!)) return false;
  let position = parts[0]!.length;
  const end = name.length - parts[parts.length - 1]!.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, position);
    if (found < 0 || found + middle.length > end) return false;
    position = found + middle.length;
  }
  return position <= end;
}

/** True when some grant allows `action` on `name`. */
export function grantsAllow(grants: readonly Grant[], action: Action, name: string): boolean {
  return grants.some((grant) => (grant.actions.has(action) || grant.actions.has('admin')) && patternMatches(grant.pattern, name));
}

/** True when some grant makes the holder an administrator of everything. */
export function isAdmin(grants: readonly Grant[]): boolean {
  return grants.some((grant) => grant.actions.has('admin') && grant.pattern === '*');
}

/**
 * SQL LIKE patterns (with `\` as the escape) equivalent to the grants'
 * patterns that allow `action`, so listings can filter in the database.
 */
export function likePatterns(grants: readonly Grant[], action: Action): string[] {
  return grants
    .filter((grant) => grant.actions.has(action) || grant.actions.has('admin'))
    .map((grant) => grant.pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%'));
}
