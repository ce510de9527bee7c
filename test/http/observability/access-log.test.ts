import { strict as assert } from 'node:assert';
import express from 'express';
import request from 'supertest';
import { setPrincipal, OPEN_ANONYMOUS } from '../../../src/http/principal.js';
import { createHttpObservability, requestIdOf, requestLogger } from '../../../src/http/observability/index.js';
import { problemHandler } from '../../../src/http/problem.js';
import { describeEachDatabase } from '../../support/databases.js';
import { LogCapture, openObservedApp, type ObservedApp } from './support.js';

const SECRET = 'c3VwZXI6c2VjcmV0LXBhc3N3b3Jk';

describeEachDatabase('access log', (target) => {
  let observed: ObservedApp;
  beforeEach(async () => {
    observed = await openObservedApp(target);
  });
  afterEach(async () => {
    await observed.dispose();
  });

  it('writes one info line per request with id, principal, route, status, bytes and duration', async () => {
    const body = { name: 'logged', producer: 'ci', retention_class: 'transient' };
    const response = await request(observed.app).post('/packages').set('User-Agent', 'observability-test/1.0').send(body).expect(201);
    const line = await observed.log.accessLineOf(response.headers['x-request-id'] as string);
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'request');
    assert.equal(line.principal, 'anonymous');
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/packages');
    assert.equal(line.path, '/packages');
    assert.equal(line.status, 201);
    assert.equal(line.bytes_in, Buffer.byteLength(JSON.stringify(body)));
    assert.equal(line.bytes_out, Buffer.byteLength(response.text));
    assert.equal(typeof line.duration_ms, 'number');
    assert.ok((line.duration_ms as number) >= 0);
    assert.match(String(line.remote_address), /127\.0\.0\.1|::1/);
    assert.equal(line.user_agent, 'observability-test/1.0');
    assert.equal(line.aborted, undefined);
    assert.equal(observed.log.accessLines().length, 1);
  });

  it('never logs Authorization, cookies or query secrets', async () => {
    const response = await request(observed.app)
      .get(`/events?since=0&token=${SECRET}&access_token=${SECRET}`)
      .set('Authorization', `Basic ${SECRET}`)
      .set('Cookie', `session=${SECRET}`)
      .set('Proxy-Authorization', `Bearer ${SECRET}`);
    const line = await observed.log.accessLineOf(response.headers['x-request-id'] as string);
    assert.equal(line.route, '/events');
    assert.equal(line.path, '/events?since=0&token=[REDACTED]&access_token=[REDACTED]');
    for (const raw of observed.log.raw) {
      assert.ok(!raw.includes(SECRET), `secret leaked: ${raw}`);
      assert.ok(!/authorization/i.test(raw), `authorization header logged: ${raw}`);
    }
  });

  it('gives error-renderer lines of the request its request_id', async () => {
    observed.instance.registry.getPackage = async () => {
      throw new Error('boom');
    };
    const response = await request(observed.app).get('/packages/00000000-0000-0000-0000-000000000000').expect(500);
    const id = response.headers['x-request-id'] as string;
    await observed.log.accessLineOf(id);
    const error = observed.log.lines.find((line) => line.msg === 'unhandled error');
    assert.ok(error, 'the problem renderer logged the failure');
    assert.equal(error.request_id, id);
    assert.equal(error.level, 50);
    // Outside any request nothing is added.
    observed.log.logger.info('outside');
    assert.equal(observed.log.lines.at(-1)?.request_id, undefined);
  });
});

describe('access log without a registry', () => {
  let hit: () => void = () => undefined;

  /** An app with only the observability middleware, an authentication stand-in and a few routes. */
  function app(log: LogCapture) {
    const observability = createHttpObservability({ context: {} } as never, log.logger, {});
    const application = express();
    application.use(observability.middleware);
    application.use((request, _response, next) => {
      if (request.headers['x-user']) setPrincipal(request, { ...OPEN_ANONYMOUS, name: String(request.headers['x-user']), anonymous: false, admin: false });
      next();
    });
    application.get('/packages/:id', (request, response) => {
      requestLogger(request, log.logger).info({ step: 'handler' }, 'handling');
      response.json({ id: request.params.id, request: requestIdOf(request) });
    });
    application.get('/events/stream', (_request, response) => {
      response.status(200).setHeader('Content-Type', 'text/event-stream');
      response.write(': hello\n\n');
      // Never ends: the client hangs up.
    });
    application.get('/hang', () => {
      hit();
      // Never answers.
    });
    application.use(problemHandler(observability.logger));
    return application;
  }

  it('names the principal authentication established, and exposes the request logger to handlers', async () => {
    const log = new LogCapture();
    const response = await request(app(log)).get('/packages/p-1').set('X-User', 'alice').expect(200);
    const id = response.headers['x-request-id'] as string;
    assert.equal(response.body.request, id);
    const line = await log.accessLineOf(id);
    assert.equal(line.principal, 'alice');
    assert.equal(line.route, '/packages/:id');
    const handler = log.lines.find((entry) => entry.msg === 'handling');
    assert.equal(handler?.request_id, id);
  });

  it('logs a response the client abandoned midway as aborted, with what was sent', async () => {
    const log = new LogCapture();
    const server = app(log).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/events/stream`, { signal: controller.signal });
      assert.equal(response.status, 200);
      const id = response.headers.get('x-request-id')!;
      controller.abort();
      const line = await log.accessLineOf(id);
      assert.equal(line.aborted, true);
      assert.equal(line.status, 200);
      assert.equal(line.bytes_out, Buffer.byteLength(': hello\n\n'));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('logs a request abandoned before any response as aborted with status 499', async () => {
    const log = new LogCapture();
    const server = app(log).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const reached = new Promise<void>((resolve) => (hit = resolve));
      const controller = new AbortController();
      const pending = fetch(`http://127.0.0.1:${port}/hang`, { signal: controller.signal, headers: { 'X-Request-Id': 'hung-up' } }).catch(() => undefined);
      await reached;
      controller.abort();
      await pending;
      const line = await log.accessLineOf('hung-up');
      assert.equal(line.status, 499);
      assert.equal(line.aborted, true);
      assert.equal(line.route, 'unmatched');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
