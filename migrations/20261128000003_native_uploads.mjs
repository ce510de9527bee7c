// @ts-check
/**
 * Native upload sessions: operational state like OCI upload sessions
 * (docs/adr/0013) — a row here plus staged bytes in the backend, never in the
 * log; completing one records `v1.file.ingested`. Also what listing packages
 * by filter needs: an index on retention class and a metadata lookup view.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('upload_sessions', (table) => {
    table.string('id', 36).primary();
    // No foreign key: this operational table must not stop replay from
    // clearing and rebuilding the package views it points into.
    table.string('package_id', 36).notNullable();
    table.string('relative_path', 1024).notNullable();
    table.string('media_type', 255).notNullable();
    table.bigInteger('declared_size').nullable();
    table.string('expected_blake3', 80).nullable();
    table.string('expected_sha256', 80).nullable();
    table.string('created_by', 256).notNullable();
    table.string('created_at', 24).notNullable();
    table.string('updated_at', 24).notNullable();
    table.string('expires_at', 24).notNullable();
    table.unique(['package_id', 'relative_path'], { indexName: 'upload_sessions_package_path_uq' });
    table.index(['expires_at'], 'upload_sessions_expiry_idx');
  });
  await knex.schema.alterTable('artifact_packages', (table) => {
    table.index(['retention_class'], 'packages_retention_class_idx');
  });
  // A view: one row per top-level metadata key, so `metadata.<key>=<value>`
  // filters use an index instead of parsing every package's JSON.
  await knex.schema.createTable('artifact_package_metadata', (table) => {
    table.string('package_id', 36).notNullable().references('id').inTable('artifact_packages');
    table.string('key', 256).notNullable();
    table.text('value').notNullable();
    table.primary(['package_id', 'key']);
  });
  await knex.raw('CREATE INDEX package_metadata_lookup_idx ON artifact_package_metadata (key, value, package_id)');
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.alterTable('artifact_packages', (table) => {
    table.dropIndex(['retention_class'], 'packages_retention_class_idx');
  });
  await knex.schema.dropTableIfExists('artifact_package_metadata');
  await knex.schema.dropTableIfExists('upload_sessions');
}
