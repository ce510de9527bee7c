import { strict as assert } from 'node:assert';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { isRegistryError, type ErrorCode } from '../../src/errors/index.js';

const actor = 'local:tester';
const rejects = (promise: Promise<unknown>, code: ErrorCode) => assert.rejects(promise, (error) => isRegistryError(error, code));
const DAY = 86_400_000;

describeEachDatabase('retention lifecycle', (target) => {
  let instance: TestRegistry;
  beforeEach(async () => {
    instance = await openTestRegistry(target);
  });
  afterEach(async () => {
    await instance.dispose();
  });

  async function transientPackage(): Promise<string> {
    const pkg = await instance.registry.createPackage({ name: 'p', producer: 'ci', retentionClass: 'transient' }, actor);
    await instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('retained bytes'), actor);
    await instance.registry.finalizePackage(pkg.id, actor);
    return pkg.id;
  }

  it('extends only to a strictly later expiry, with a reason', async () => {
    const id = await transientPackage();
    const current = (await instance.registry.getRetention(id)).currentExpiresAt!;
    await rejects(instance.registry.extendRetention(id, current, 'same instant', actor), 'RETENTION_NOT_EXTENDABLE');
    await rejects(instance.registry.extendRetention(id, new Date(Date.parse(current) - 1000).toISOString(), 'earlier', actor), 'RETENTION_NOT_EXTENDABLE');
    await rejects(instance.registry.extendRetention(id, new Date(Date.parse(current) + DAY).toISOString(), '', actor), 'FIELD_INVALID');
    await rejects(instance.registry.extendRetention(id, 'tomorrow', 'bad date', actor), 'FIELD_INVALID');
    const later = new Date(Date.parse(current) + 30 * DAY).toISOString();
    const view = await instance.registry.extendRetention(id, later, 'audit requested it', actor);
    assert.equal(view.currentExpiresAt, later);
    assert.deepEqual(view.history.map((event) => event.event_type), ['v1.retention.default_applied', 'v1.retention.extended']);
    assert.equal((view.history[1]!.payload as { reason: string }).reason, 'audit requested it');
    const permanent = await instance.registry.createPackage({ name: 'p', producer: 'ci', retentionClass: 'permanent-record' }, actor);
    await rejects(instance.registry.extendRetention(permanent.id, later, 'pointless', actor), 'RETENTION_NOT_EXTENDABLE');
  });

  it('keeps held packages out of the sweep until every hold is released, then deletes them on request only', async () => {
    const id = await transientPackage();
    const future = new Date(Date.now() + 8 * DAY);
    const first = await instance.registry.applyHold(id, 'legal', actor);
    const second = await instance.registry.applyHold(id, 'incident 42', actor);
    assert.equal((await instance.registry.getRetention(id)).activeHolds, 2);
    assert.deepEqual(await instance.registry.sweepRetention(future), []);
    await instance.registry.releaseHold(id, first.id, 'legal cleared', actor);
    await rejects(instance.registry.releaseHold(id, first.id, 'twice', actor), 'HOLD_NOT_FOUND');
    assert.deepEqual(await instance.registry.sweepRetention(future), [], 'one hold remains');
    await rejects(instance.registry.deletePackage(id, 'too early', actor), 'PACKAGE_NOT_ELIGIBLE');
    await instance.registry.releaseHold(id, second.id, 'incident closed', actor);
    assert.deepEqual(await instance.registry.sweepRetention(new Date()), [], 'not expired yet');
    assert.deepEqual(await instance.registry.sweepRetention(future), [id]);
    assert.deepEqual(await instance.registry.sweepRetention(future), [], 'marked once');
    const retention = await instance.registry.getRetention(id);
    assert.equal(retention.eligibleForDeletion, true);
    assert.equal(retention.holds.length, 2);
    assert.ok(retention.holds.every((hold) => hold.releasedAt !== null));

    const files = await instance.registry.listFiles(id);
    await rejects(instance.registry.deletePackage(id, '', actor), 'FIELD_INVALID');
    await instance.registry.deletePackage(id, 'retention expired', 'admin');
    const deleted = await instance.registry.getPackage(id);
    assert.equal(deleted.status, 'deleted');
    assert.ok(deleted.deletedAt);
    assert.equal(deleted.fileCount, 0);
    await rejects(instance.registry.getFile(files[0]!.id), 'FILE_NOT_FOUND');
    await rejects(instance.registry.statManifest('packages', id), 'MANIFEST_UNKNOWN');
    await rejects(instance.registry.statBlob('packages', files[0]!.digestSha256), 'BLOB_UNKNOWN');
    await rejects(instance.registry.applyHold(id, 'too late', actor), 'PACKAGE_DELETED');
    const [event] = await instance.registry.fetchEvents(0, 100, { eventType: 'v1.package.deleted' });
    assert.equal(event!.actor, 'admin');
    assert.deepEqual((event!.payload as { file_ids: string[] }).file_ids, files.map((file) => file.id));

    const report = await instance.registry.verify();
    assert.equal(report.ok, true, JSON.stringify(report.viewDifferences));
    await instance.registry.replay();
    assert.equal((await instance.registry.verify()).ok, true);
  });

  it('never marks permanent records eligible', async () => {
    const pkg = await instance.registry.createPackage({ name: 'p', producer: 'ci', retentionClass: 'permanent-record' }, actor);
    assert.deepEqual(await instance.registry.sweepRetention(new Date(Date.now() + 1000 * 365 * DAY)), []);
    assert.equal((await instance.registry.getRetention(pkg.id)).eligibleForDeletion, false);
  });

  it('revokes eligibility when the expiry is extended', async () => {
    const id = await transientPackage();
    await instance.registry.sweepRetention(new Date(Date.now() + 8 * DAY));
    assert.equal((await instance.registry.getRetention(id)).eligibleForDeletion, true);
    await instance.registry.extendRetention(id, new Date(Date.now() + 100 * DAY).toISOString(), 'still needed', actor);
    assert.equal((await instance.registry.getRetention(id)).eligibleForDeletion, false);
    await rejects(instance.registry.deletePackage(id, 'nope', actor), 'PACKAGE_NOT_ELIGIBLE');
  });
});
