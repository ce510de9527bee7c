/** The sinks file: defaults, secrets from files, and every problem reported at once without secrets. */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isRegistryError } from '../../src/errors/index.js';
import { backoffDelay, loadSinksFile, parseSinks, wantsEvent } from '../../src/sinks/index.js';

describe('sinks: configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-sinks-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a YAML file with defaults, and secrets from files relative to it', async () => {
    await writeFile(path.join(dir, 'hmac'), 'from-a-file\n');
    const file = path.join(dir, 'sinks.yaml');
    await writeFile(
      file,
      [
        'sinks:',
        '  - {name: hook, type: webhook, url: "http://127.0.0.1:9/h", secret_file: hmac, events: [v1.package.]}',
        '  - {name: tracker, type: tracker, url: "http://127.0.0.1:9/api", token: t, from: latest}',
        '  - {name: bus, type: nats, url: "nats://127.0.0.1:4222", duplicate_window: 5m}',
      ].join('\n'),
    );
    const { leaseTtlMs, sinks } = loadSinksFile(file);
    assert.equal(leaseTtlMs, 30_000);
    const [hook, tracker, bus] = sinks as [(typeof sinks)[number], (typeof sinks)[number], (typeof sinks)[number]];
    assert.deepEqual(hook, { name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/h', secret: 'from-a-file', events: ['v1.package.'], from: 'start', batchSize: 100, timeoutMs: 10_000 });
    assert.equal(tracker.type === 'tracker' && tracker.author, 'artifactstore');
    assert.equal(tracker.from, 'latest');
    assert.deepEqual(bus.type === 'nats' && [bus.stream, bus.subjectPrefix, bus.duplicateWindowSeconds], ['ARTIFACTSTORE_EVENTS', 'artifactstore.events', 300]);
    assert.equal(wantsEvent(hook, 'v1.package.finalized'), true);
    assert.equal(wantsEvent(hook, 'v1.retention.extended'), false);
    assert.equal(wantsEvent(bus!, 'v1.retention.extended'), true, 'no prefixes: every event');
  });

  it('reports every problem at once, by sink and field, never echoing a secret', () => {
    const document = {
      lease_ttl: '5s',
      sinks: [
        { name: 'a', type: 'webhook', url: 'ftp://nope', secret: 'TOPSECRET' },
        { name: 'a', type: 'webhook', url: 'http://ok', secret: 'TOPSECRET', secret_file: '/nonexistent' },
        { name: 'b', type: 'nats', url: 'nats://x', stream: 'bad stream' },
        { name: 'c', type: 'smtp', url: 'http://ok' },
        { name: 'd', type: 'webhook', url: 'http://ok', colour: 'red' },
      ],
    };
    assert.throws(
      () => parseSinks(document),
      (error: unknown) => {
        assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
        const problems = error.extra?.problems as string[];
        assert.ok(problems.length >= 4, problems.join('\n'));
        const text = problems.join('\n');
        assert.match(text, /sinks\[0\]\.url: must be an http\(s\) URL/);
        assert.match(text, /sinks\[2\]\.stream/);
        assert.match(text, /sinks\[3\]\.type/);
        assert.match(text, /sinks\[4\].*colour/);
        assert.ok(!text.includes('TOPSECRET'));
        return true;
      },
    );
    assert.throws(() => parseSinks({ lease_ttl: '5s', sinks: [{ name: 'a', type: 'webhook', url: 'http://ok', secret: 'x', secret_file: 'y' }, { name: 'a', type: 'webhook', url: 'http://ok', timeout: '5s' }] }), (error: unknown) => {
      const text = ((error as { extra: { problems: string[] } }).extra.problems).join('\n');
      assert.match(text, /give secret or secret_file, not both/);
      assert.match(text, /name is used twice/);
      assert.match(text, /timeout must be shorter than lease_ttl/);
      return true;
    });
  });

  it('backs off exponentially with jitter, capped', () => {
    const timing = { backoffBaseMs: 500, backoffCapMs: 30_000 };
    assert.equal(backoffDelay(1, timing, () => 0), 250);
    assert.equal(backoffDelay(1, timing, () => 1), 500);
    assert.equal(backoffDelay(4, timing, () => 1), 4000);
    assert.equal(backoffDelay(40, timing, () => 1), 30_000);
    assert.equal(backoffDelay(40, timing, () => 0), 15_000);
  });
});
