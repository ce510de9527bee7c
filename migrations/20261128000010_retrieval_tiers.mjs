// @ts-check
/**
 * Retrieval tiers (docs/adr/0022). `storage_locations` has carried
 * `retrieval_tier` (default `hot`) and `restore_status` (default `none`)
 * since the foundation migration, and every location event names its tier
 * (events written before tiers existed all say `hot`), so no column changes
 * and nothing is backfilled. What tiers add is a query: `storage move` looks
 * for hot copies older than a cut-off, per backend; this index makes that a
 * range scan instead of a walk over every location.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.alterTable('storage_locations', (table) => {
    table.index(['backend_id', 'created_at'], 'storage_locations_backend_created_idx');
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.alterTable('storage_locations', (table) => {
    table.dropIndex(['backend_id', 'created_at'], 'storage_locations_backend_created_idx');
  });
}
