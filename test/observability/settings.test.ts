import { strict as assert } from 'node:assert';
import { loadSettings } from '../../src/config.js';
import { isRegistryError } from '../../src/errors/index.js';

describe('ARTIFACTSTORE_METRICS_LISTEN', () => {
  it('is unset by default', () => {
    assert.equal(loadSettings({}).metricsListen, undefined);
    assert.equal(loadSettings({ ARTIFACTSTORE_METRICS_LISTEN: '  ' }).metricsListen, undefined);
  });

  it('takes host:port, IPv6 in brackets', () => {
    assert.deepEqual(loadSettings({ ARTIFACTSTORE_METRICS_LISTEN: '0.0.0.0:9464' }).metricsListen, { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(loadSettings({ ARTIFACTSTORE_METRICS_LISTEN: '[::1]:9464' }).metricsListen, { host: '::1', port: 9464 });
  });

  it('is refused by its own name when malformed', () => {
    assert.throws(
      () => loadSettings({ ARTIFACTSTORE_METRICS_LISTEN: '9464' }),
      (error: unknown) => isRegistryError(error, 'CONFIG_INVALID') && /ARTIFACTSTORE_METRICS_LISTEN must be host:port/.test(error.message) && !/ARTIFACTSTORE_LISTEN must/.test(error.message),
    );
  });
});
