/**
 * `artifactstore serve` end to end: the real process logger and wiring,
 * with ARTIFACTSTORE_METRICS_LISTEN set.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { createCliEnv, type CliEnv } from '../../support/cli-env.js';
import { databaseTargets } from '../../support/databases.js';
import { valueOf } from '../../observability/exposition.js';
import { eventually } from './support.js';

const SECRET = 'dG9rZW4tdGhhdC1tdXN0LW5vdC1sZWFr';

describe('serve with a metrics listener', () => {
  let env: CliEnv;
  let server: ChildProcess;
  let stderr = '';
  let main: string;
  let metrics: string;

  before(async () => {
    env = await createCliEnv(databaseTargets()[0]!);
    server = env.spawnCli(['serve'], { ARTIFACTSTORE_LISTEN: '127.0.0.1:0', ARTIFACTSTORE_METRICS_LISTEN: '127.0.0.1:0', ARTIFACTSTORE_LOG_LEVEL: 'info' });
    server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
      server.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
      const check = (): void => {
        const lines = logLines();
        const listening = lines.find((line) => typeof line.msg === 'string' && line.msg.startsWith('artifactstore listening on '));
        const metricsLine = lines.find((line) => line.metrics !== undefined);
        if (listening && metricsLine) {
          clearTimeout(timer);
          main = (listening.msg as string).replace('artifactstore listening on ', '');
          const address = metricsLine.metrics as { address: string; port: number };
          metrics = `http://${address.address}:${address.port}`;
          resolve();
        }
      };
      server.stderr!.on('data', check);
    });
  });

  after(async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    await env.dispose();
  });

  function logLines(): Array<Record<string, unknown>> {
    return stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('serves the API with request ids and access log lines free of credentials', async () => {
    const response = await fetch(`${main}/events?since=0&token=${SECRET}`, { headers: { Authorization: `Bearer ${SECRET}`, 'X-Request-Id': 'e2e-1' } });
    await response.arrayBuffer();
    assert.equal(response.headers.get('x-request-id'), 'e2e-1');
    await eventually(() => {
      const line = logLines().find((entry) => entry.request_id === 'e2e-1' && entry.msg === 'request');
      assert.ok(line, stderr);
      assert.equal(line.route, '/events');
      assert.equal(line.status, response.status);
      assert.equal(line.principal, 'anonymous');
    });
    assert.ok(!stderr.includes(SECRET), `a credential reached the log: ${stderr}`);
  });

  it('serves /metrics on the metrics listener, and to loopback callers of the main one', async () => {
    await (await fetch(`${main}/health`)).arrayBuffer();
    await eventually(async () => {
      const text = await (await fetch(`${metrics}/metrics`)).text();
      assert.equal(valueOf(text, 'http_requests_total', { route: '/health', method: 'GET', status: '200' }), 1);
      assert.ok(valueOf(text, 'db_query_duration_seconds_count') > 0);
      assert.ok(valueOf(text, 'storage_operation_duration_seconds_count', { operation: 'removeStaleStaging' }) >= 1);
    });
    assert.equal((await fetch(`${metrics}/health`)).status, 404);
    const ready = await fetch(`${main}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { status: string }).status, 'ready');
    const onMain = await fetch(`${main}/metrics`);
    assert.equal(onMain.status, 200);
    assert.match(await onMain.text(), /^# TYPE event_log_head_sequence gauge$/m);
  });

  it('stops both listeners on SIGTERM', async () => {
    server.kill('SIGTERM');
    const code = await new Promise((resolve) => server.once('exit', resolve));
    assert.equal(code, 0, stderr);
  });
});
