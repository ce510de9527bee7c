import { strict as assert } from 'node:assert';
import pino from 'pino';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { allChecks, runConformance, type ConformanceReport } from '../../conformance/runner.js';

// Our OCI distribution-spec conformance runner, over real HTTP on loopback,
// against a server on each database; then the log must still verify.
describeEachDatabase('OCI conformance', (target) => {
  let instance: TestRegistry;
  let server: RunningServer;
  let report: ConformanceReport;

  before(async function () {
    this.timeout(300_000);
    instance = await openTestRegistry(target);
    server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
    report = await runConformance({ url: `http://127.0.0.1:${server.address.port}` });
  });
  after(async () => {
    await server?.close();
    await instance?.dispose();
  });

  for (const check of allChecks) {
    it(`${check.workflow}: ${check.name}`, () => {
      const result = report.results.find((entry) => entry.workflow === check.workflow && entry.name === check.name);
      assert.ok(result, 'the check ran');
      assert.ok(result.ok || result.optional, result.detail);
    });
  }

  it('leaves a log that verifies, with every stored object intact', async () => {
    const verification = await instance.registry.verify({ objects: true });
    assert.equal(verification.ok, true, JSON.stringify(verification.viewDifferences.slice(0, 5)));
    assert.ok(verification.events > 50);
  });
});
