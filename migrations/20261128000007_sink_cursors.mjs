// @ts-check
/**
 * Outbound event sinks (docs/adr/0019): one row per configured sink holding
 * the last sequence delivered to it and the lease that lets exactly one
 * `serve` process deliver it at a time. Operational state like upload
 * sessions (ADR 0013): never an event, not a view, ignored by replay and
 * verify — recording deliveries as events would create events to deliver,
 * forever.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('sink_cursors', (table) => {
    table.string('name', 128).primary();
    table.string('type', 16).notNullable();
    // Every event with sequence <= this was delivered (or filtered out).
    table.bigInteger('delivered_sequence').notNullable();
    // The process delivering this sink, until `lease_expires_at` (ISO-8601 UTC).
    table.string('leased_by', 256).nullable();
    table.string('lease_expires_at', 24).nullable();
    table.integer('consecutive_failures').notNullable().defaultTo(0);
    table.text('last_error').nullable();
    table.string('last_error_at', 24).nullable();
    table.string('last_delivered_at', 24).nullable();
    table.string('created_at', 24).notNullable();
    table.string('updated_at', 24).notNullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('sink_cursors');
}
