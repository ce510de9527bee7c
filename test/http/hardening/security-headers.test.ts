import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { RegistryError } from '../../../src/errors/index.js';
import { SECURITY_HEADERS, securityHeaders } from '../../../src/http/hardening/index.js';
import { ociErrorHandler } from '../../../src/http/oci/errors.js';
import { notFoundHandler, problemHandler } from '../../../src/http/problem.js';
import { createLogger } from '../../../src/logging.js';
import { serve, type Served } from './helpers.js';

const DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'";

function assertSecurityHeaders(headers: Headers, csp: string | RegExp = DEFAULT_CSP): void {
  assert.equal(headers.get('x-content-type-options'), 'nosniff');
  assert.equal(headers.get('x-frame-options'), 'DENY');
  assert.equal(headers.get('referrer-policy'), 'no-referrer');
  assert.equal(headers.get('cross-origin-resource-policy'), 'same-origin');
  if (typeof csp === 'string') assert.equal(headers.get('content-security-policy'), csp);
  else assert.match(headers.get('content-security-policy') ?? '', csp);
  assert.equal(headers.get('x-powered-by'), null);
}

/** A sink for log lines. */
function captured(): { stream: Writable; lines(): Array<Record<string, unknown>>; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text, lines: () => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('http hardening: security headers', () => {
  let served: Served;
  before(async () => {
    served = await serve({});
  });
  after(async () => {
    await served.close();
  });

  it('sets them on native responses, successes and problems alike', async () => {
    for (const path of ['/', '/health', '/packages', '/openapi.json', '/nope']) {
      const response = await fetch(served.url(path));
      assertSecurityHeaders(response.headers);
    }
  });

  it('sets them under /v2/ as well (harmless there)', async () => {
    assertSecurityHeaders((await fetch(served.url('/v2/'))).headers);
    assertSecurityHeaders((await fetch(served.url('/v2/nothing/here/manifests/latest'))).headers);
  });

  it('leaves /docs its own Content-Security-Policy', async () => {
    const response = await fetch(served.url('/docs'));
    assert.equal(response.status, 200);
    assertSecurityHeaders(response.headers, /^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'/);
  });

  it('lists exactly the documented headers', () => {
    assert.deepEqual(Object.keys(SECURITY_HEADERS).sort(), ['Content-Security-Policy', 'Cross-Origin-Resource-Policy', 'Referrer-Policy', 'X-Content-Type-Options', 'X-Frame-Options']);
  });
});

describe('http hardening: no internals in responses', () => {
  const INTERNAL = '/srv/artifactstore/var/secret-path/db.sqlite';
  let served: Served;
  before(async () => {
    served = await serve({});
  });
  after(async () => {
    await served.close();
  });

  function failingApp(logs: Writable): express.Express {
    const logger = createLogger('info', logs);
    const app = express();
    app.disable('x-powered-by');
    app.use(securityHeaders);
    const oci = express.Router();
    oci.get('/boom', () => {
      throw new Error(`ENOENT: no such file or directory, open '${INTERNAL}'`);
    });
    oci.get('/async-boom', async () => {
      await Promise.resolve();
      throw new TypeError(`Cannot read properties of undefined (reading 'x') at ${INTERNAL}:12:7`);
    });
    oci.use(ociErrorHandler(logger));
    app.use('/v2', oci);
    app.get('/boom', () => {
      throw new Error(`ENOENT: no such file or directory, open '${INTERNAL}'`);
    });
    app.get('/async-boom', async () => {
      await Promise.resolve();
      const error = new RangeError(`offset out of range in ${INTERNAL}`) as RangeError & { code: string };
      error.code = 'ERR_OUT_OF_RANGE';
      throw error;
    });
    app.get('/string-boom', () => {
      throw `raw string with ${INTERNAL}`;
    });
    app.use(notFoundHandler);
    app.use(problemHandler(logger));
    return app;
  }

  function assertNoInternals(text: string): void {
    assert.ok(!text.includes(INTERNAL), text);
    assert.ok(!text.includes('/srv/'), text);
    assert.ok(!/\bat .+:\d+:\d+/.test(text), `stack frame in ${text}`);
    assert.ok(!/ENOENT|TypeError|RangeError|node_modules|\.ts\b/.test(text), text);
  }

  it('renders a plain Error on a native route as a generic 500 problem and logs the details', async () => {
    const logs = captured();
    const app = failingApp(logs.stream);
    for (const path of ['/boom', '/async-boom', '/string-boom']) {
      const response = await request(app).get(`${path}?token=hunter2`).expect(500);
      assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
      assertNoInternals(response.text);
      const body = JSON.parse(response.text) as Record<string, unknown>;
      assert.equal(body.code, 'INTERNAL');
      assert.equal(body.detail, 'the server failed to handle this request; see its log');
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
    }
    // The operator still gets the whole story, minus the credential in the URL.
    const lines = logs.lines().filter((line) => line.msg === 'unhandled error');
    assert.equal(lines.length, 3);
    assert.match(JSON.stringify(lines[0]!.err), /ENOENT/);
    assert.equal(lines[0]!.url, '/boom?token=[Redacted]');
    assert.ok(!logs.text().includes('hunter2'));
  });

  it('renders a plain Error under /v2/ as a generic 500 OCI envelope', async () => {
    const logs = captured();
    const app = failingApp(logs.stream);
    for (const path of ['/v2/boom', '/v2/async-boom']) {
      const response = await request(app).get(path).expect(500);
      assertNoInternals(response.text);
      const body = JSON.parse(response.text) as { errors: Array<{ code: string; detail: unknown }> };
      assert.equal(body.errors[0]!.code, 'UNKNOWN');
      assert.equal(body.errors[0]!.detail, 'the server failed to handle this request; see its log');
    }
  });

  it('never renders a stack through the real application', async () => {
    const registry = served.instance.registry;
    const health = registry.health.bind(registry);
    const listTags = registry.listTags.bind(registry);
    registry.health = async () => {
      throw new Error(`disk I/O error at ${INTERNAL}`);
    };
    registry.listTags = async () => {
      throw new Error(`disk I/O error at ${INTERNAL}`);
    };
    try {
      const native = await fetch(served.url('/health'));
      assert.equal(native.status, 500);
      assertNoInternals(await native.text());
      const oci = await fetch(served.url('/v2/some/repo/tags/list'));
      assert.equal(oci.status, 500);
      assertNoInternals(await oci.text());
    } finally {
      registry.health = health;
      registry.listTags = listTags;
    }
  });

  it('keeps registry errors of 5xx to their curated detail', async () => {
    const logs = captured();
    const logger = createLogger('info', logs.stream);
    const app = express();
    app.get('/fail', () => {
      throw new RegistryError('STORAGE_FAILURE', 'writing an object failed (ENOSPC)', undefined, { cause: new Error(`ENOSPC: no space left on device, write '${INTERNAL}'`) });
    });
    app.use(problemHandler(logger));
    const response = await request(app).get('/fail').expect(503);
    assertNoInternals(response.text);
    assert.match(logs.text(), /ENOSPC/);
  });
});
