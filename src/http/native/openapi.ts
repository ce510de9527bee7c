/**
 * @module http/native/openapi
 * The OpenAPI 3.1 document of the native API, generated from the route
 * table (the same zod schemas that validate requests), served at
 * `GET /openapi.json`, and rendered for a browser at `GET /docs` by a small
 * self-contained page (no external scripts: the document is embedded).
 */
import { createHash } from 'node:crypto';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { VERSION } from '../../version.js';
import type { NativeRoute } from './route.js';
import { ProblemSchema } from './schemas.js';

/** The OpenAPI document describing `routes`. */
export function buildOpenApiDocument(routes: readonly NativeRoute[]): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.register('Problem', ProblemSchema);
  for (const route of routes) {
    const { handle: _handle, jsonBody: _jsonBody, ...config } = route;
    registry.registerPath(config);
  }
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'artifactstore native API',
      version: VERSION,
      description:
        'Packages of files over a dual-digest (BLAKE3 + SHA-256), event-sourced store. JSON is snake_case; errors are RFC 7807 `application/problem+json` with a stable `code`.',
    },
    tags: [
      { name: 'packages', description: 'Packages, finalization and manifests' },
      { name: 'files', description: 'Files of packages' },
      { name: 'uploads', description: 'Resumable uploads of large files' },
      { name: 'objects', description: 'Stored bytes by content address' },
      { name: 'events', description: 'The event log' },
      { name: 'metadata-schemas', description: 'JSON Schemas package metadata may be held to' },
      { name: 'meta', description: 'This description' },
    ],
  });
  return document as unknown as Record<string, unknown>;
}

/** The `/openapi.json` and `/docs` routes; `document` is the finished document. */
export function documentRoutes(document: () => Record<string, unknown>): NativeRoute[] {
  let page: { html: string; csp: string } | undefined;
  return [
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openApiDocument',
      summary: 'This OpenAPI 3.1 document',
      tags: ['meta'],
      responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
      handle: async ({ response }) => {
        response.status(200).json(document());
      },
    },
    {
      method: 'get',
      path: '/docs',
      operationId: 'apiReference',
      summary: 'The API reference for a browser',
      tags: ['meta'],
      responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
      handle: async ({ response }) => {
        page ??= docsPage(document());
        response.setHeader('Content-Security-Policy', page.csp);
        response.status(200).type('text/html; charset=utf-8').send(page.html);
      },
    },
  ];
}

/** Escapes JSON for a `<script type="application/json">` block. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c').replaceAll('>', '\\u003e').replaceAll('&', '\\u0026').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029');
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#1d2330}
h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #ccd}code,pre{font:12px/1.4 ui-monospace,monospace}
details{border:1px solid #dde;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}summary{cursor:pointer}
.m{display:inline-block;min-width:4rem;font-weight:700;text-transform:uppercase}.get{color:#07a}.post{color:#080}.patch{color:#a60}.delete{color:#c00}.head{color:#666}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #dde;padding:.2rem .5rem;text-align:left;vertical-align:top}
pre{background:#f5f6fa;padding:.5rem;overflow:auto}`;

const SCRIPT = `
const doc = JSON.parse(document.getElementById('spec').textContent);
const el = (tag, attrs, ...kids) => { const n = document.createElement(tag); Object.assign(n, attrs); n.append(...kids.filter((k) => k != null)); return n; };
const json = (v) => el('pre', { textContent: JSON.stringify(v, null, 2) });
const schema = (s) => s && s.$ref ? el('a', { href: '#schema-' + s.$ref.split('/').pop(), textContent: s.$ref.split('/').pop() }) : json(s);
const schemaOf = (c) => Object.entries(c || {}).map(([type, m]) => el('div', {}, el('code', { textContent: type + ' ' }), m.schema ? schema(m.schema) : null));
const root = document.getElementById('root');
root.append(el('h1', { textContent: doc.info.title + ' ' + doc.info.version }), el('p', { textContent: doc.info.description || '' }));
root.append(el('h2', { textContent: 'Operations' }));
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    const params = (op.parameters || []).map((p) => el('tr', {}, el('td', {}, el('code', { textContent: p.name })), el('td', { textContent: p.in }),
      el('td', { textContent: p.required ? 'required' : '' }), el('td', { textContent: p.description || p.schema?.description || '' }), el('td', {}, el('code', { textContent: JSON.stringify(p.schema || {}) }))));
    const responses = Object.entries(op.responses || {}).map(([code, r]) => el('div', {}, el('strong', { textContent: code + ' ' }), r.description || '', ...schemaOf(r.content)));
    root.append(el('details', { id: op.operationId || '' },
      el('summary', {}, el('span', { className: 'm ' + method, textContent: method }), el('code', { textContent: path }), ' — ' + (op.summary || '')),
      op.description ? el('p', { textContent: op.description }) : null,
      params.length ? el('table', {}, el('tr', {}, ...['name', 'in', '', 'description', 'schema'].map((h) => el('th', { textContent: h }))), ...params) : null,
      op.requestBody ? el('div', {}, el('h4', { textContent: 'Request body' }), ...schemaOf(op.requestBody.content)) : null,
      el('h4', { textContent: 'Responses' }), ...responses));
  }
}
root.append(el('h2', { textContent: 'Schemas' }));
for (const [name, schema] of Object.entries(doc.components?.schemas || {})) {
  root.append(el('details', { id: 'schema-' + name }, el('summary', {}, el('code', { textContent: name })), json(schema)));
}`;

/** The reference page, with a Content-Security-Policy admitting exactly its inline style and script. */
function docsPage(document: Record<string, unknown>): { html: string; csp: string } {
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>artifactstore API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body><div id="root"><noscript>The raw document is at <a href="openapi.json">/openapi.json</a>.</noscript></div>
<script type="application/json" id="spec">${scriptSafeJson(document)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
  return { html, csp: `default-src 'none'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}; base-uri 'none'; form-action 'none'` };
}
