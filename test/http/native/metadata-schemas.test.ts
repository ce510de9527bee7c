import { strict as assert } from 'node:assert';
import { describeEachDatabase } from '../../support/databases.js';
import { PackageSchema } from '../../../src/http/native/schemas.js';
import { assertProblem, openNative, type NativeHarness } from './helpers.js';

const RUN = {
  type: 'object',
  required: ['run_id', 'status', 'counts'],
  properties: {
    run_id: { type: 'string', minLength: 1 },
    status: { enum: ['passed', 'failed'] },
    counts: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
  },
};

describeEachDatabase('native API: metadata schemas', (target) => {
  let native: NativeHarness;
  before(async () => {
    native = await openNative(target);
  });
  after(async () => {
    await native.close();
  });

  const eventCount = () => native.instance.log.count();

  it('POST /metadata-schemas registers (201, Location), answers the same schema again with 200, a different one with 409', async () => {
    const created = await native.agent.post('/metadata-schemas').send({ name: 'harness.run.v1', schema: RUN }).expect(201);
    assert.equal(created.headers.location, '/metadata-schemas/harness.run.v1');
    assert.equal(created.body.name, 'harness.run.v1');
    assert.deepEqual(created.body.schema, RUN);
    assert.match(created.body.schema_digest, /^blake3:[0-9a-f]{64}$/);
    assert.equal(created.body.created_by, 'anonymous');
    assert.ok(created.body.event_sequence >= 1);
    const events = await eventCount();

    const again = await native.agent.post('/metadata-schemas').send({ name: 'harness.run.v1', schema: RUN }).expect(200);
    assert.deepEqual(again.body, created.body);
    const conflict = assertProblem(await native.agent.post('/metadata-schemas').send({ name: 'harness.run.v1', schema: { ...RUN, required: ['run_id'] } }), 409, 'METADATA_SCHEMA_CONFLICT');
    assert.match(String(conflict.detail), /new name/);
    assert.equal(await eventCount(), events, 'neither the repeat nor the conflict recorded anything');

    const read = await native.agent.get('/metadata-schemas/harness.run.v1').expect(200);
    assert.deepEqual(read.body, created.body);
    const list = await native.agent.get('/metadata-schemas').expect(200);
    assert.deepEqual(list.body.items.map((item: { name: string }) => item.name), ['harness.run.v1']);
    assertProblem(await native.agent.get('/metadata-schemas/harness.run.v9'), 404, 'METADATA_SCHEMA_NOT_FOUND');
    assertProblem(await native.agent.get('/metadata-schemas/Not%20A%20Name'), 400, 'FIELD_INVALID');
  });

  it('refuses a schema ajv cannot compile with 422 and the violations, a bad name or body with 400, other media with 415', async () => {
    const events = await eventCount();
    const invalid = assertProblem(await native.agent.post('/metadata-schemas').send({ name: 'bad.v1', schema: { type: 'object', properties: { a: { type: 'strin' } } } }), 422, 'METADATA_SCHEMA_INVALID');
    assert.ok((invalid.violations as Array<{ pointer: string }>).some((violation) => violation.pointer === '/properties/a/type'), JSON.stringify(invalid.violations));
    const badName = assertProblem(await native.agent.post('/metadata-schemas').send({ name: 'Bad Name', schema: RUN }), 400, 'FIELD_INVALID');
    assert.deepEqual((badName.violations as Array<{ pointer: string }>).map((violation) => violation.pointer), ['/name']);
    assertProblem(await native.agent.post('/metadata-schemas').send({ name: 'bad.v2', schema: [] }), 400, 'FIELD_INVALID');
    assertProblem(await native.agent.post('/metadata-schemas').send({ name: 'bad.v3', schema: RUN, extra: 1 }), 400, 'FIELD_INVALID');
    assertProblem(await native.agent.post('/metadata-schemas').set('content-type', 'text/plain').send('name=x'), 415, 'MEDIA_TYPE_UNSUPPORTED');
    assert.equal(await eventCount(), events);
  });

  it('POST /packages with metadata_schema: 422 listing every violation by pointer, 422 for an unknown schema, 201 when it conforms', async () => {
    await native.agent.post('/metadata-schemas').send({ name: 'harness.run.v1', schema: RUN });
    const events = await eventCount();
    const base = { name: 'harness/run-1', producer: 'harness', retention_class: 'transient', metadata_schema: 'harness.run.v1' };
    const violation = assertProblem(await native.agent.post('/packages').send({ ...base, metadata: { status: 'maybe', counts: { ok: -1, bad: 'x' } } }), 422, 'METADATA_SCHEMA_VIOLATION');
    assert.equal(violation.schema, 'harness.run.v1');
    const found = (violation.violations as Array<{ pointer: string; message: string }>).map((item) => `${item.pointer} ${item.message}`).sort();
    assert.deepEqual(found, [
      " must have required property 'run_id'",
      '/counts/bad must be integer',
      '/counts/ok must be >= 0',
      '/status must be equal to one of the allowed values',
    ]);
    assertProblem(await native.agent.post('/packages').send({ ...base, metadata_schema: 'harness.run.v7', metadata: { run_id: 'r1', status: 'passed', counts: {} } }), 422, 'METADATA_SCHEMA_UNKNOWN');
    assertProblem(await native.agent.post('/packages').send({ ...base, metadata_schema: 'Harness', metadata: {} }), 400, 'FIELD_INVALID');
    assert.equal(await eventCount(), events, 'refused packages record nothing');

    const created = await native.agent.post('/packages').send({ ...base, metadata: { run_id: 'r1', status: 'passed', counts: { ok: 3 } } }).expect(201);
    const pkg = PackageSchema.parse(created.body);
    assert.equal(pkg.metadata_schema, 'harness.run.v1');
    assert.equal(PackageSchema.parse((await native.agent.get(`/packages/${pkg.id}`).expect(200)).body).metadata_schema, 'harness.run.v1');
    const listed = await native.agent.get('/packages').query({ 'metadata.run_id': 'r1' }).expect(200);
    assert.deepEqual(listed.body.items.map((item: { id: string }) => item.id), [pkg.id]);
    await native.agent.post(`/packages/${pkg.id}/finalize`).expect(200);

    const plain = PackageSchema.parse((await native.agent.post('/packages').send({ name: 'plain', producer: 'ci', retention_class: 'transient' }).expect(201)).body);
    assert.equal(plain.metadata_schema, null);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const document = (await native.agent.get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, { operationId: string }>>; components: { schemas: Record<string, unknown> } };
    assert.equal(document.paths['/metadata-schemas']?.post?.operationId, 'registerMetadataSchema');
    assert.equal(document.paths['/metadata-schemas']?.get?.operationId, 'listMetadataSchemas');
    assert.equal(document.paths['/metadata-schemas/{name}']?.get?.operationId, 'getMetadataSchema');
    assert.ok(document.components.schemas.MetadataSchema);
    assert.ok((document.components.schemas.Package as { properties: Record<string, unknown> }).properties.metadata_schema);
  });
});
