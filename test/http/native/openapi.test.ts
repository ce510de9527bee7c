import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describeEachDatabase } from '../../support/databases.js';
import { assertProblem, openNative, type NativeHarness } from './helpers.js';

/** `METHOD path` of every route in the contract's table (docs/api/native.md). */
async function contractRoutes(): Promise<string[]> {
  const text = await readFile(new URL('../../../docs/api/native.md', import.meta.url), 'utf8');
  const routes: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\|\s*([A-Z/]+)\s*\|\s*`([^`]+)`\s*\|/.exec(line);
    if (!match) continue;
    for (const method of match[1]!.split('/')) routes.push(`${method} ${match[2]}`);
  }
  return routes.sort();
}

/** Every `$ref` in `value`. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => refs(item, found));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') found.push(item);
      else refs(item, found);
    }
  }
  return found;
}

interface Operation {
  operationId?: string;
  parameters?: Array<{ name: string; in: string }>;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

describeEachDatabase('native API: OpenAPI document and reference page', (target) => {
  let native: NativeHarness;
  let document: { openapi: string; info: { title: string }; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
  before(async () => {
    native = await openNative(target);
    document = (await native.agent.get('/openapi.json').expect(200).expect('Content-Type', /^application\/json/)).body;
  });
  after(async () => {
    await native.close();
  });

  it('is OpenAPI 3.1 and documents exactly the routes of the contract', async () => {
    assert.equal(document.openapi, '3.1.0');
    const documented = Object.entries(document.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const contract = await contractRoutes();
    assert.equal(contract.length, 32, 'the contract table parsed');
    assert.deepEqual(documented, contract);
    const ids = Object.values(document.paths).flatMap((item) => Object.values(item).map((operation) => operation.operationId));
    assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
  });

  it('describes the objects, parameters and problems from the validating schemas', () => {
    for (const name of ['Package', 'File', 'UploadSession', 'Event', 'Problem', 'CreatePackage', 'StartUpload', 'PackageList', 'EventPage']) {
      assert.ok(document.components.schemas[name], `schema ${name}`);
    }
    const missing = refs(document).filter((ref) => !document.components.schemas[ref.replace('#/components/schemas/', '')]);
    assert.deepEqual(missing, []);
    const getPackage = document.paths['/packages/{id}']!.get!;
    assert.equal(getPackage.responses['200']!.content!['application/json']!.schema!.$ref, '#/components/schemas/Package');
    assert.equal(getPackage.responses['404']!.content!['application/problem+json']!.schema!.$ref, '#/components/schemas/Problem');
    const listEvents = document.paths['/events']!.get!;
    assert.deepEqual(
      listEvents.parameters!.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name).sort(),
      ['event_type', 'limit', 'since', 'subject_id', 'subject_kind', 'wait'],
    );
    const createPackage = document.components.schemas.CreatePackage as { required: string[]; properties: Record<string, unknown>; additionalProperties: boolean };
    assert.deepEqual([...createPackage.required].sort(), ['name', 'producer', 'retention_class']);
    assert.equal(createPackage.additionalProperties, false);
    const pkg = document.components.schemas.Package as { properties: Record<string, unknown> };
    assert.deepEqual(Object.keys(pkg.properties).sort(), [
      'created_at', 'created_by', 'deleted_at', 'expires_at', 'file_count', 'finalized_at', 'id', 'last_event_sequence', 'logical_size', 'manifest_digest', 'metadata', 'metadata_schema', 'name', 'producer', 'retention_class', 'status', 'stored_size', 'subject', 'total_size',
    ]);
  });

  it('every documented operation is served (no 404 ROUTE_NOT_FOUND, no 405)', async () => {
    const sample: Record<string, string> = { id: '01900000-0000-7000-8000-000000000000', uid: '01900000-0000-7000-8000-000000000000', name: 'no.such.schema', 'content-address': `blake3:${'0'.repeat(64)}` };
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) {
        const url = path.replace(/\{([^}]+)\}/g, (_match, name: string) => sample[name]!);
        // The stream would stay open: a malformed Last-Event-ID makes it answer at once.
        const call = native.agent[method as 'get' | 'head' | 'post' | 'patch' | 'delete'](url).set('Last-Event-ID', path === '/events/stream' ? 'x' : '0');
        const response = await call;
        assert.notEqual(response.status, 405, `${method} ${path}`);
        if (response.status === 404 && method !== 'head') assert.notEqual(JSON.parse(response.text).code, 'ROUTE_NOT_FOUND', `${method} ${path}`);
      }
    }
    assertProblem(await native.agent.get('/no-such-route'), 404, 'ROUTE_NOT_FOUND');
  });

  it('GET /docs renders the document in a self-contained page allowed by its CSP', async () => {
    const response = await native.agent.get('/docs').expect(200).expect('Content-Type', /^text\/html/);
    const html = response.text;
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!artifactstore\.dev)/, 'no external resources');
    const embedded = /<script type="application\/json" id="spec">([\s\S]*?)<\/script>/.exec(html);
    assert.ok(embedded);
    assert.deepEqual(JSON.parse(embedded[1]!), document);
    const inline = /<script>([\s\S]*?)<\/script>/.exec(html);
    assert.ok(inline);
    const csp = response.headers['content-security-policy'] ?? '';
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(inline[1]!).digest('base64')}'`), csp);
    assert.match(csp, /default-src 'none'/);

    // Run the page's script against a minimal DOM: it must render every operation and schema.
    class FakeNode {
      readonly children: unknown[] = [];
      textContent?: string;
      constructor(readonly tag: string) {}
      append(...children: unknown[]): void {
        this.children.push(...children);
      }
    }
    const root = new FakeNode('div');
    const fakeDocument = {
      getElementById: (id: string) => (id === 'spec' ? { textContent: embedded[1] } : root),
      createElement: (tag: string) => new FakeNode(tag),
    };
    new Function('document', inline[1]!)(fakeDocument);
    const textOf = (node: unknown): string =>
      typeof node === 'string' ? node : node instanceof FakeNode ? `${node.textContent ?? ''} ${node.children.map(textOf).join(' ')}` : '';
    const rendered = textOf(root);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) assert.match(rendered, new RegExp(`${method}\\s+${path.replace(/[.{}]/g, '\\$&')}`), `${method} ${path}`);
    }
    for (const name of Object.keys(document.components.schemas)) assert.ok(rendered.includes(name), `schema ${name}`);
    assert.ok(rendered.includes('retention_class'), 'schemas are shown in full');
  });
});
