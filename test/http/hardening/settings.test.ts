import { strict as assert } from 'node:assert';
import { DEFAULT_HTTP_LIMITS, loadSettings, SETTING_DEFAULTS } from '../../../src/config.js';
import { isRegistryError } from '../../../src/errors/index.js';
import { EMBEDDED_HTTP_LIMITS } from '../../../src/http/hardening/index.js';

describe('http hardening: settings', () => {
  it('defaults to the documented limits', () => {
    assert.deepEqual(loadSettings({}, '/srv').http, DEFAULT_HTTP_LIMITS);
    assert.deepEqual(DEFAULT_HTTP_LIMITS, {
      headersTimeoutMs: 30_000,
      idleTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      maxHeaderBytes: 16_384,
      rateLimitPerSecond: 100,
      rateLimitBurst: 200,
      maxConcurrentUploads: 16,
    });
    assert.equal(SETTING_DEFAULTS.ARTIFACTSTORE_HTTP_RATE_LIMIT, '100');
  });

  it('reads every ARTIFACTSTORE_HTTP_* variable; 0 turns request limits off', () => {
    const { http } = loadSettings(
      {
        ARTIFACTSTORE_HTTP_HEADERS_TIMEOUT: '10s',
        ARTIFACTSTORE_HTTP_IDLE_TIMEOUT: '2m',
        ARTIFACTSTORE_HTTP_KEEPALIVE_TIMEOUT: '1s',
        ARTIFACTSTORE_HTTP_MAX_HEADER_BYTES: '32768',
        ARTIFACTSTORE_HTTP_RATE_LIMIT: '0',
        ARTIFACTSTORE_HTTP_RATE_LIMIT_BURST: '5',
        ARTIFACTSTORE_HTTP_MAX_CONCURRENT_UPLOADS: '0',
      },
      '/srv',
    );
    assert.deepEqual(http, {
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 1_000,
      maxHeaderBytes: 32_768,
      rateLimitPerSecond: 0,
      rateLimitBurst: 5,
      maxConcurrentUploads: 0,
    });
  });

  it('reports every bad limit at once, by name', () => {
    assert.throws(
      () =>
        loadSettings({
          ARTIFACTSTORE_HTTP_HEADERS_TIMEOUT: 'soon',
          ARTIFACTSTORE_HTTP_IDLE_TIMEOUT: '0s',
          ARTIFACTSTORE_HTTP_KEEPALIVE_TIMEOUT: 'never',
          ARTIFACTSTORE_HTTP_MAX_HEADER_BYTES: '100',
          ARTIFACTSTORE_HTTP_RATE_LIMIT: '-1',
          ARTIFACTSTORE_HTTP_RATE_LIMIT_BURST: '0',
          ARTIFACTSTORE_HTTP_MAX_CONCURRENT_UPLOADS: 'many',
        }),
      (error) => {
        assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
        const problems = error.extra?.problems as string[];
        assert.equal(problems.length, 7, problems.join('\n'));
        for (const name of ['HEADERS_TIMEOUT', 'IDLE_TIMEOUT', 'KEEPALIVE_TIMEOUT', 'MAX_HEADER_BYTES', 'RATE_LIMIT ', 'RATE_LIMIT_BURST', 'MAX_CONCURRENT_UPLOADS']) {
          assert.ok(problems.some((problem) => `${problem} `.includes(`ARTIFACTSTORE_HTTP_${name}`)), `${name}: ${problems.join('\n')}`);
        }
        return true;
      },
    );
  });

  it('embedded servers keep the connection limits but no per-caller limits', () => {
    assert.equal(EMBEDDED_HTTP_LIMITS.rateLimitPerSecond, 0);
    assert.equal(EMBEDDED_HTTP_LIMITS.maxConcurrentUploads, 0);
    assert.equal(EMBEDDED_HTTP_LIMITS.headersTimeoutMs, DEFAULT_HTTP_LIMITS.headersTimeoutMs);
    assert.equal(EMBEDDED_HTTP_LIMITS.idleTimeoutMs, DEFAULT_HTTP_LIMITS.idleTimeoutMs);
  });
});
