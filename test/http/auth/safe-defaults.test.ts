import { strict as assert } from 'node:assert';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { writeAuthFile } from '../../../src/auth/index.js';
import type { AuthConfig } from '../../../src/config.js';
import { loadSettings } from '../../../src/config.js';
import { isRegistryError } from '../../../src/errors/index.js';
import { isLoopbackHost, openHttpAuth } from '../../../src/http/auth/index.js';
import { startServer, type RunningServer } from '../../../src/http/server.js';
import { describeEachDatabase } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';
import { basic, cheapPasswordHash } from './support.js';

// The safe defaults of openHttpAuth (what `artifactstore serve` runs): with no
// principals a server runs open only on loopback (or with
// ARTIFACTSTORE_ALLOW_OPEN=true), and an edit of the principals file can turn
// authentication on — never off — for a server that may not run open.

const logger = pino({ level: 'silent' });

describe('auth settings and safe defaults', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-auth-defaults-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the ARTIFACTSTORE_AUTH_* settings with their documented defaults', () => {
    const defaults = loadSettings({}, dir).auth!;
    assert.deepEqual(defaults, {
      file: undefined,
      anonRead: false,
      keyFile: path.join(dir, 'var/auth/token-signing-key.jwk.json'),
      service: 'artifactstore',
      realm: undefined,
      allowOpen: false,
    });
    const set = loadSettings(
      {
        ARTIFACTSTORE_AUTH_FILE: 'principals.yaml',
        ARTIFACTSTORE_ANON_READ: 'true',
        ARTIFACTSTORE_AUTH_KEY_FILE: '/etc/artifactstore/key.jwk.json',
        ARTIFACTSTORE_AUTH_SERVICE: 'registry.example.com',
        ARTIFACTSTORE_AUTH_REALM: 'https://registry.example.com/token',
        ARTIFACTSTORE_ALLOW_OPEN: 'yes',
      },
      dir,
    ).auth!;
    assert.deepEqual(set, {
      file: path.join(dir, 'principals.yaml'),
      anonRead: true,
      keyFile: '/etc/artifactstore/key.jwk.json',
      service: 'registry.example.com',
      realm: 'https://registry.example.com/token',
      allowOpen: true,
    });
    assert.throws(() => loadSettings({ ARTIFACTSTORE_ANON_READ: 'maybe', ARTIFACTSTORE_AUTH_REALM: 'registry.example.com/token' }, dir), (error) => {
      assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
      assert.match(error.detail, /ARTIFACTSTORE_ANON_READ must be true or false/);
      assert.match(error.detail, /ARTIFACTSTORE_AUTH_REALM must be an http\(s\) URL/);
      return true;
    });
  });

  it('knows which listen hosts are loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.10', 'registry.example.com']) assert.equal(isLoopbackHost(host), false, host);
  });

  it('refuses to start open on a non-loopback address unless ARTIFACTSTORE_ALLOW_OPEN=true', async () => {
    const config = (overrides: Partial<AuthConfig> = {}): AuthConfig => ({
      file: path.join(dir, 'none.yaml'),
      anonRead: false,
      keyFile: path.join(dir, 'key.jwk.json'),
      service: 'artifactstore',
      realm: undefined,
      allowOpen: false,
      ...overrides,
    });
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      await assert.rejects(openHttpAuth(config(), host, logger), (error) => {
        assert.ok(isRegistryError(error, 'CONFIG_INVALID'));
        assert.match(error.detail, /ARTIFACTSTORE_ALLOW_OPEN=true/);
        return true;
      }, host);
      await assert.rejects(openHttpAuth(config({ file: undefined }), host, logger), /ARTIFACTSTORE_ALLOW_OPEN/);
      const allowed = await openHttpAuth(config({ allowOpen: true }), host, logger);
      allowed.close();
    }
    const loopback = await openHttpAuth(config(), '127.0.0.1', logger);
    assert.equal(loopback.auth.settings.store.enabled, false);
    loopback.close();
  });
});

describeEachDatabase('safe defaults at run time', (target) => {
  let instance: TestRegistry;
  let dir: string;
  const servers: RunningServer[] = [];
  const closers: Array<() => void> = [];

  const serve = async (file: string, host: string, allowOpen = false) => {
    const opened = await openHttpAuth({ file, anonRead: false, keyFile: path.join(dir, 'key.jwk.json'), service: 'artifactstore', realm: undefined, allowOpen }, host, logger);
    closers.push(opened.close);
    // Served on loopback whatever `host` was: openHttpAuth only decides from it.
    const server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, logger, undefined, { auth: opened.auth });
    servers.push(server);
    const base = `http://127.0.0.1:${server.address.port}`;
    return { opened, base, call: (pathname: string, init: RequestInit = {}) => fetch(`${base}${pathname}`, init) };
  };
  const createPackage = (name: string, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ name, producer: 'defaults', retention_class: 'transient' }),
  });

  before(async () => {
    instance = await openTestRegistry(target);
    dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-auth-runtime-'));
  });
  after(async () => {
    for (const server of servers) await server.close();
    for (const close of closers) close();
    await instance?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a loopback server with no principals runs open, and turns authentication on when principals appear', async () => {
    const file = path.join(dir, 'loopback.yaml');
    const { opened, call } = await serve(file, '127.0.0.1');
    const open = await call('/packages', createPackage('open/pkg'));
    assert.equal(open.status, 201);
    assert.equal(((await open.json()) as { created_by: string }).created_by, 'anonymous');
    assert.equal((await call('/v2/')).status, 200);

    await writeAuthFile(file, { principals: { alice: { password: await cheapPasswordHash('alice-password'), grants: ['pull,push:open/*'] } } });
    await opened.auth.settings.store.reload();
    assert.equal((await call('/v2/')).status, 401);
    assert.equal((await call('/packages', createPackage('open/pkg2'))).status, 401);
    const alice = await call('/packages', createPackage('open/pkg3', { authorization: basic('alice', 'alice-password') }));
    assert.equal(alice.status, 201);
    assert.equal(((await alice.json()) as { created_by: string }).created_by, 'alice');
  });

  it('a server that may not run open stays closed when every principal is revoked or the file disappears', async () => {
    const file = path.join(dir, 'public.yaml');
    await writeAuthFile(file, { principals: { bob: { password: await cheapPasswordHash('bob-password'), grants: ['admin:*'] } } });
    const { opened, call } = await serve(file, '0.0.0.0');
    const bob = { authorization: basic('bob', 'bob-password') };
    assert.equal((await call('/v2/', { headers: bob })).status, 200);
    assert.equal((await call('/v2/')).status, 401);

    await writeAuthFile(file, { principals: {} });
    await opened.auth.settings.store.reload();
    assert.equal(opened.auth.settings.store.enabled, false);
    assert.equal((await call('/v2/')).status, 401, 'revoking the last principal must not open a non-loopback server');
    assert.equal((await call('/packages', createPackage('public/pkg'))).status, 401);
    assert.equal((await call('/v2/', { headers: bob })).status, 401);

    await unlink(file);
    await opened.auth.settings.store.reload();
    assert.equal((await call('/v2/public/app/blobs/uploads/', { method: 'POST' })).status, 401, 'nor may deleting the file');
  });

  it('ARTIFACTSTORE_ALLOW_OPEN=true keeps a non-loopback server open with no principals', async () => {
    const { call } = await serve(path.join(dir, 'allowed.yaml'), '0.0.0.0', true);
    assert.equal((await call('/packages', createPackage('allowed/pkg'))).status, 201);
  });
});
