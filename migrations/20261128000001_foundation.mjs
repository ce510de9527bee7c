// @ts-check
/**
 * Foundation schema: the append-only event log with its gapless counter, and
 * the views the foundation projects (objects, storage locations, packages,
 * files, retention state). Timestamps are fixed-width ISO-8601 UTC text on
 * both dialects so replayed rows compare byte for byte (docs/adr/0011).
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  const isPostgres = knex.client.config.client === 'pg';

  await knex.schema.createTable('event_sequence', (table) => {
    table.integer('id').primary();
    table.bigInteger('last_sequence').notNullable();
  });
  await knex('event_sequence').insert({ id: 1, last_sequence: 0 });

  await knex.schema.createTable('events', (table) => {
    // On SQLite an INTEGER primary key is the rowid itself: no second index
    // to maintain on every append.
    if (isPostgres) table.bigInteger('sequence').primary();
    else table.integer('sequence').primary();
    table.string('created_at', 24).notNullable();
    table.string('event_type', 128).notNullable();
    table.string('subject_kind', 32).notNullable();
    table.string('subject_id', 512).notNullable();
    table.string('actor', 256).notNullable();
    table.binary('payload').notNullable();
    table.binary('payload_digest').notNullable();
    table.index(['subject_kind', 'subject_id'], 'events_subject_idx');
    table.index(['event_type', 'sequence'], 'events_type_sequence_idx');
  });

  if (isPostgres) {
    await knex.raw(`
      CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await knex.raw(`CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
      FOR EACH ROW EXECUTE FUNCTION events_refuse_change()`);
    await knex.raw(`CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()`);
  } else {
    await knex.raw(`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
      BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE refused'); END`);
    await knex.raw(`CREATE TRIGGER events_no_delete BEFORE DELETE ON events
      BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE refused'); END`);
  }

  await knex.schema.createTable('objects', (table) => {
    table.string('content_address', 80).primary();
    table.string('digest_sha256', 80).notNullable().unique('objects_sha256_uq');
    table.bigInteger('size').notNullable();
    table.string('created_at', 24).notNullable();
    table.bigInteger('first_event_sequence').notNullable();
  });

  await knex.schema.createTable('storage_locations', (table) => {
    table.string('content_address', 80).notNullable().references('content_address').inTable('objects');
    table.string('backend_id', 64).notNullable();
    table.string('object_key', 512).notNullable();
    table.string('retrieval_tier', 32).notNullable().defaultTo('hot');
    table.string('restore_status', 32).notNullable().defaultTo('none');
    table.string('created_at', 24).notNullable();
    table.primary(['content_address', 'backend_id']);
  });

  await knex.schema.createTable('artifact_packages', (table) => {
    table.string('id', 36).primary();
    table.string('name', 256).notNullable();
    table.string('producer', 256).notNullable();
    table.string('subject', 512).nullable();
    table.string('retention_class', 64).notNullable();
    table.text('metadata').notNullable();
    table.string('status', 32).notNullable();
    table.string('manifest_digest', 80).nullable();
    table.string('created_by', 256).notNullable();
    table.string('created_at', 24).notNullable();
    table.string('finalized_at', 24).nullable();
    table.bigInteger('last_event_sequence').notNullable();
    table.index(['producer'], 'packages_producer_idx');
    table.index(['name'], 'packages_name_idx');
    table.index(['subject'], 'packages_subject_idx');
    table.index(['status'], 'packages_status_idx');
  });

  await knex.schema.createTable('artifact_files', (table) => {
    table.string('id', 36).primary();
    table.string('package_id', 36).notNullable().references('id').inTable('artifact_packages');
    table.string('relative_path', 1024).notNullable();
    table.string('media_type', 255).notNullable();
    table.bigInteger('size').notNullable();
    table.string('digest_algorithm', 16).notNullable();
    table.string('digest_primary', 64).notNullable();
    table.string('digest_sha256', 80).notNullable();
    table.string('content_address', 80).notNullable().references('content_address').inTable('objects');
    table.string('created_at', 24).notNullable();
    table.bigInteger('event_sequence').notNullable();
    table.unique(['package_id', 'relative_path'], { indexName: 'files_package_path_uq' });
    table.index(['content_address'], 'files_content_address_idx');
  });

  await knex.schema.createTable('retention_state', (table) => {
    table.string('package_id', 36).primary().references('id').inTable('artifact_packages');
    table.string('retention_class', 64).notNullable();
    table.string('current_expires_at', 24).nullable();
    table.boolean('eligible_for_deletion').notNullable();
    table.integer('active_holds').notNullable();
    table.string('updated_at', 24).notNullable();
    table.bigInteger('last_event_sequence').notNullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  for (const table of ['retention_state', 'artifact_files', 'artifact_packages', 'storage_locations', 'objects', 'events', 'event_sequence']) {
    await knex.schema.dropTableIfExists(table);
  }
  if (knex.client.config.client === 'pg') await knex.raw('DROP FUNCTION IF EXISTS events_refuse_change()');
}
