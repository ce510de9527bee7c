// @ts-check
/**
 * Pull times of OCI manifests, for the `pulledWithin` and
 * `mostRecentlyPulledCount` retention rules (docs/adr/0021). An operational
 * table, not a view: pull times are access statistics, not registry state,
 * so they never enter the log, replay neither clears nor rebuilds the table
 * and verify ignores it. One row per (repository, manifest digest), written
 * at most about once a minute per process.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  const isPostgres = knex.client.config.client === 'pg';
  /** @param {import('knex').Knex.ColumnBuilder} column */
  const bytewise = (column) => (isPostgres ? column.collate('C') : column);
  await knex.schema.createTable('oci_manifest_pulls', (table) => {
    bytewise(table.string('repository', 255)).notNullable();
    table.string('digest', 140).notNullable();
    table.string('last_pulled_at', 24).notNullable();
    table.primary(['repository', 'digest']);
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('oci_manifest_pulls');
}
