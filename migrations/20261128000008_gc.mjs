// @ts-check
/**
 * Online garbage collection (docs/adr/0020). `gc_candidates` is operational
 * state, like the upload sessions (ADR 0013): the review queue of objects no
 * view row references, rebuilt from the views by every GC run, so replay and
 * verify leave it alone and losing it only restarts the grace clocks. It has
 * no foreign key to `objects`, so replay can clear and rebuild the views
 * while candidates exist. The indexes on the upload sessions' expected
 * digests let "is this object referenced?" stay an index probe per source.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('gc_candidates', (table) => {
    table.string('content_address', 80).primary();
    // When a GC scan first found no reference (ISO-8601 UTC, like every timestamp).
    table.string('unreferenced_since', 24).notNullable();
    // Set while a worker reviews the candidate; a writer that references a
    // claimed object re-checks its bytes (the claim may have outlived a crash).
    table.string('claimed_by', 64).nullable();
    table.string('claim_expires', 24).nullable();
    table.integer('review_count').notNullable().defaultTo(0);
    table.index(['unreferenced_since'], 'gc_candidates_due_idx');
  });
  await knex.schema.alterTable('upload_sessions', (table) => {
    table.index(['expected_blake3'], 'upload_sessions_expected_blake3_idx');
    table.index(['expected_sha256'], 'upload_sessions_expected_sha256_idx');
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.alterTable('upload_sessions', (table) => {
    table.dropIndex(['expected_blake3'], 'upload_sessions_expected_blake3_idx');
    table.dropIndex(['expected_sha256'], 'upload_sessions_expected_sha256_idx');
  });
  await knex.schema.dropTable('gc_candidates');
}
