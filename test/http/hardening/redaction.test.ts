import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { createLogger, scrubUrl } from '../../../src/logging.js';

function capture(): { stream: Writable; lines(): Array<Record<string, unknown>>; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text, lines: () => text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('http hardening: log redaction', () => {
  it('censors credentials in headers and secret fields at any common depth', () => {
    const sink = capture();
    const logger = createLogger('info', sink.stream);
    logger.info(
      {
        req: { method: 'GET', url: '/v2/', headers: { authorization: 'Bearer eyJhbGciOi.secret.sig', cookie: 'session=abc', 'proxy-authorization': 'Basic dXNlcjpwYXNz', host: 'registry' } },
        res: { statusCode: 200, headers: { 'set-cookie': 'session=def' } },
        headers: { authorization: 'Basic YWxpY2U6czNjcjN0' },
        password: 'p4ssw0rd',
        token: 'tok-123',
        secret: 'shh',
        credentials: { password: 'nested-pass', token: 'nested-token', secret: 'nested-secret', user: 'alice' },
      },
      'request',
    );
    const text = sink.text();
    for (const leaked of ['eyJhbGciOi', 'session=abc', 'dXNlcjpwYXNz', 'session=def', 'YWxpY2U6czNjcjN0', 'p4ssw0rd', 'tok-123', 'shh', 'nested-pass', 'nested-token', 'nested-secret']) {
      assert.ok(!text.includes(leaked), `${leaked} leaked: ${text}`);
    }
    const [line] = sink.lines();
    const req = line!.req as { headers: Record<string, string> };
    assert.equal(req.headers.authorization, '[Redacted]');
    assert.equal(req.headers.host, 'registry');
    assert.equal((line!.credentials as Record<string, string>).user, 'alice');
    assert.equal(line!.password, '[Redacted]');
  });

  it('scrubs secrets from logged URLs and keeps the rest of them', () => {
    const sink = capture();
    const logger = createLogger('info', sink.stream);
    logger.warn({ url: '/v2/_catalog?n=10&token=abc123&last=x', req: { url: '/download?password=hunter2#frag' } }, 'with urls');
    logger.warn({ err: new Error('boom'), url: '/packages?access_token=zzz' }, 'unhandled error');
    const [first, second] = sink.lines();
    assert.equal(first!.url, '/v2/_catalog?n=10&token=[Redacted]&last=x');
    assert.equal((first!.req as { url: string }).url, '/download?password=[Redacted]#frag');
    assert.equal(second!.url, '/packages?access_token=[Redacted]');
    assert.ok(!sink.text().includes('abc123') && !sink.text().includes('hunter2') && !sink.text().includes('zzz'));
  });

  it('scrubUrl handles query secrets, signed-URL parameters and user info', () => {
    assert.equal(scrubUrl('/v2/'), '/v2/');
    assert.equal(scrubUrl('/x?token=a&password=b&secret=c&n=1'), '/x?token=[Redacted]&password=[Redacted]&secret=[Redacted]&n=1');
    assert.equal(scrubUrl('/x?TOKEN=a'), '/x?TOKEN=[Redacted]');
    assert.equal(scrubUrl('/x?X-Amz-Signature=abc&X-Amz-Credential=key%2F&X-Amz-Expires=60'), '/x?X-Amz-Signature=[Redacted]&X-Amz-Credential=[Redacted]&X-Amz-Expires=60');
    assert.equal(scrubUrl('https://alice:s3cr3t@example.com/path?q=1'), 'https://[Redacted]@example.com/path?q=1');
    assert.equal(scrubUrl('/tokens/list?n=1'), '/tokens/list?n=1');
  });

  it('leaves ordinary log lines alone', () => {
    const sink = capture();
    createLogger('info', sink.stream).info({ repository: 'library/alpine', count: 3 }, 'plain');
    const [line] = sink.lines();
    assert.equal(line!.repository, 'library/alpine');
    assert.equal(line!.count, 3);
    assert.equal(line!.service, 'artifactstore');
  });
});
