// @ts-check
/**
 * Metadata schemas: the `metadata_schemas` view (one row per registered JSON
 * Schema, projected from `v1.metadata_schema.registered`), and the schema a
 * package names, on `artifact_packages` (projected from `v1.package.created`;
 * null for packages created without one and for every older event).
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  const isPostgres = knex.client.config.client === 'pg';
  await knex.schema.createTable('metadata_schemas', (table) => {
    // Bytewise order on both dialects, so listings agree.
    const name = table.string('name', 128);
    (isPostgres ? name.collate('C') : name).primary();
    // JCS (RFC 8785) of the schema: the exact text that was registered, canonically.
    table.text('schema').notNullable();
    table.string('schema_digest', 80).notNullable();
    table.string('created_by', 256).notNullable();
    table.string('created_at', 24).notNullable();
    table.bigInteger('event_sequence').notNullable();
  });
  await knex.schema.alterTable('artifact_packages', (table) => {
    table.string('metadata_schema', 128).nullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.alterTable('artifact_packages', (table) => {
    table.dropColumn('metadata_schema');
  });
  await knex.schema.dropTableIfExists('metadata_schemas');
}
