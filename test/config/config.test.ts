import { strict as assert } from 'node:assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadSettings, parseDuration } from '../../src/config.js';
import { isRegistryError } from '../../src/errors/index.js';

describe('config', () => {
  it('applies the embedded defaults', () => {
    const settings = loadSettings({}, '/srv/app');
    assert.deepEqual(settings.listen, { host: '127.0.0.1', port: 5000 });
    assert.deepEqual(settings.database, { client: 'sqlite', connection: '/srv/app/var/artifactstore.db' });
    assert.equal(settings.storage.localRoot, '/srv/app/var/storage');
    assert.equal(settings.logLevel, 'info');
    assert.equal(settings.retentionDurations['permanent-record'], null);
  });

  it('understands sqlite: URLs, PostgreSQL URLs and IPv6 listen addresses', () => {
    assert.deepEqual(loadSettings({ ARTIFACTSTORE_DATABASE_URL: 'sqlite:data/x.db' }, '/a').database, { client: 'sqlite', connection: '/a/data/x.db' });
    assert.deepEqual(loadSettings({ ARTIFACTSTORE_DATABASE_URL: 'sqlite:///tmp/x.db' }, '/a').database, { client: 'sqlite', connection: '/tmp/x.db' });
    assert.equal(loadSettings({ ARTIFACTSTORE_DATABASE_URL: 'postgres://u@h:5432/db' }).database.client, 'postgres');
    assert.deepEqual(loadSettings({ ARTIFACTSTORE_LISTEN: '[::1]:8080' }).listen, { host: '::1', port: 8080 });
  });

  it('reports every bad variable at once, by name', () => {
    assert.throws(
      () => loadSettings({ ARTIFACTSTORE_LISTEN: 'localhost', ARTIFACTSTORE_LOG_LEVEL: 'loud', ARTIFACTSTORE_DATABASE_URL: 'mysql://x' }),
      (error) => {
        assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
        assert.match(error.message, /ARTIFACTSTORE_LISTEN/);
        assert.match(error.message, /ARTIFACTSTORE_LOG_LEVEL/);
        assert.match(error.message, /ARTIFACTSTORE_DATABASE_URL/);
        return true;
      },
    );
  });

  it('parses durations', () => {
    assert.equal(parseDuration('30s'), 30);
    assert.equal(parseDuration('12h'), 43_200);
    assert.equal(parseDuration('90d'), 7_776_000);
    assert.equal(parseDuration('never'), null);
    assert.equal(parseDuration('1.5d'), undefined);
    assert.equal(parseDuration('0s'), undefined);
    assert.equal(parseDuration('d'), undefined);
  });

  it('reads retention overrides from a YAML or JSON file and rejects bad entries', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-config-'));
    const yaml = path.join(dir, 'retention.yaml');
    await writeFile(yaml, 'classes:\n  transient: 30s\n  raw-evidence: 12h\n');
    const settings = loadSettings({ ARTIFACTSTORE_RETENTION_CONFIG_PATH: yaml });
    assert.equal(settings.retentionDurations.transient, 30);
    assert.equal(settings.retentionDurations['raw-evidence'], 43_200);
    assert.equal(settings.retentionDurations['summary-evidence'], 365 * 86_400);

    const json = path.join(dir, 'retention.json');
    await writeFile(json, JSON.stringify({ classes: { bogus: '1d', 'permanent-record': '1d', transient: 'soon' } }));
    assert.throws(() => loadSettings({ ARTIFACTSTORE_RETENTION_CONFIG_PATH: json }), (error) => {
      assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
      assert.match(error.message, /unknown class "bogus"/);
      assert.match(error.message, /permanent-record never expires/);
      assert.match(error.message, /"soon"/);
      return true;
    });
    assert.throws(() => loadSettings({ ARTIFACTSTORE_RETENTION_CONFIG_PATH: path.join(dir, 'missing.yaml') }), /cannot be read/);
  });
});
