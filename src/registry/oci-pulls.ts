/**
 * @module registry/oci-pulls
 * When each OCI manifest was last pulled, for the retention rules that keep
 * recently pulled tags (ADR 0021). Pull times are access statistics, not
 * registry state: they live in the operational table `oci_manifest_pulls`,
 * outside the log, and are coalesced to one write per manifest and minute
 * per process so that a busy tag costs one upsert a minute, not one per pull.
 */
import type { RegistryContext } from './context.js';

/** Writes of one manifest's pull time closer together than this are skipped. */
export const PULL_COALESCE_MS = 60_000;

/** Most entries the per-process coalescing memory holds before it starts over. */
const MEMORY_LIMIT = 10_000;

const written = new WeakMap<RegistryContext, Map<string, number>>();

/**
 * Records that `repository@digest` was pulled at `at`, unless this process
 * recorded it less than a minute earlier. A failure is swallowed: a pull
 * must never fail because its statistics could not be written.
 */
export async function recordPull(ctx: RegistryContext, repository: string, digest: string, at: Date = new Date()): Promise<void> {
  let memory = written.get(ctx);
  if (!memory) {
    memory = new Map();
    written.set(ctx, memory);
  }
  const key = `${repository}@${digest}`;
  const last = memory.get(key);
  if (last !== undefined && at.getTime() - last < PULL_COALESCE_MS) return;
  if (memory.size >= MEMORY_LIMIT) memory.clear();
  memory.set(key, at.getTime());
  try {
    await ctx.db.knex('oci_manifest_pulls')
      .insert({ repository, digest, last_pulled_at: at.toISOString() })
      .onConflict(['repository', 'digest'])
      .merge(['last_pulled_at']);
  } catch {
    // Statistics only; the next pull a minute later tries again.
    memory.delete(key);
  }
}

/** Last pull time per manifest digest of `repository` (ISO-8601), for the manifests ever pulled. */
export async function pullTimes(ctx: RegistryContext, repository: string): Promise<Map<string, string>> {
  const rows = await ctx.db.knex('oci_manifest_pulls').where({ repository }).select('digest', 'last_pulled_at');
  return new Map(rows.map((row) => [row.digest as string, row.last_pulled_at as string]));
}
