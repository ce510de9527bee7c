// @ts-check
/**
 * Retention lifecycle views: holds (several may coexist on a package) and the
 * deletion time of a package. Both are projected from `v1.retention.*` and
 * `v1.package.deleted` events.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('retention_holds', (table) => {
    table.string('id', 36).primary();
    table.string('package_id', 36).notNullable().references('id').inTable('artifact_packages');
    table.text('reason').notNullable();
    table.string('applied_by', 256).notNullable();
    table.string('applied_at', 24).notNullable();
    table.string('released_by', 256).nullable();
    table.string('released_at', 24).nullable();
    table.text('release_reason').nullable();
    table.index(['package_id'], 'retention_holds_package_idx');
  });
  await knex.schema.alterTable('artifact_packages', (table) => {
    table.string('deleted_at', 24).nullable();
  });
  await knex.schema.alterTable('retention_state', (table) => {
    table.index(['eligible_for_deletion', 'current_expires_at'], 'retention_state_sweep_idx');
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.alterTable('retention_state', (table) => {
    table.dropIndex(['eligible_for_deletion', 'current_expires_at'], 'retention_state_sweep_idx');
  });
  await knex.schema.alterTable('artifact_packages', (table) => {
    table.dropColumn('deleted_at');
  });
  await knex.schema.dropTableIfExists('retention_holds');
}
