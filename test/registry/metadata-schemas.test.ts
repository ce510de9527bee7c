import { strict as assert } from 'node:assert';
import { openRegistry } from '../../src/app.js';
import { readShippedSchemas, registerShippedSchemas, SHIPPED_SCHEMA_ACTOR } from '../../src/cli/shipped-schemas.js';
import { isRegistryError, type ErrorCode, type RegistryError } from '../../src/errors/index.js';
import { blake3Hex } from '../../src/identity/index.js';
import { fromJcs, toJcs, type CanonicalValue } from '../../src/manifest/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';

const actor = 'local:tester';

/** Resolves to the RegistryError `promise` rejects with, checking its code. */
async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<RegistryError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return isRegistryError(error, code);
  });
  return caught as RegistryError;
}

const BUILD = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['build', 'commit', 'counts'],
  properties: {
    build: { type: 'integer', minimum: 1 },
    commit: { type: 'string', pattern: '^[0-9a-f]{40}$' },
    counts: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
    started_at: { type: 'string', format: 'date-time' },
  },
};
const GOOD = { build: 7, commit: 'a'.repeat(40), counts: { passed: 10, failed: 0 }, started_at: '2026-11-28T10:00:00Z' };

describeEachDatabase('metadata schemas', (target) => {
  let instance: TestRegistry;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
  });
  afterEach(async () => {
    await instance.dispose();
  });

  const eventTypes = async () => (await instance.registry.fetchEvents(0, 1000)).map((event) => event.event_type);

  it('registers a schema once: an event, a view row, and idempotent re-registration', async () => {
    const first = await instance.registry.registerMetadataSchema('ci.build.v1', BUILD, actor);
    assert.equal(first.created, true);
    assert.equal(first.schema.name, 'ci.build.v1');
    assert.deepEqual(first.schema.schema, BUILD);
    assert.equal(first.schema.schemaDigest, `blake3:${blake3Hex(Buffer.from(toJcs(BUILD as CanonicalValue)))}`);
    assert.equal(first.schema.createdBy, actor);
    const [event] = await instance.registry.fetchEvents(0, 10);
    assert.equal(event!.event_type, 'v1.metadata_schema.registered');
    assert.equal(event!.subject_kind, 'system');
    assert.equal(event!.subject_id, 'ci.build.v1');
    assert.deepEqual(event!.payload, { name: 'ci.build.v1', schema: BUILD });
    const row = await instance.db.knex('metadata_schemas').where({ name: 'ci.build.v1' }).first();
    assert.deepEqual(fromJcs(row.schema), BUILD);
    assert.equal(Number(row.event_sequence), event!.sequence);

    // The same schema with its keys in another order is the same schema.
    const reordered = Object.fromEntries(Object.entries(BUILD).reverse());
    const again = await instance.registry.registerMetadataSchema('ci.build.v1', reordered, 'someone-else');
    assert.equal(again.created, false);
    assert.equal(again.schema.createdBy, actor);
    assert.deepEqual(await eventTypes(), ['v1.metadata_schema.registered']);

    const changed = await failure(instance.registry.registerMetadataSchema('ci.build.v1', { ...BUILD, required: ['build'] }, actor), 'METADATA_SCHEMA_CONFLICT');
    assert.equal(changed.status, 409);
    assert.deepEqual(await eventTypes(), ['v1.metadata_schema.registered']);

    await instance.registry.registerMetadataSchema('ci.build.v2', { ...BUILD, required: ['build'] }, actor);
    assert.deepEqual((await instance.registry.listMetadataSchemas()).map((schema) => schema.name), ['ci.build.v1', 'ci.build.v2']);
    assert.deepEqual((await instance.registry.getMetadataSchema('ci.build.v2')).schema.required, ['build']);
    await failure(instance.registry.getMetadataSchema('ci.build.v3'), 'METADATA_SCHEMA_NOT_FOUND');
  });

  it('refuses invalid schemas and names with the reasons, recording nothing', async () => {
    const badType = await failure(instance.registry.registerMetadataSchema('bad.type', { type: 'objekt' }, actor), 'METADATA_SCHEMA_INVALID');
    assert.equal(badType.status, 422);
    const violations = badType.extra?.violations as Array<{ pointer: string; message: string }>;
    assert.ok(violations.some((violation) => violation.pointer === '/type'), JSON.stringify(violations));
    const unknownKeyword = await failure(instance.registry.registerMetadataSchema('bad.keyword', { type: 'object', requird: ['a'] }, actor), 'METADATA_SCHEMA_INVALID');
    assert.match(unknownKeyword.detail, /requird/);
    await failure(instance.registry.registerMetadataSchema('bad.format', { type: 'string', format: 'no-such-format' }, actor), 'METADATA_SCHEMA_INVALID');
    await failure(instance.registry.registerMetadataSchema('bad.ref', { $ref: 'https://example.com/elsewhere.json' }, actor), 'METADATA_SCHEMA_INVALID');
    const draft7 = await failure(instance.registry.registerMetadataSchema('bad.draft', { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' }, actor), 'METADATA_SCHEMA_INVALID');
    assert.match(draft7.detail, /draft-07/);
    const float = await failure(instance.registry.registerMetadataSchema('bad.float', { type: 'number', multipleOf: 0.5 }, actor), 'METADATA_SCHEMA_INVALID');
    assert.deepEqual((float.extra?.violations as Array<{ pointer: string }>).map((violation) => violation.pointer), ['/multipleOf']);
    await failure(instance.registry.registerMetadataSchema('bad.array', [] as never, actor), 'METADATA_SCHEMA_INVALID');
    for (const name of ['', 'Upper', '-leading', 'sp ace', 'a/b', 'x'.repeat(129)]) {
      await failure(instance.registry.registerMetadataSchema(name, BUILD, actor), 'FIELD_INVALID');
    }
    assert.equal(await instance.log.count(), 0);
  });

  it('holds packages naming a schema to it at creation, listing every violation', async () => {
    await instance.registry.registerMetadataSchema('ci.build.v1', BUILD, actor);
    const before = await instance.log.count();
    const create = (metadata: Record<string, unknown>, metadataSchema: string | null = 'ci.build.v1') =>
      instance.registry.createPackage({ name: 'build-7', producer: 'ci', retentionClass: 'transient', metadata, metadataSchema }, actor);

    const violation = await failure(create({ build: 0, commit: 'nope', counts: { passed: -1, failed: 'x' }, started_at: 'yesterday' }), 'METADATA_SCHEMA_VIOLATION');
    assert.equal(violation.status, 422);
    const pointers = (violation.extra?.violations as Array<{ pointer: string; message: string }>).map((item) => item.pointer).sort();
    assert.deepEqual(pointers, ['/build', '/commit', '/counts/failed', '/counts/passed', '/started_at']);
    assert.equal(violation.extra?.schema, 'ci.build.v1');
    const missing = await failure(create({ build: 1 }), 'METADATA_SCHEMA_VIOLATION');
    assert.deepEqual((missing.extra?.violations as Array<{ message: string }>).map((item) => item.message).sort(), [
      "must have required property 'commit'",
      "must have required property 'counts'",
    ]);
    await failure(create(GOOD, 'ci.build.v9'), 'METADATA_SCHEMA_UNKNOWN');
    await failure(create(GOOD, 'Not A Name'), 'FIELD_INVALID');
    assert.equal(await instance.log.count(), before, 'refused packages record nothing');

    const pkg = await create(GOOD);
    assert.equal(pkg.metadataSchema, 'ci.build.v1');
    assert.equal((await instance.registry.getPackage(pkg.id)).metadataSchema, 'ci.build.v1');
    const [created] = await instance.registry.fetchEvents(before, 1);
    assert.equal((created!.payload as { metadata_schema?: string }).metadata_schema, 'ci.build.v1');

    // Nested objects stay filterable: a top-level key with an object value matches its JCS text.
    const page = await instance.registry.listPackages({ metadata: { counts: toJcs({ failed: 0, passed: 10 }), commit: 'a'.repeat(40) } }, { limit: 10 });
    assert.deepEqual(page.items.map((item) => item.id), [pkg.id]);

    await instance.registry.ingestFile(pkg.id, { relativePath: 'log.txt', mediaType: 'text/plain' }, bytes('built'), actor);
    const finalized = await instance.registry.finalizePackage(pkg.id, actor);
    assert.match(finalized.manifestDigest, /^blake3:/);
  });

  it('leaves packages without a schema as they were: no payload field, null in the view', async () => {
    const pkg = await instance.registry.createPackage({ name: 'plain', producer: 'ci', retentionClass: 'transient', metadata: { anything: { goes: [1, 2] } } }, actor);
    assert.equal(pkg.metadataSchema, null);
    const [created] = await instance.registry.fetchEvents(0, 1);
    assert.equal(Object.hasOwn(created!.payload as object, 'metadata_schema'), false);
  });

  it('checks the metadata again at finalize, against the schema as registered', async () => {
    await instance.registry.registerMetadataSchema('ci.build.v1', BUILD, actor);
    const pkg = await instance.registry.createPackage({ name: 'build-8', producer: 'ci', retentionClass: 'transient', metadata: GOOD, metadataSchema: 'ci.build.v1' }, actor);
    // Damage the view behind the registry's back; a second registry (no cached validator) reads it at finalize.
    await instance.db.knex('metadata_schemas').where({ name: 'ci.build.v1' }).update({ schema: toJcs({ ...BUILD, required: ['build', 'tests'] } as CanonicalValue) });
    const other = await openRegistry(instance.settings, { ...instance.openOptions, migrate: false });
    try {
      const refused = await failure(other.registry.finalizePackage(pkg.id, actor), 'METADATA_SCHEMA_VIOLATION');
      assert.deepEqual((refused.extra?.violations as Array<{ message: string }>).map((item) => item.message), ["must have required property 'tests'"]);
      assert.equal((await other.registry.getPackage(pkg.id)).status, 'created', 'the refused finalize recorded nothing');
      const verification = await other.registry.verify();
      assert.equal(verification.ok, false);
      assert.deepEqual(verification.viewDifferences.map((difference) => `${difference.table} ${difference.problem}`), ['metadata_schemas different']);
      // Replay rebuilds the view from the log; finalize then passes.
      await other.registry.replay();
      assert.equal((await other.registry.verify()).ok, true);
    } finally {
      await other.close();
    }
    const fresh = await openRegistry(instance.settings, { ...instance.openOptions, migrate: false });
    try {
      const finalized = await fresh.registry.finalizePackage(pkg.id, actor);
      assert.match(finalized.manifestDigest, /^blake3:/);
    } finally {
      await fresh.close();
    }
  });

  it('replay and verify cover the metadata_schemas view and the package column', async () => {
    await instance.registry.registerMetadataSchema('ci.build.v1', BUILD, actor);
    await instance.registry.createPackage({ name: 'build-9', producer: 'ci', retentionClass: 'transient', metadata: GOOD, metadataSchema: 'ci.build.v1' }, actor);
    const schemasBefore = await instance.db.knex('metadata_schemas').select('*');
    const packagesBefore = await instance.db.knex('artifact_packages').select('id', 'metadata_schema');
    assert.equal((await instance.registry.verify()).ok, true);
    await instance.registry.replay();
    assert.deepEqual(await instance.db.knex('metadata_schemas').select('*'), schemasBefore);
    assert.deepEqual(await instance.db.knex('artifact_packages').select('id', 'metadata_schema'), packagesBefore);
    await instance.db.knex('artifact_packages').update({ metadata_schema: null });
    const verification = await instance.registry.verify();
    assert.deepEqual(verification.viewDifferences.map((difference) => `${difference.table} ${difference.problem}`), ['artifact_packages different']);
  });

  it('registers the shipped schemas once, however many processes start at once', async () => {
    const shipped = await readShippedSchemas();
    assert.ok(shipped.some((schema) => schema.name === 'guide-board.run.v1'));
    const second = await openRegistry(instance.settings, { ...instance.openOptions, migrate: false });
    try {
      const results = await Promise.all([
        registerShippedSchemas(instance.registry),
        registerShippedSchemas(second.registry),
        registerShippedSchemas(instance.registry),
      ]);
      for (const { name } of shipped) {
        assert.equal(results.flat().filter((result) => result.name === name && result.created).length, 1, `${name} created exactly once`);
      }
      await registerShippedSchemas(second.registry);
    } finally {
      await second.close();
    }
    const events = await instance.registry.fetchEvents(0, 1000);
    assert.deepEqual(events.map((event) => `${event.event_type} ${event.subject_id} ${event.actor}`), shipped.map(({ name }) => `v1.metadata_schema.registered ${name} ${SHIPPED_SCHEMA_ACTOR}`));
  });
});
