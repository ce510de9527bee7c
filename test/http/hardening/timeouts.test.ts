import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { connect, serve, sleep, startOciUpload, type Served } from './helpers.js';

const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('http hardening: connection timeouts', () => {
  describe('headers timeout', () => {
    let served: Served;
    before(async () => {
      served = await serve({ headersTimeoutMs: 2_000, idleTimeoutMs: 20_000, keepAliveTimeoutMs: 20_000 });
    });
    after(async () => {
      await served.close();
    });

    it('cuts off a client that sends its headers one byte a second (slow loris)', async () => {
      const client = await connect(served.port);
      await client.write('GET /health HTTP/1.1\r\nHost: localhost\r\n');
      const drip = client.drip(`X-Slow: ${'a'.repeat(60)}\r\n\r\n`, 1_000);
      try {
        const elapsed = await client.closed;
        // The header deadline (2 s, checked every 0.5 s), far before the 20 s idle timeout.
        assert.ok(elapsed >= 1_900 && elapsed < 6_000, `closed after ${elapsed} ms`);
        assert.match(client.received(), /^HTTP\/1\.1 408 /);
      } finally {
        drip.stop();
        client.destroy();
      }
      const health = await fetch(served.url('/health'));
      assert.equal(health.status, 200);
    });
  });

  describe('idle and keep-alive timeouts', () => {
    let served: Served;
    before(async () => {
      served = await serve({ headersTimeoutMs: 20_000, idleTimeoutMs: 600, keepAliveTimeoutMs: 300 });
    });
    after(async () => {
      await served.close();
    });

    it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
      const client = await connect(served.port);
      try {
        await client.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
        await client.waitFor(/\r\n\r\n\{.*\}$/s);
        const answered = Date.now();
        assert.match(client.received(), /^HTTP\/1\.1 200 /);
        assert.match(client.received(), /keep-alive/i);
        await client.closed;
        const idle = Date.now() - answered;
        // Node adds a second of grace to the keep-alive timeout.
        assert.ok(idle >= 200 && idle < 3_000, `closed ${idle} ms after the response`);
      } finally {
        client.destroy();
      }
    });

    it('does not count the time the server works on a whole request as idle', async () => {
      const registry = served.instance.registry;
      const health = registry.health.bind(registry);
      registry.health = async () => {
        await sleep(1_500);
        return health();
      };
      try {
        const response = await fetch(served.url('/health'));
        assert.equal(response.status, 200);
        assert.equal(((await response.json()) as { status: string }).status, 'ok');
      } finally {
        registry.health = health;
      }
    });

    it('closes a connection that never sends anything', async () => {
      const client = await connect(served.port);
      const elapsed = await client.closed;
      assert.ok(elapsed >= 500 && elapsed < 4_000, `closed after ${elapsed} ms`);
      assert.equal(client.received(), '');
    });

    it('cuts off a body that stalls mid-upload, keeps the session usable and stays healthy', async () => {
      const location = await startOciUpload(served);
      const blob = Buffer.alloc(1_000, 7);
      const client = await connect(served.port);
      await client.write(`PATCH ${location} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: ${blob.length}\r\n\r\n`);
      await client.write(blob.subarray(0, 100));
      const stalledAt = Date.now();
      await client.closed;
      const stalled = Date.now() - stalledAt;
      assert.ok(stalled >= 500 && stalled < 4_000, `cut off ${stalled} ms after the body stalled`);
      assert.doesNotMatch(client.received(), /^HTTP\/1\.1 2/);

      assert.equal((await fetch(served.url('/health'))).status, 200);
      // The session holds at most the bytes that arrived, and resumes from there.
      const status = await fetch(served.url(location));
      assert.equal(status.status, 204);
      const received = /^0-(\d+)$/.exec(status.headers.get('range') ?? '');
      assert.ok(received, `Range ${status.headers.get('range')}`);
      const offset = Number(received[1]) === 0 ? 0 : Number(received[1]) + 1;
      assert.ok(offset === 0 || offset === 100, `offset ${offset}`);
      const patched = await fetch(served.url(location), {
        method: 'PATCH',
        body: blob.subarray(offset),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${blob.length - 1}` },
      });
      assert.equal(patched.status, 202, await patched.text());
      const put = await fetch(served.url(`${patched.headers.get('location')!}?digest=${sha256(blob)}`), { method: 'PUT' });
      assert.equal(put.status, 201, await put.text());
    });

    it('lets a slow body that keeps moving run past the idle timeout (no total request timeout)', async () => {
      const location = await startOciUpload(served);
      const blob = Buffer.alloc(10 * 256, 3);
      const client = await connect(served.port);
      try {
        await client.write(`PUT ${location}?digest=${sha256(blob)} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: ${blob.length}\r\n\r\n`);
        const started = Date.now();
        for (let offset = 0; offset < blob.length; offset += 256) {
          await client.write(blob.subarray(offset, offset + 256));
          await sleep(250);
        }
        assert.ok(Date.now() - started > 2_000);
        await client.waitFor(/^HTTP\/1\.1 \d{3} /);
        assert.match(client.received(), /^HTTP\/1\.1 201 /);
      } finally {
        client.destroy();
      }
    });
  });

  describe('header size', () => {
    let served: Served;
    before(async () => {
      served = await serve({ maxHeaderBytes: 2_048 });
    });
    after(async () => {
      await served.close();
    });

    it('answers 431 to a request head above the limit and serves the next connection', async () => {
      const client = await connect(served.port);
      try {
        await client.write(`GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(4_096)}\r\n\r\n`);
        await client.waitFor(/^HTTP\/1\.1 \d{3} /);
        assert.match(client.received(), /^HTTP\/1\.1 431 /);
        await client.closed;
      } finally {
        client.destroy();
      }
      const fits = await fetch(served.url('/health'), { headers: { 'X-Fits': 'c'.repeat(1_000) } });
      assert.equal(fits.status, 200);
    });
  });

  it('configures the Node server from the limits (requestTimeout off)', async () => {
    const served = await serve({ headersTimeoutMs: 12_000, idleTimeoutMs: 34_000, keepAliveTimeoutMs: 5_600, maxHeaderBytes: 4_096 });
    try {
      const { server } = served.server;
      assert.equal(server.headersTimeout, 12_000);
      assert.equal(server.requestTimeout, 0);
      assert.equal(server.keepAliveTimeout, 5_600);
      assert.equal(server.timeout, 34_000);
      assert.equal((server as unknown as { maxHeaderSize?: number }).maxHeaderSize, 4_096);
    } finally {
      await served.close();
    }
  });
});
