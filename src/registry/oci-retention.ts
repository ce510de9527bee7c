/**
 * @module registry/oci-retention
 * OCI retention policies (ADR 0021), with zot's semantics: the first policy
 * whose repository patterns match governs a repository (none: untouched;
 * `packages` never, it follows package retention); a tag is kept when any
 * `keepTags` rule keeps it, and removed otherwise; then every manifest no
 * kept tag, kept index or present subject holds is removed when the policy
 * says so and it is older than the delay. Removals go through the ordinary
 * OCI deletion paths, so each is a `v1.oci.tag.deleted`,
 * `v1.oci.manifest.deleted` or (a config or layer only removed manifests
 * listed) `v1.oci.blob.unlinked` event carrying the policy, rule and reason.
 */
import { RegistryError } from '../errors/index.js';
import { policyFor, tagPattern, type KeepTagsRule, type OciRetentionConfig, type OciRetentionPolicy } from '../retention/index.js';
import type { Actor, RegistryContext } from './context.js';
import { deleteManifest } from './oci/manifests.js';
import { deleteBlob } from './oci/blobs.js';
import { pullTimes } from './oci-pulls.js';

/**
 * What removes an item: a tag no rule keeps, an unreferenced manifest, a
 * referrer whose subject is gone, a config or layer only removed manifests
 * listed.
 */
export type OciRetentionRule = 'tag-not-kept' | 'untagged' | 'referrer-orphaned' | 'blob-unreferenced';

/** One removal a policy decides. */
export interface OciRetentionAction {
  readonly repository: string;
  readonly kind: 'tag' | 'manifest' | 'blob';
  /** The tag removed (kind `tag`), else null. */
  readonly tag: string | null;
  /** The manifest digest (the tag's target for kind `tag`), or the blob's. */
  readonly digest: string;
  readonly policy: string;
  readonly rule: OciRetentionRule;
  readonly reason: string;
}

/** Outcome of {@link applyOciRetention}. */
export interface OciRetentionReport {
  readonly dryRun: boolean;
  /** Repositories a policy governs. */
  readonly repositories: number;
  /** Everything decided, in the order applied. */
  readonly actions: OciRetentionAction[];
  /** Removals recorded (0 on a dry run). */
  readonly removed: number;
  /** Decided removals skipped because the repository changed meanwhile (a tag moved, a manifest got tagged). */
  readonly skipped: number;
}

/** Options of {@link applyOciRetention}. */
export interface OciRetentionOptions {
  /** The policies; default: the deployment's (`ARTIFACTSTORE_RETENTION_CONFIG_PATH`). */
  readonly config?: OciRetentionConfig;
  /** Decide and report, change nothing. */
  readonly dryRun?: boolean;
  readonly now?: Date;
  readonly actor?: Actor;
}

/** The actor of removals the policies decide. */
export const OCI_RETENTION_ACTOR = 'system:retention';

interface TagRow { tag: string; digest: string; updatedAt: string; sequence: number }
interface ManifestRow { digest: string; createdAt: string; subject: string | null }

/** A repository's state as the planner needs it. */
export interface RepositoryState {
  readonly tags: readonly TagRow[];
  readonly manifests: readonly ManifestRow[];
  /** Index digest → the child manifests it lists. */
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Manifest digest → the config and layer digests it lists. */
  readonly blobs: ReadonlyMap<string, readonly string[]>;
  /** Digests linked in the repository. */
  readonly links: ReadonlySet<string>;
  /** Manifest digest → last pull time (ISO-8601). */
  readonly pulls: ReadonlyMap<string, string>;
}

function ago(now: Date, seconds: number): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}

/** The tags one `keepTags` rule keeps. */
function keptBy(rule: KeepTagsRule, tags: readonly TagRow[], pulls: ReadonlyMap<string, string>, now: Date): Set<string> {
  const patterns = rule.patterns?.map(tagPattern) ?? null;
  const candidates = patterns ? tags.filter((row) => patterns.some((pattern) => pattern.test(row.tag))) : [...tags];
  const criteria = [rule.pulledWithinSeconds, rule.pushedWithinSeconds, rule.mostRecentlyPushedCount, rule.mostRecentlyPulledCount];
  if (criteria.every((value) => value === null)) return new Set(candidates.map((row) => row.tag));
  const kept = new Set<string>();
  if (rule.pulledWithinSeconds !== null) {
    const since = ago(now, rule.pulledWithinSeconds);
    for (const row of candidates) if ((pulls.get(row.digest) ?? '') >= since) kept.add(row.tag);
  }
  if (rule.pushedWithinSeconds !== null) {
    const since = ago(now, rule.pushedWithinSeconds);
    for (const row of candidates) if (row.updatedAt >= since) kept.add(row.tag);
  }
  if (rule.mostRecentlyPushedCount !== null) {
    // Timestamps have millisecond resolution; the event sequence breaks ties in push order.
    const recent = [...candidates].sort((a, b) => (a.updatedAt === b.updatedAt ? b.sequence - a.sequence : a.updatedAt < b.updatedAt ? 1 : -1));
    for (const row of recent.slice(0, rule.mostRecentlyPushedCount)) kept.add(row.tag);
  }
  if (rule.mostRecentlyPulledCount !== null) {
    const pulled = candidates.filter((row) => pulls.has(row.digest));
    pulled.sort((a, b) => {
      const x = pulls.get(a.digest) as string;
      const y = pulls.get(b.digest) as string;
      return x === y ? (a.tag < b.tag ? -1 : 1) : x < y ? 1 : -1;
    });
    for (const row of pulled.slice(0, rule.mostRecentlyPulledCount)) kept.add(row.tag);
  }
  return kept;
}

/**
 * Decides what `policy` removes from one repository, as a pure function of
 * its state: tags first, then manifests, referrers and indexes before what
 * they point at, so that no intermediate state shows a dangling reference.
 */
export function planRepository(repository: string, state: RepositoryState, policy: OciRetentionPolicy, delaySeconds: number, now: Date): OciRetentionAction[] {
  const actions: OciRetentionAction[] = [];
  const keptTags = new Set<string>();
  if (policy.keepTags === null) {
    for (const row of state.tags) keptTags.add(row.tag);
  } else {
    for (const rule of policy.keepTags) for (const tag of keptBy(rule, state.tags, state.pulls, now)) keptTags.add(tag);
  }
  for (const row of [...state.tags].sort((a, b) => (a.tag < b.tag ? -1 : 1))) {
    if (keptTags.has(row.tag)) continue;
    actions.push({
      repository, kind: 'tag', tag: row.tag, digest: row.digest, policy: policy.name, rule: 'tag-not-kept',
      reason: `tag ${row.tag} (pushed ${row.updatedAt}) is kept by no keepTags rule of policy ${policy.name}`,
    });
  }

  const present = new Set(state.manifests.map((m) => m.digest));
  const old = ago(now, delaySeconds);
  const roots = new Set<string>();
  for (const row of state.tags) if (keptTags.has(row.tag) && present.has(row.digest)) roots.add(row.digest);
  for (const m of state.manifests) {
    const removable = m.createdAt <= old && (m.subject === null ? policy.deleteUntagged : policy.deleteReferrers);
    if (!removable) roots.add(m.digest);
  }
  // Alive: the roots, the children of alive indexes, and referrers of alive subjects.
  const alive = new Set<string>();
  const stack = [...roots];
  const referrersOf = new Map<string, string[]>();
  for (const m of state.manifests) if (m.subject !== null) referrersOf.set(m.subject, [...(referrersOf.get(m.subject) ?? []), m.digest]);
  while (stack.length > 0) {
    const digest = stack.pop() as string;
    if (alive.has(digest) || !present.has(digest)) continue;
    alive.add(digest);
    stack.push(...(state.children.get(digest) ?? []), ...(referrersOf.get(digest) ?? []));
  }
  const removed = state.manifests.filter((m) => !alive.has(m.digest));
  // Referrers first, then indexes, then the rest; each group by digest.
  const rank = (m: ManifestRow): number => (m.subject !== null ? 0 : (state.children.get(m.digest)?.length ?? 0) > 0 ? 1 : 2);
  removed.sort((a, b) => rank(a) - rank(b) || (a.digest < b.digest ? -1 : 1));
  for (const m of removed) {
    if (m.subject !== null) {
      actions.push({
        repository, kind: 'manifest', tag: null, digest: m.digest, policy: policy.name, rule: 'referrer-orphaned',
        reason: present.has(m.subject)
          ? `referrer (pushed ${m.createdAt}) of ${m.subject}, which this run removes`
          : `referrer (pushed ${m.createdAt}) of ${m.subject}, which is not in the repository`,
      });
    } else {
      actions.push({
        repository, kind: 'manifest', tag: null, digest: m.digest, policy: policy.name, rule: 'untagged',
        reason: `untagged and in no kept index, pushed ${m.createdAt}, more than ${delaySeconds}s ago`,
      });
    }
  }
  // Configs and layers only removed manifests listed: unlinked, so their bytes can go to GC.
  const gone = new Set(removed.map((m) => m.digest));
  const stillListed = new Set(state.manifests.filter((m) => !gone.has(m.digest)).flatMap((m) => state.blobs.get(m.digest) ?? []));
  const orphaned = new Set(removed.flatMap((m) => state.blobs.get(m.digest) ?? []).filter((digest) => state.links.has(digest) && !stillListed.has(digest)));
  for (const digest of [...orphaned].sort()) {
    actions.push({
      repository, kind: 'blob', tag: null, digest, policy: policy.name, rule: 'blob-unreferenced',
      reason: 'a config or layer listed only by manifests this run removes',
    });
  }
  return actions;
}

async function repositoryState(ctx: RegistryContext, repository: string): Promise<RepositoryState> {
  const knex = ctx.db.knex;
  const tags = (await knex('oci_tags').where({ repository }).select('tag', 'manifest_digest', 'updated_at', 'event_sequence')).map((row) => ({
    tag: row.tag as string, digest: row.manifest_digest as string, updatedAt: row.updated_at as string, sequence: Number(row.event_sequence),
  }));
  const manifests = (await knex('oci_manifests').where({ repository }).select('digest', 'created_at', 'subject_digest')).map((row) => ({
    digest: row.digest as string, createdAt: row.created_at as string, subject: (row.subject_digest as string | null) ?? null,
  }));
  const children = new Map<string, string[]>();
  const blobs = new Map<string, string[]>();
  for (const row of await knex('oci_manifest_references').where({ repository }).whereIn('kind', ['manifest', 'config', 'layer']).select('manifest_digest', 'digest', 'kind')) {
    const into = row.kind === 'manifest' ? children : blobs;
    into.set(row.manifest_digest, [...(into.get(row.manifest_digest) ?? []), row.digest]);
  }
  const links = new Set((await knex('oci_blob_links').where({ repository }).pluck('digest')) as string[]);
  return { tags, manifests, children, blobs, links, pulls: await pullTimes(ctx, repository) };
}

/**
 * Applies the OCI retention policies to every governed repository (or, on
 * a dry run, only reports what would go). Each removal is its own
 * transaction through the ordinary deletion path, guarded so that a tag
 * moved or a manifest tagged since the decision is skipped, not removed.
 */
export async function applyOciRetention(ctx: RegistryContext, options: OciRetentionOptions = {}): Promise<OciRetentionReport> {
  const config = options.config ?? ctx.ociRetention;
  const dryRun = options.dryRun ?? false;
  if (!config || config.policies.length === 0) return { dryRun, repositories: 0, actions: [], removed: 0, skipped: 0 };
  const now = options.now ?? new Date();
  const actor = options.actor ?? OCI_RETENTION_ACTOR;
  const names = (await ctx.db.knex('oci_repositories').orderBy('name').pluck('name')) as string[];
  const actions: OciRetentionAction[] = [];
  let repositories = 0;
  let removed = 0;
  let skipped = 0;
  for (const repository of names) {
    const policy = policyFor(config, repository);
    if (!policy) continue;
    repositories += 1;
    const planned = planRepository(repository, await repositoryState(ctx, repository), policy, config.delaySeconds, now);
    actions.push(...planned);
    if (dryRun) continue;
    for (const action of planned) {
      const why = { policy: action.policy, rule: action.rule, reason: action.reason };
      const removal = action.kind === 'tag'
        ? deleteManifest(ctx, repository, action.tag as string, actor, { ...why, expectedDigest: action.digest })
        : action.kind === 'manifest'
          ? deleteManifest(ctx, repository, action.digest, actor, { ...why, onlyIfUntagged: true })
          : deleteBlob(ctx, repository, action.digest, actor, why);
      const done = await removal.catch((error: unknown) => {
        // Removed meanwhile (by a client, or another process's run): nothing left to do.
        if (error instanceof RegistryError && (error.code === 'MANIFEST_UNKNOWN' || error.code === 'BLOB_UNKNOWN')) return false;
        throw error;
      });
      if (done) removed += 1;
      else skipped += 1;
    }
    // Pull statistics of manifests that are gone would only mislead a later push of the same digest.
    await ctx.db.knex('oci_manifest_pulls').where({ repository }).whereNotExists(function () {
      void this.from('oci_manifests').whereRaw('oci_manifests.repository = oci_manifest_pulls.repository').andWhereRaw('oci_manifests.digest = oci_manifest_pulls.digest');
    }).delete();
  }
  return { dryRun, repositories, actions, removed, skipped };
}
