import { strict as assert } from 'node:assert';
import { decode } from 'cborg';
import type { Response } from 'supertest';
import { describeEachDatabase } from '../../support/databases.js';
import { FinalizedSchema, JSON_BODY_LIMIT_BYTES, PackageListSchema, PackageSchema } from '../../../src/http/native/schemas.js';
import { assertProblem, binary, createPackage, multipartBody, openNative, type NativeHarness } from './helpers.js';

describeEachDatabase('native API: packages', (target) => {
  let native: NativeHarness;
  before(async () => {
    native = await openNative(target);
  });
  after(async () => {
    await native.close();
  });

  it('creates a package: 201, Location, snake_case body that matches the schema', async () => {
    const response = await native.agent
      .post('/packages')
      .send({ name: 'nightly-42', producer: 'ci', subject: 'svc-a', retention_class: 'raw-evidence', metadata: { branch: 'main', run: 42 } })
      .expect(201);
    const body = PackageSchema.parse(response.body);
    assert.equal(response.headers.location, `/packages/${body.id}`);
    assert.equal(body.name, 'nightly-42');
    assert.equal(body.subject, 'svc-a');
    assert.equal(body.retention_class, 'raw-evidence');
    assert.deepEqual(body.metadata, { branch: 'main', run: 42 });
    assert.equal(body.status, 'created');
    assert.equal(body.manifest_digest, null);
    assert.equal(body.created_by, 'anonymous');
    assert.equal(body.file_count, 0);
    assert.equal(body.total_size, 0);
    assert.ok(body.last_event_sequence > 0);

    const read = await native.agent.get(`/packages/${body.id}`).expect(200);
    assert.deepEqual(PackageSchema.parse(read.body), body);
  });

  it('defaults subject to null and metadata to {}', async () => {
    const body = await createPackage(native.agent);
    assert.equal(body.subject, null);
    assert.deepEqual(body.metadata, {});
  });

  it('lists packages in creation order with filters, metadata filters and cursor pagination', async () => {
    const producer = `lister-${Date.now()}`;
    const created = [];
    for (let index = 0; index < 5; index += 1) {
      created.push(
        await createPackage(native.agent, {
          producer,
          name: `p${index}`,
          subject: index % 2 === 0 ? 'even' : 'odd',
          metadata: { parity: index % 2 === 0 ? 'even' : 'odd', team: index < 3 ? 'a' : 'b' },
        }),
      );
    }
    const all = PackageListSchema.parse((await native.agent.get('/packages').query({ producer }).expect(200)).body);
    assert.deepEqual(all.items.map((item) => item.id), created.map((item) => item.id));
    assert.equal(all.next_cursor, null);

    const bySubject = PackageListSchema.parse((await native.agent.get('/packages').query({ producer, subject: 'odd' }).expect(200)).body);
    assert.deepEqual(bySubject.items.map((item) => item.name), ['p1', 'p3']);

    const byMetadata = await native.agent.get(`/packages?producer=${producer}&metadata.parity=even&metadata.team=a`).expect(200);
    assert.deepEqual(byMetadata.body.items.map((item: { name: string }) => item.name), ['p0', 'p2']);

    // A metadata filter pages by the metadata index's order: one at a time, in creation order.
    const evenPages: string[] = [];
    let cursor: string | null | undefined;
    do {
      const query: Record<string, string> = { producer, 'metadata.parity': 'even', limit: '1', ...(cursor ? { cursor } : {}) };
      const body = PackageListSchema.parse((await native.agent.get('/packages').query(query).expect(200)).body);
      evenPages.push(...body.items.map((item) => item.name));
      cursor = body.next_cursor;
    } while (cursor);
    assert.deepEqual(evenPages, ['p0', 'p2', 'p4']);

    // Pages of two, following Link until next_cursor is null.
    const seen: string[] = [];
    let next: string | undefined = `/packages?producer=${producer}&limit=2`;
    let pages = 0;
    while (next !== undefined) {
      const page: Response = await native.agent.get(next).expect(200);
      const body = PackageListSchema.parse(page.body);
      seen.push(...body.items.map((item) => item.id));
      pages += 1;
      if (body.next_cursor === null) {
        assert.equal(page.headers.link, undefined);
        next = undefined;
      } else {
        const match = /^<([^>]+)>; rel="next"$/.exec(page.headers.link ?? '');
        assert.ok(match, `Link header: ${page.headers.link}`);
        const url = new URL(match[1]!, 'http://x');
        assert.equal(url.pathname, '/packages');
        assert.equal(url.searchParams.get('producer'), producer);
        assert.equal(url.searchParams.get('limit'), '2');
        assert.equal(url.searchParams.get('cursor'), body.next_cursor);
        next = match[1];
      }
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, created.map((item) => item.id));

    const finalized = await native.agent.get('/packages').query({ producer, status: 'finalized' }).expect(200);
    assert.deepEqual(finalized.body.items, []);
  });

  it('refuses bad listing queries with every violation', async () => {
    const response = await native.agent.get('/packages?limit=0&status=gone&colour=red&metadata.=x');
    const problem = assertProblem(response, 400, 'FIELD_INVALID');
    const pointers = (problem.violations as Array<{ pointer: string }>).map((violation) => violation.pointer).sort();
    assert.deepEqual(pointers, ['/colour', '/limit', '/metadata.', '/status']);
    assertProblem(await native.agent.get('/packages?limit=1001'), 400, 'FIELD_INVALID');
    assertProblem(await native.agent.get('/packages?cursor=bogus'), 400, 'FIELD_INVALID');
  });

  it('finalizes once: manifest digest, then 409 PACKAGE_FINALIZED', async () => {
    const pkg = await createPackage(native.agent);
    const form = multipartBody([{ file: 'file', filename: 'a.txt', contentType: 'text/plain', content: 'alpha' }]);
    await native.agent.post(`/packages/${pkg.id}/files`).set('Content-Type', form.contentType).send(form.body).expect(201);

    const response = await native.agent.post(`/packages/${pkg.id}/finalize`).expect(200);
    const finalized = FinalizedSchema.parse(response.body);
    assert.equal(finalized.package_id, pkg.id);
    const read = PackageSchema.parse((await native.agent.get(`/packages/${pkg.id}`).expect(200)).body);
    assert.equal(read.status, 'finalized');
    assert.equal(read.manifest_digest, finalized.manifest_digest);
    assert.equal(read.file_count, 1);
    assert.equal(read.total_size, 5);

    assertProblem(await native.agent.post(`/packages/${pkg.id}/finalize`), 409, 'PACKAGE_FINALIZED');
    // A finalized package takes no more files.
    assertProblem(await native.agent.post(`/packages/${pkg.id}/files`).set('Content-Type', form.contentType).send(form.body), 409, 'PACKAGE_FINALIZED');
  });

  it('serves the manifest as CBOR and JCS with the manifest digest as ETag, and 304 on If-None-Match', async () => {
    const pkg = await createPackage(native.agent);
    assertProblem(await native.agent.get(`/packages/${pkg.id}/manifest`), 409, 'PACKAGE_NOT_FINALIZED');
    const { manifest_digest: digest } = (await native.agent.post(`/packages/${pkg.id}/finalize`).expect(200)).body as { manifest_digest: string };

    const cbor = await native.agent.get(`/packages/${pkg.id}/manifest`).buffer(true).parse(binary).expect(200);
    assert.equal(cbor.headers['content-type'], 'application/cbor');
    assert.equal(cbor.headers.etag, `"${digest}"`);
    const decoded = decode(cbor.body as Buffer) as Record<string, unknown>;
    assert.equal(typeof decoded, 'object');

    const jcs = await native.agent.get(`/packages/${pkg.id}/manifest.json`).buffer(true).parse(binary).expect(200);
    assert.match(jcs.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(jcs.headers.etag, `"${digest}"`);
    const parsed = JSON.parse((jcs.body as Buffer).toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), Object.keys(parsed).sort(), 'JCS sorts keys');

    const notModified = await native.agent.get(`/packages/${pkg.id}/manifest`).set('If-None-Match', `"other", "${digest}"`).expect(304);
    assert.equal(notModified.headers.etag, `"${digest}"`);
    await native.agent.get(`/packages/${pkg.id}/manifest.json`).set('If-None-Match', '"other"').expect(200);
  });

  it('leaves a store that verifies, objects included', async () => {
    const report = await native.instance.registry.verify({ objects: true });
    assert.equal(report.ok, true, JSON.stringify(report));
  });

  describe('problems', () => {
    it('404 PACKAGE_NOT_FOUND for an unknown package, with the request path as instance', async () => {
      const missing = '01900000-0000-7000-8000-000000000000';
      const problem = assertProblem(await native.agent.get(`/packages/${missing}`), 404, 'PACKAGE_NOT_FOUND');
      assert.equal(problem.instance, `/packages/${missing}`);
      assertProblem(await native.agent.get('/packages/not-an-id'), 404, 'PACKAGE_NOT_FOUND');
      assertProblem(await native.agent.post(`/packages/${missing}/finalize`), 404, 'PACKAGE_NOT_FOUND');
      assertProblem(await native.agent.get(`/packages/${missing}/manifest.json`), 404, 'PACKAGE_NOT_FOUND');
    });

    it('400 JSON_INVALID for malformed JSON', async () => {
      const response = await native.agent.post('/packages').set('Content-Type', 'application/json').send('{"name": "x",');
      assertProblem(response, 400, 'JSON_INVALID');
    });

    it('400 RETENTION_CLASS_UNKNOWN for an unknown retention class', async () => {
      const response = await native.agent.post('/packages').send({ name: 'n', producer: 'p', retention_class: 'forever-and-ever' });
      assertProblem(response, 400, 'RETENTION_CLASS_UNKNOWN');
    });

    it('400 FIELD_INVALID listing every violation, unknown fields included', async () => {
      const response = await native.agent.post('/packages').send({ name: '', retention_class: 7, metadata: [], colour: 'red' });
      const problem = assertProblem(response, 400, 'FIELD_INVALID');
      const violations = problem.violations as Array<{ pointer: string; message: string }>;
      assert.deepEqual(violations.map((violation) => violation.pointer).sort(), ['/colour', '/metadata', '/name', '/producer', '/retention_class']);
      for (const violation of violations) assert.ok(violation.message.length > 0);
    });

    it('400 FIELD_INVALID for a body that is not an object, and for no body', async () => {
      assertProblem(await native.agent.post('/packages').set('Content-Type', 'application/json').send('[1,2]'), 400, 'FIELD_INVALID');
      const problem = assertProblem(await native.agent.post('/packages'), 400, 'FIELD_INVALID');
      assert.deepEqual(problem.violations, [{ pointer: '', message: (problem.violations as Array<{ message: string }>)[0]!.message }]);
    });

    it('413 BODY_TOO_LARGE for a body over the limit', async () => {
      const huge = JSON.stringify({ name: 'n', producer: 'p', retention_class: 'raw-evidence', metadata: { blob: 'x'.repeat(JSON_BODY_LIMIT_BYTES) } });
      assertProblem(await native.agent.post('/packages').set('Content-Type', 'application/json').send(huge), 413, 'BODY_TOO_LARGE');
    });

    it('400 METADATA_INVALID for metadata the canonical form cannot hold', async () => {
      assertProblem(await native.agent.post('/packages').send({ name: 'n', producer: 'p', retention_class: 'raw-evidence', metadata: { ratio: 0.5 } }), 400, 'METADATA_INVALID');
    });

    it('415 MEDIA_TYPE_UNSUPPORTED for a non-JSON body', async () => {
      assertProblem(await native.agent.post('/packages').set('Content-Type', 'text/plain').send('name=x'), 415, 'MEDIA_TYPE_UNSUPPORTED');
    });

    it('405 UNSUPPORTED with Allow for another method on a known path', async () => {
      const response = await native.agent.delete('/packages');
      assertProblem(response, 405, 'UNSUPPORTED');
      assert.deepEqual(response.headers.allow?.split(', ').sort(), ['GET', 'HEAD', 'POST']);
    });
  });
});
