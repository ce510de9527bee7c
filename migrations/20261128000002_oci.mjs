// @ts-check
/**
 * OCI Distribution views (repositories, per-repository blob links, manifests
 * and what they reference, tags) and the operational table of upload
 * sessions, which is not a view: in-flight uploads are not registry state
 * and never enter the log (docs/adr/0013). Names and tags compare bytewise on
 * both dialects (COLLATE "C" on PostgreSQL), as the spec's lexical order asks.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  const isPostgres = knex.client.config.client === 'pg';
  /** @param {import('knex').Knex.ColumnBuilder} column */
  const bytewise = (column) => (isPostgres ? column.collate('C') : column);

  await knex.schema.createTable('oci_repositories', (table) => {
    bytewise(table.string('name', 255)).primary();
    table.string('created_at', 24).notNullable();
    table.bigInteger('first_event_sequence').notNullable();
  });

  await knex.schema.createTable('oci_blob_links', (table) => {
    bytewise(table.string('repository', 255)).notNullable();
    table.string('digest', 140).notNullable();
    table.string('content_address', 80).notNullable().references('content_address').inTable('objects');
    table.bigInteger('size').notNullable();
    table.string('created_at', 24).notNullable();
    table.bigInteger('event_sequence').notNullable();
    table.primary(['repository', 'digest']);
    table.index(['digest'], 'oci_blob_links_digest_idx');
    table.index(['content_address'], 'oci_blob_links_address_idx');
  });

  await knex.schema.createTable('oci_manifests', (table) => {
    bytewise(table.string('repository', 255)).notNullable();
    table.string('digest', 140).notNullable();
    table.string('content_address', 80).notNullable().references('content_address').inTable('objects');
    table.string('media_type', 255).notNullable();
    table.string('artifact_type', 255).nullable();
    table.string('subject_digest', 140).nullable();
    table.text('annotations').nullable();
    table.bigInteger('size').notNullable();
    table.string('created_at', 24).notNullable();
    table.bigInteger('event_sequence').notNullable();
    table.primary(['repository', 'digest']);
    table.index(['repository', 'subject_digest'], 'oci_manifests_subject_idx');
    table.index(['content_address'], 'oci_manifests_address_idx');
  });

  await knex.schema.createTable('oci_manifest_references', (table) => {
    bytewise(table.string('repository', 255)).notNullable();
    table.string('manifest_digest', 140).notNullable();
    table.integer('position').notNullable();
    table.string('kind', 16).notNullable();
    table.string('digest', 140).notNullable();
    table.primary(['repository', 'manifest_digest', 'position']);
    table.index(['digest'], 'oci_manifest_references_digest_idx');
  });

  await knex.schema.createTable('oci_tags', (table) => {
    bytewise(table.string('repository', 255)).notNullable();
    bytewise(table.string('tag', 128)).notNullable();
    table.string('manifest_digest', 140).notNullable();
    table.string('updated_at', 24).notNullable();
    table.bigInteger('event_sequence').notNullable();
    table.primary(['repository', 'tag']);
    table.index(['repository', 'manifest_digest'], 'oci_tags_manifest_idx');
  });

  await knex.schema.createTable('oci_upload_sessions', (table) => {
    table.string('id', 36).primary();
    bytewise(table.string('repository', 255)).notNullable();
    table.string('created_by', 256).notNullable();
    table.string('created_at', 24).notNullable();
    table.string('updated_at', 24).notNullable();
    table.string('expires_at', 24).notNullable();
    table.index(['expires_at'], 'oci_upload_sessions_expiry_idx');
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  for (const table of ['oci_upload_sessions', 'oci_tags', 'oci_manifest_references', 'oci_manifests', 'oci_blob_links', 'oci_repositories']) {
    await knex.schema.dropTableIfExists(table);
  }
}
