/**
 * @module retention/oci-policies
 * Retention policies of OCI repositories, in zot's vocabulary: per
 * repository pattern, which tags to keep (`keepTags` rules, OR'ed), whether
 * untagged manifests and referrers of a vanished subject go, and the delay
 * that protects fresh pushes. This module only reads and validates the
 * `oci:` section of the retention file and matches names; deciding and
 * removing is `registry/oci-retention`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** One `keepTags` rule: the tags matching `patterns` that satisfy any criterion (all of them when none is set). */
export interface KeepTagsRule {
  /** Regular expressions a tag must match in full; absent = every tag. */
  readonly patterns: readonly string[] | null;
  /** Keep tags whose manifest was pulled within this many seconds. */
  readonly pulledWithinSeconds: number | null;
  /** Keep tags pushed (set) within this many seconds. */
  readonly pushedWithinSeconds: number | null;
  /** Keep the N most recently pushed tags. */
  readonly mostRecentlyPushedCount: number | null;
  /** Keep the N most recently pulled tags (never-pulled tags do not count). */
  readonly mostRecentlyPulledCount: number | null;
}

/** One policy: the first policy whose `repositories` match a repository governs it. */
export interface OciRetentionPolicy {
  /** A name for reports and events; `policy[<index>]` when the file gives none. */
  readonly name: string;
  /** Glob patterns: `*` and `?` stay within one path segment, `**` crosses them. */
  readonly repositories: readonly string[];
  /** Remove manifests whose `subject` is no longer in the repository (default false, as zot). */
  readonly deleteReferrers: boolean;
  /** Remove manifests no tag, index or subject keeps (default true, as zot). */
  readonly deleteUntagged: boolean;
  /** Absent: every tag is kept. Present: a tag no rule keeps is removed. */
  readonly keepTags: readonly KeepTagsRule[] | null;
}

/** The `oci:` section of the retention file. */
export interface OciRetentionConfig {
  readonly policies: readonly OciRetentionPolicy[];
  /** Untagged manifests and orphaned referrers must be older than this (seconds; default 24h). */
  readonly delaySeconds: number;
}

/** The repository finalized packages are published in (ADR 0017); package retention governs it, never OCI policies. */
export const PACKAGES_OCI_REPOSITORY = 'packages';

/** Default of `oci.delay`: one day, zot's default. */
export const DEFAULT_OCI_RETENTION_DELAY_SECONDS = 86_400;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };

function duration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+)([smhdw])$/.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const seconds = Number(match[1]) * (UNITS[match[2] as string] as number);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, known: readonly string[], where: string, problems: string[]): void {
  for (const key of Object.keys(value)) if (!known.includes(key)) problems.push(`${where}: unknown key ${JSON.stringify(key)} (known: ${known.join(', ')})`);
}

/** Compiles a repository glob to an anchored regular expression. */
export function repositoryGlob(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i += 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Compiles a tag pattern; tags must match it in full (zot matches anywhere; anchoring avoids surprises like `prod` keeping `preprod-1`). */
export function tagPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/**
 * The policy governing `repository`: the first whose patterns match, or
 * null. The `packages` repository is never governed (ADR 0017, 0021).
 */
export function policyFor(config: OciRetentionConfig, repository: string): OciRetentionPolicy | null {
  if (repository === PACKAGES_OCI_REPOSITORY) return null;
  return config.policies.find((policy) => policy.repositories.some((pattern) => repositoryGlob(pattern).test(repository))) ?? null;
}

function count(value: unknown, where: string, problems: string[]): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    problems.push(`${where} must be a non-negative integer; got ${JSON.stringify(value)}`);
    return null;
  }
  return value;
}

function within(value: unknown, where: string, problems: string[]): number | null {
  if (value === undefined || value === null) return null;
  const seconds = duration(value);
  if (seconds === undefined) {
    problems.push(`${where} must be a duration like 90s, 30m, 720h, 30d or 2w; got ${JSON.stringify(value)}`);
    return null;
  }
  return seconds;
}

function parseRule(value: unknown, where: string, problems: string[]): KeepTagsRule | null {
  if (!isMap(value)) {
    problems.push(`${where} must be a mapping {patterns, pulledWithin, pushedWithin, mostRecentlyPushedCount, mostRecentlyPulledCount}`);
    return null;
  }
  unknownKeys(value, ['patterns', 'pulledWithin', 'pushedWithin', 'mostRecentlyPushedCount', 'mostRecentlyPulledCount'], where, problems);
  let patterns: string[] | null = null;
  if (value.patterns !== undefined && value.patterns !== null) {
    if (!Array.isArray(value.patterns) || value.patterns.length === 0 || value.patterns.some((p) => typeof p !== 'string' || p === '')) {
      problems.push(`${where}.patterns must be a non-empty list of regular expressions`);
    } else {
      patterns = value.patterns as string[];
      for (const pattern of patterns) {
        try {
          tagPattern(pattern);
        } catch (error) {
          problems.push(`${where}.patterns: ${JSON.stringify(pattern)} is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`);
        }
      }
    }
  }
  return {
    patterns,
    pulledWithinSeconds: within(value.pulledWithin, `${where}.pulledWithin`, problems),
    pushedWithinSeconds: within(value.pushedWithin, `${where}.pushedWithin`, problems),
    mostRecentlyPushedCount: count(value.mostRecentlyPushedCount, `${where}.mostRecentlyPushedCount`, problems),
    mostRecentlyPulledCount: count(value.mostRecentlyPulledCount, `${where}.mostRecentlyPulledCount`, problems),
  };
}

function flag(value: unknown, fallback: boolean, where: string, problems: string[]): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    problems.push(`${where} must be true or false; got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}

/**
 * Validates an `oci:` section (`{policies: [...], delay?}`), pushing one
 * message per problem onto `problems` with its path (`where` prefixes them).
 */
export function parseOciRetention(value: unknown, where: string, problems: string[]): OciRetentionConfig {
  const empty: OciRetentionConfig = { policies: [], delaySeconds: DEFAULT_OCI_RETENTION_DELAY_SECONDS };
  if (!isMap(value)) {
    problems.push(`${where}: oci must be a mapping {policies: [...], delay?}`);
    return empty;
  }
  unknownKeys(value, ['policies', 'delay'], `${where}: oci`, problems);
  const delaySeconds = value.delay === undefined ? DEFAULT_OCI_RETENTION_DELAY_SECONDS : within(value.delay, `${where}: oci.delay`, problems) ?? DEFAULT_OCI_RETENTION_DELAY_SECONDS;
  if (!Array.isArray(value.policies)) {
    problems.push(`${where}: oci.policies must be a list of policies`);
    return { ...empty, delaySeconds };
  }
  const policies: OciRetentionPolicy[] = [];
  value.policies.forEach((entry: unknown, index) => {
    const at = `${where}: oci.policies[${index}]`;
    if (!isMap(entry)) {
      problems.push(`${at} must be a mapping {repositories, deleteReferrers, deleteUntagged, keepTags}`);
      return;
    }
    unknownKeys(entry, ['name', 'repositories', 'deleteReferrers', 'deleteUntagged', 'keepTags'], at, problems);
    const repositories = entry.repositories;
    if (!Array.isArray(repositories) || repositories.length === 0 || repositories.some((p) => typeof p !== 'string' || p === '')) {
      problems.push(`${at}.repositories must be a non-empty list of repository patterns (e.g. "team/*", "tmp/**")`);
      return;
    }
    if (repositories.includes(PACKAGES_OCI_REPOSITORY)) {
      problems.push(`${at}.repositories names "${PACKAGES_OCI_REPOSITORY}", which holds finalized packages and follows package retention (retention classes), not OCI policies`);
    }
    if (entry.name !== undefined && (typeof entry.name !== 'string' || entry.name.trim() === '' || entry.name.length > 128)) {
      problems.push(`${at}.name must be a string of 1 to 128 characters`);
    }
    let keepTags: KeepTagsRule[] | null = null;
    if (entry.keepTags !== undefined && entry.keepTags !== null) {
      if (!Array.isArray(entry.keepTags)) problems.push(`${at}.keepTags must be a list of rules`);
      else keepTags = entry.keepTags.flatMap((rule: unknown, ruleIndex) => parseRule(rule, `${at}.keepTags[${ruleIndex}]`, problems) ?? []);
    }
    policies.push({
      name: typeof entry.name === 'string' && entry.name.trim() !== '' ? entry.name : `policy[${index}]`,
      repositories: repositories as string[],
      deleteReferrers: flag(entry.deleteReferrers, false, `${at}.deleteReferrers`, problems),
      deleteUntagged: flag(entry.deleteUntagged, true, `${at}.deleteUntagged`, problems),
      keepTags,
    });
  });
  return { policies, delaySeconds };
}

/**
 * Reads the `oci:` section of the retention file (YAML or JSON) named by
 * `ARTIFACTSTORE_RETENTION_CONFIG_PATH`; undefined when it has none.
 */
export function readOciRetentionFile(file: string, problems: string[]): OciRetentionConfig | undefined {
  const where = `ARTIFACTSTORE_RETENTION_CONFIG_PATH (${file})`;
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    // loadRetentionFile reports an unreadable file once.
    return undefined;
  }
  if (!isMap(document) || document.oci === undefined) return undefined;
  return parseOciRetention(document.oci, where, problems);
}
