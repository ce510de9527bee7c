import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request } from 'express';
import pino from 'pino';
import { callerKey, isOciRequest, isUploadRequest, requestLimits, UPLOAD_RETRY_AFTER_SECONDS } from '../../../src/http/hardening/index.js';
import { principalOf, setPrincipal, type RequestPrincipal } from '../../../src/http/principal.js';
import { notFoundHandler, problemHandler } from '../../../src/http/problem.js';
import { connect, serve, startOciUpload, until, type Served } from './helpers.js';

const silent = pino({ level: 'silent' });

/** An authenticated principal named `name` (otherwise like the default caller). */
function authenticated(request: Request, name: string): RequestPrincipal {
  return { ...principalOf(request), name, anonymous: false };
}

interface OciEnvelope {
  errors: Array<{ code: string; message: string; detail: unknown }>;
}

async function assertOciTooMany(response: Response, retryAfter: string): Promise<void> {
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('retry-after'), retryAfter);
  assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as OciEnvelope;
  assert.equal(body.errors.length, 1);
  assert.equal(body.errors[0]!.code, 'TOOMANYREQUESTS');
}

async function assertProblemTooMany(response: Response, retryAfter: string): Promise<Record<string, unknown>> {
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('retry-after'), retryAfter);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(body.code, 'TOOMANYREQUESTS');
  assert.equal(body.status, 429);
  assert.equal(body.type, 'https://artifactstore.dev/problems/toomanyrequests');
  return body;
}

function createPackage(served: Served, name: string): Promise<Response> {
  return fetch(served.url('/packages'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, producer: 'ci', retention_class: 'transient' }),
  });
}

describe('http hardening: rate limit', () => {
  let served: Served;
  beforeEach(async () => {
    // 2 at once, then one a second: the third request of a quick burst is refused.
    served = await serve({ rateLimitPerSecond: 1, rateLimitBurst: 2, maxConcurrentUploads: 0 });
  });
  afterEach(async () => {
    await served.close();
  });

  it('answers 429 TOOMANYREQUESTS with Retry-After in the OCI envelope under /v2/', async () => {
    assert.equal((await fetch(served.url('/v2/'))).status, 200);
    assert.equal((await fetch(served.url('/v2/'))).status, 200);
    await assertOciTooMany(await fetch(served.url('/v2/')), '1');
    // HEAD gets the status and headers without a body.
    const head = await fetch(served.url('/v2/'), { method: 'HEAD' });
    assert.equal(head.status, 429);
    assert.equal(head.headers.get('retry-after'), '1');
  });

  it('answers 429 as problem+json on native routes, and a refused request changes no state', async () => {
    assert.equal((await createPackage(served, 'one')).status, 201);
    assert.equal((await createPackage(served, 'two')).status, 201);
    const events = await served.instance.log.count();
    const refused = await createPackage(served, 'three');
    const body = await assertProblemTooMany(refused, '1');
    assert.equal(body.instance, '/packages');
    assert.equal(await served.instance.log.count(), events);
    const names = (await served.instance.db.knex('artifact_packages').select('name')).map((row: { name: string }) => row.name).sort();
    assert.deepEqual(names, ['one', 'two']);
  });

  it('exempts / and /health, and refills at the sustained rate', async () => {
    await fetch(served.url('/v2/'));
    await fetch(served.url('/v2/'));
    assert.equal((await fetch(served.url('/v2/'))).status, 429);
    for (let index = 0; index < 5; index += 1) {
      assert.equal((await fetch(served.url('/health'))).status, 200);
      assert.equal((await fetch(served.url('/'))).status, 200);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.equal((await fetch(served.url('/v2/'))).status, 200);
  });

  it('limits unknown routes too (before any route runs)', async () => {
    await fetch(served.url('/nope'));
    await fetch(served.url('/nope'));
    await assertProblemTooMany(await fetch(served.url('/nope')), '1');
  });
});

describe('http hardening: limits per caller', () => {
  let server: Server;
  let base: string;
  let clock: number;
  before(async () => {
    clock = 0;
    const app = express();
    // Stands in for authentication: the principal named by a test header.
    app.use((request, _response, next) => {
      const name = request.headers['x-test-principal'];
      if (typeof name === 'string') setPrincipal(request, authenticated(request, name));
      next();
    });
    app.use(requestLimits({ rateLimitPerSecond: 1, rateLimitBurst: 1, maxConcurrentUploads: 0, now: () => clock }, silent));
    app.get('/thing', (_request, response) => {
      response.json({ ok: true });
    });
    app.use(notFoundHandler);
    app.use(problemHandler(silent));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('keeps one bucket per principal, and one per client IP for anonymous callers', async () => {
    const as = (name?: string): Promise<Response> => fetch(`${base}/thing`, name ? { headers: { 'X-Test-Principal': name } } : {});
    assert.equal((await as('alice')).status, 200);
    const refused = await as('alice');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((await as('bob')).status, 200);
    assert.equal((await as()).status, 200);
    assert.equal((await as()).status, 429);
    assert.equal((await as('bob')).status, 429);
    clock += 1_000;
    assert.equal((await as('alice')).status, 200);
    assert.equal((await as()).status, 200);
  });

  it('names the caller by principal when authenticated, else by IP', () => {
    const request = { ip: '::ffff:10.0.0.7', socket: { remoteAddress: '::ffff:10.0.0.7' } } as unknown as Request;
    assert.equal(callerKey(request), 'ip:::ffff:10.0.0.7');
    setPrincipal(request, authenticated(request, 'ci-bot'));
    assert.equal(callerKey(request), 'principal:ci-bot');
  });
});

describe('http hardening: request classification', () => {
  const fake = (method: string, path: string, headers: Record<string, string> = { 'content-length': '10' }): Request =>
    ({ method, path, headers }) as unknown as Request;

  it('recognizes every upload body and nothing else', () => {
    assert.ok(isUploadRequest(fake('PATCH', '/v2/a/b/blobs/uploads/0196')));
    assert.ok(isUploadRequest(fake('PUT', '/v2/a/blobs/uploads/0196', { 'transfer-encoding': 'chunked' })));
    assert.ok(isUploadRequest(fake('POST', '/v2/a/blobs/uploads/')));
    assert.ok(isUploadRequest(fake('PATCH', '/uploads/0196')));
    assert.ok(isUploadRequest(fake('PATCH', '/Uploads/0196/')));
    assert.ok(isUploadRequest(fake('POST', '/packages/0196/files')));
    // No body: closing PUT, starting a session, mounting.
    assert.ok(!isUploadRequest(fake('PUT', '/v2/a/blobs/uploads/0196', {})));
    assert.ok(!isUploadRequest(fake('PUT', '/v2/a/blobs/uploads/0196', { 'content-length': '0' })));
    assert.ok(!isUploadRequest(fake('POST', '/v2/a/blobs/uploads/', {})));
    // Not uploads.
    assert.ok(!isUploadRequest(fake('PUT', '/v2/a/manifests/latest')));
    assert.ok(!isUploadRequest(fake('POST', '/packages')));
    assert.ok(!isUploadRequest(fake('POST', '/packages/0196/uploads')));
    assert.ok(!isUploadRequest(fake('POST', '/uploads/0196/complete')));
    assert.ok(!isUploadRequest(fake('GET', '/uploads/0196')));
  });

  it('tells OCI requests from native ones', () => {
    assert.ok(isOciRequest(fake('GET', '/v2')));
    assert.ok(isOciRequest(fake('GET', '/v2/')));
    assert.ok(isOciRequest(fake('GET', '/V2/a/tags/list')));
    assert.ok(!isOciRequest(fake('GET', '/v2x')));
    assert.ok(!isOciRequest(fake('GET', '/packages')));
  });
});

describe('http hardening: concurrent uploads', () => {
  let served: Served;
  beforeEach(async () => {
    served = await serve({ rateLimitPerSecond: 0, maxConcurrentUploads: 1 });
  });
  afterEach(async () => {
    await served.close();
  });

  /**
   * Starts a PATCH of 10 bytes on `path` and sends only 5: an upload in
   * flight, admitted once its first bytes show in the session's progress.
   */
  async function holdUpload(path: string, native = false): Promise<Awaited<ReturnType<typeof connect>>> {
    const client = await connect(served.port);
    await client.write(`PATCH ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n${native ? 'Upload-Offset: 0\r\n' : ''}Content-Length: 10\r\n\r\n01234`);
    await until(async () => {
      const progress = await fetch(served.url(path), { method: 'HEAD' });
      return native ? progress.headers.get('upload-offset') === '5' : progress.headers.get('range') === '0-4';
    });
    assert.equal(client.received(), '');
    return client;
  }

  it('refuses an OCI upload over the limit with 429 and Retry-After: 1, storing nothing', async () => {
    const first = await startOciUpload(served);
    const second = await startOciUpload(served);
    const held = await holdUpload(first);
    try {
      const refused = await fetch(served.url(second), { method: 'PATCH', body: 'abcdefghij', headers: { 'Content-Type': 'application/octet-stream' } });
      await assertOciTooMany(refused, String(UPLOAD_RETRY_AFTER_SECONDS));
      const status = await fetch(served.url(second));
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), '0-0');
      // A monolithic POST ?digest= is an upload too; bodiless requests are not limited.
      const monolithic = await fetch(served.url('/v2/hardening/test/blobs/uploads/?digest=sha256:' + '0'.repeat(64)), { method: 'POST', body: 'x' });
      await assertOciTooMany(monolithic, '1');
      assert.equal((await fetch(served.url('/v2/hardening/test/blobs/uploads/'), { method: 'POST' })).status, 202);

      await held.write('56789');
      await held.waitFor(/^HTTP\/1\.1 202 /);
    } finally {
      held.destroy();
    }
    const accepted = await fetch(served.url(second), { method: 'PATCH', body: 'abcdefghij', headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(accepted.status, 202, await accepted.text());
  });

  it('releases the slot of an upload whose client hung up', async () => {
    const first = await startOciUpload(served);
    const second = await startOciUpload(served);
    const held = await holdUpload(first);
    assert.equal((await fetch(served.url(second), { method: 'PATCH', body: 'abcdefghij' })).status, 429);
    held.destroy();
    let accepted!: Response;
    await until(async () => {
      accepted = await fetch(served.url(second), { method: 'PATCH', body: 'abcdefghij', headers: { 'Content-Type': 'application/octet-stream' } });
      return accepted.status === 202;
    });
    assert.equal(accepted.status, 202);
  });

  it('refuses a native upload over the limit as problem+json', async () => {
    const created = await createPackage(served, 'uploads');
    const { id } = (await created.json()) as { id: string };
    const start = (): Promise<Response> =>
      fetch(served.url(`/packages/${id}/uploads`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ relative_path: `f-${Math.random()}.bin`, media_type: 'application/octet-stream' }),
      });
    const first = await start();
    assert.equal(first.status, 201, await first.clone().text());
    const second = await start();
    const held = await holdUpload(first.headers.get('location')!, true);
    try {
      const refused = await fetch(served.url(second.headers.get('location')!), { method: 'PATCH', body: 'abc', headers: { 'Upload-Offset': '0', 'Content-Type': 'application/octet-stream' } });
      await assertProblemTooMany(refused, '1');
      const progress = await fetch(served.url(second.headers.get('location')!), { method: 'HEAD' });
      assert.equal(progress.headers.get('upload-offset'), '0');
      // Multipart file uploads count as well.
      const form = new FormData();
      form.append('file', new Blob(['hello']), 'hello.txt');
      await assertProblemTooMany(await fetch(served.url(`/packages/${id}/files`), { method: 'POST', body: form }), '1');
    } finally {
      held.destroy();
    }
  });
});
