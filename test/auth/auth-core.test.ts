import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AuthStore,
  TokenService,
  grantsAllow,
  hashPassword,
  hashToken,
  isAdmin,
  likePatterns,
  newToken,
  parseGrant,
  parseScopes,
  patternMatches,
  readAuthFile,
  verifyPassword,
  verifyToken,
  writeAuthFile,
} from '../../src/auth/index.js';
import { isRegistryError } from '../../src/errors/index.js';

describe('auth core', () => {
  it('parses grants and matches patterns, admin implying every action', () => {
    const grant = parseGrant('pull,push:team-a/*');
    assert.deepEqual([...grant.actions].sort(), ['pull', 'push']);
    assert.equal(patternMatches('team-a/*', 'team-a/app'), true);
    assert.equal(patternMatches('team-a/*', 'team-a/x/y'), true);
    assert.equal(patternMatches('team-a/*', 'team-b/app'), false);
    assert.equal(patternMatches('team-a/*', 'team-a'), false);
    assert.equal(patternMatches('*/app', 'x/y/app'), true);
    assert.equal(patternMatches('a*b*c', 'abc'), true);
    assert.equal(patternMatches('a*b*c', 'acb'), false);
    assert.equal(patternMatches('exact', 'exact'), true);
    assert.equal(grantsAllow([grant], 'push', 'team-a/app'), true);
    assert.equal(grantsAllow([grant], 'delete', 'team-a/app'), false);
    assert.equal(grantsAllow([parseGrant('admin:team-a/*')], 'delete', 'team-a/app'), true);
    assert.equal(isAdmin([parseGrant('admin:team-a/*')]), false);
    assert.equal(isAdmin([parseGrant('admin:*')]), true);
    assert.deepEqual(likePatterns([parseGrant('pull:my_team/*'), parseGrant('push:other/*')], 'pull'), ['my\\_team/%']);
    for (const bad of ['pull', ':x', 'pull:', 'fly:x', 'pull:a b']) {
      assert.throws(() => parseGrant(bad), (error) => isRegistryError(error, 'CONFIG_INVALID'), bad);
    }
  });

  it('hashes passwords with scrypt and tokens with SHA-256, verifying in constant time', async () => {
    const hash = await hashPassword('correct horse battery');
    assert.match(hash, /^scrypt\$\d+\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse battery', hash), true);
    assert.equal(await verifyPassword('wrong horse battery', hash), false);
    assert.equal(await verifyPassword('x', 'plain-text'), false);
    const token = newToken();
    assert.match(token, /^ast_[A-Za-z0-9_-]{43}$/);
    assert.equal(verifyToken(token, hashToken(token)), true);
    assert.equal(verifyToken(`${token}x`, hashToken(token)), false);
  });

  it('round-trips the principals file, refuses clear-text passwords, and reloads edits', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-auth-'));
    const file = path.join(dir, 'principals.yaml');
    const token = newToken();
    await writeAuthFile(file, { principals: { alice: { password: await hashPassword('alice-password'), tokens: [{ id: 't1', hash: hashToken(token), created_at: '2026-01-01T00:00:00.000Z' }], grants: ['pull,push:team-a/*'] } } });
    assert.equal(((await stat(file)).mode & 0o777).toString(8), '600');
    assert.doesNotMatch(await readFile(file, 'utf8'), /alice-password|ast_/);
    const store = await AuthStore.open(file);
    assert.equal(store.enabled, true);
    assert.equal((await store.authenticatePassword('alice', 'alice-password'))?.name, 'alice');
    assert.equal(await store.authenticatePassword('alice', 'nope'), undefined);
    assert.equal(store.authenticateToken(token)?.name, 'alice');
    assert.equal(store.authenticateToken(newToken()), undefined);

    await writeFile(file, 'principals:\n  bob:\n    password: hunter2\n    grants: []\n');
    await assert.rejects(readAuthFile(file), /never clear text/);
    await assert.rejects(store.reload(), /never clear text/);
    assert.equal(store.principal('alice')?.name, 'alice', 'a bad edit keeps the previous principals');

    await writeAuthFile(file, { principals: { bob: { grants: ['pull:*'] } } });
    await store.reload();
    assert.equal(store.principal('alice'), undefined);
    assert.equal(store.authenticateToken(token), undefined, 'revoked with the principal');
    assert.equal(store.principal('bob')?.grants.length, 1);
  });

  it('issues and verifies registry tokens with a key generated on first use', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-jwt-'));
    const keyFile = path.join(dir, 'key.json');
    const service = await TokenService.open(keyFile, 'registry.test');
    const issued = await service.issue('alice', [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
    assert.ok(issued.expiresIn >= 60);
    const verified = await service.verify(issued.token);
    assert.deepEqual(verified, { subject: 'alice', access: [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }] });
    const again = await TokenService.open(keyFile, 'registry.test');
    assert.ok(await again.verify(issued.token), 'the key persists across restarts');
    const other = await TokenService.open(path.join(dir, 'other.json'), 'registry.test');
    assert.equal(await other.verify(issued.token), undefined, 'another key does not verify it');
    const tampered = `${issued.token.slice(0, -2)}AA`;
    assert.equal(await service.verify(tampered), undefined);
    assert.deepEqual(parseScopes(['repository:a/b:pull,push', 'registry:catalog:*']), [
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });
});
