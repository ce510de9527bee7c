/**
 * Native upload sessions move their expiry lazily: a stream of chunks
 * writes the session row at most once a minute, yet a session whose expiry
 * has gone stale is moved to now + TTL by its next chunk, and a chunk at the
 * wrong offset is still refused by the backend with the staged size.
 */
import { strict as assert } from 'node:assert';
import { isRegistryError } from '../../src/errors/index.js';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';

const TTL_SECONDS = 86_400;

describeEachDatabase('registry: native upload session expiry', (target) => {
  let instance: TestRegistry;
  before(async () => {
    instance = await openTestRegistry(target, { oci: { manifestMaxBytes: 4 * 1024 * 1024, uploadTtlSeconds: TTL_SECONDS } });
  });
  after(async () => {
    await instance?.dispose();
  });

  const row = async (id: string): Promise<{ expires_at: string; updated_at: string }> =>
    (await instance.db.knex('upload_sessions').where({ id }).first('expires_at', 'updated_at')) as { expires_at: string; updated_at: string };

  it('leaves a fresh expiry alone, moves a stale one to now + TTL, and still refuses a wrong offset with the staged size', async () => {
    const { registry } = instance;
    const pkg = await registry.createPackage({ name: 'expiry', producer: 'test', retentionClass: 'transient' }, 'tester');
    const session = await registry.startFileUpload(pkg.id, { relativePath: 'a.bin', mediaType: 'application/octet-stream', size: 9 }, 'tester');
    const opened = await row(session.id);

    const first = await registry.appendFileUpload(session.id, bytes('abc'), { start: 0, end: 2, total: 9 });
    assert.equal(first.offset, 3);
    assert.deepEqual(await row(session.id), opened, 'a chunk right after the start does not rewrite the session');
    assert.equal(first.expiresAt, opened.expires_at, 'and reports the expiry in force');

    // As if the last move were two minutes ago.
    const stale = new Date(Date.now() + TTL_SECONDS * 1000 - 120_000).toISOString();
    await instance.db.knex('upload_sessions').where({ id: session.id }).update({ expires_at: stale });
    const before = Date.now();
    const second = await registry.appendFileUpload(session.id, bytes('def'), { start: 3, end: 5, total: 9 });
    const moved = await row(session.id);
    assert.equal(second.offset, 6);
    assert.ok(moved.expires_at > stale, `a stale expiry moved (${stale} → ${moved.expires_at})`);
    assert.ok(Date.parse(moved.expires_at) >= before + TTL_SECONDS * 1000, 'to now + TTL');
    assert.equal(second.expiresAt, moved.expires_at);

    await assert.rejects(
      registry.appendFileUpload(session.id, bytes('xyz'), { start: 3, end: 5, total: 9 }),
      (error) => isRegistryError(error, 'UPLOAD_OFFSET_MISMATCH') && error.extra?.['size'] === 6,
      'an overlapping chunk is refused with the staged size',
    );
    await assert.rejects(
      registry.appendFileUpload(session.id, bytes('xyz'), { start: 10 }),
      (error) => isRegistryError(error, 'UPLOAD_OFFSET_MISMATCH') && error.extra?.['size'] === 6,
      'a chunk past the declared size reports where the upload is',
    );
    const last = await registry.appendFileUpload(session.id, bytes('ghi'), { start: 6, end: 8, total: 9 });
    assert.equal(last.offset, 9);
    const file = await registry.completeFileUpload(session.id, 'tester');
    assert.equal(file.size, 9);
  });
});
