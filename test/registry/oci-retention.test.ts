import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describeEachDatabase } from '../support/databases.js';
import { bytes, openTestRegistry, type TestRegistry } from '../support/registry.js';
import { ociClient, sha256 } from '../support/oci-client.js';
import { createHttpApp } from '../../src/http/app.js';
import { openRegistry } from '../../src/app.js';
import { createCliEnv, type CliEnv } from '../support/cli-env.js';
import { loadSettings } from '../../src/config.js';
import { isRegistryError } from '../../src/errors/index.js';
import { parseOciRetention, policyFor, type OciRetentionConfig, type OciRetentionPolicy } from '../../src/retention/index.js';
import { OCI_RETENTION_ACTOR, PACKAGES_REPOSITORY, type OciRetentionReport } from '../../src/registry/index.js';
import type { EventView } from '../../src/registry/index.js';

const HOUR = 3_600_000;
const later = (ms: number): Date => new Date(Date.now() + ms);

/** A config of one policy over `team/*` (untagged and referrers off unless given). */
function config(policy: Partial<OciRetentionPolicy>, delaySeconds = 86_400): OciRetentionConfig {
  return {
    delaySeconds,
    policies: [{ name: 'team', repositories: ['team/*'], deleteReferrers: false, deleteUntagged: false, keepTags: null, ...policy }],
  };
}

function rule(fields: Record<string, unknown>) {
  return { patterns: null, pulledWithinSeconds: null, pushedWithinSeconds: null, mostRecentlyPushedCount: null, mostRecentlyPulledCount: null, ...fields };
}

describe('OCI retention configuration', () => {
  it('reads the oci: section with zot defaults and reports every problem with its path', () => {
    const problems: string[] = [];
    const parsed = parseOciRetention({ policies: [{ repositories: ['team/*'], keepTags: [{ patterns: ['v.*'], pulledWithin: '30d' }] }] }, 'f', problems);
    assert.deepEqual(problems, []);
    assert.equal(parsed.delaySeconds, 86_400);
    assert.equal(parsed.policies[0]!.deleteUntagged, true);
    assert.equal(parsed.policies[0]!.deleteReferrers, false);
    assert.equal(parsed.policies[0]!.name, 'policy[0]');
    assert.equal(parsed.policies[0]!.keepTags![0]!.pulledWithinSeconds, 30 * 86_400);

    const bad: string[] = [];
    parseOciRetention({
      delay: 'soon',
      policies: [
        { repositories: ['packages'] },
        { repositories: [] },
        { repositories: ['a/*'], keepTags: [{ patterns: ['('], pushedWithin: 'a while', mostRecentlyPushedCount: -1, keepForever: true }], deleteUntagged: 'yes' },
      ],
      extra: 1,
    }, 'f', bad);
    const text = bad.join('\n');
    for (const expected of ['oci.delay must be a duration', 'policies[0].repositories names "packages"', 'policies[1].repositories must be a non-empty list',
      'keepTags[0].patterns: "(" is not a valid regular expression', 'keepTags[0].pushedWithin must be a duration', 'mostRecentlyPushedCount must be a non-negative integer',
      'unknown key "keepForever"', 'deleteUntagged must be true or false', 'unknown key "extra"']) {
      assert.ok(text.includes(expected), `reports ${expected}: ${text}`);
    }
  });

  it('loads policies from ARTIFACTSTORE_RETENTION_CONFIG_PATH beside classes, and refuses a bad file at start', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-oci-retention-'));
    try {
      const good = path.join(dir, 'retention.yaml');
      await writeFile(good, 'classes:\n  transient: 2d\noci:\n  delay: 1h\n  policies:\n    - name: ci\n      repositories: ["ci/**"]\n      keepTags:\n        - mostRecentlyPushedCount: 3\n');
      const settings = loadSettings({ ARTIFACTSTORE_RETENTION_CONFIG_PATH: good }, dir);
      assert.equal(settings.retentionDurations.transient, 2 * 86_400);
      assert.equal(settings.ociRetention?.delaySeconds, 3_600);
      assert.equal(settings.ociRetention?.policies[0]?.name, 'ci');
      const only = path.join(dir, 'oci-only.yaml');
      await writeFile(only, 'oci:\n  policies:\n    - repositories: ["**"]\n');
      assert.equal(loadSettings({ ARTIFACTSTORE_RETENTION_CONFIG_PATH: only }, dir).ociRetention?.policies.length, 1);
      const bad = path.join(dir, 'bad.yaml');
      await writeFile(bad, 'oci:\n  policies:\n    - repositories: ["packages"]\n');
      assert.throws(() => loadSettings({ ARTIFACTSTORE_RETENTION_CONFIG_PATH: bad }, dir), (error) => isRegistryError(error, 'CONFIG_INVALID') && /packages/.test(error.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('matches repositories with globs, first policy wins, and never governs packages', () => {
    const problems: string[] = [];
    const parsed = parseOciRetention({ policies: [{ name: 'one', repositories: ['team/*'] }, { name: 'all', repositories: ['**'] }] }, 'f', problems);
    assert.equal(policyFor(parsed, 'team/app')?.name, 'one');
    assert.equal(policyFor(parsed, 'team/app/sub')?.name, 'all');
    assert.equal(policyFor(parsed, 'teamx')?.name, 'all');
    assert.equal(policyFor(parsed, PACKAGES_REPOSITORY), null);
  });
});

describeEachDatabase('OCI retention policies', (target) => {
  let instance: TestRegistry;
  let client: ReturnType<typeof ociClient>;

  beforeEach(async () => {
    instance = await openTestRegistry(target);
    client = ociClient(createHttpApp(instance.registry, pino({ level: 'silent' })));
  });
  afterEach(async () => {
    await instance.dispose();
  });

  async function tags(repository: string): Promise<string[]> {
    return (await instance.db.knex('oci_tags').where({ repository }).orderBy('tag').pluck('tag')) as string[];
  }
  async function manifests(repository: string): Promise<string[]> {
    return (await instance.db.knex('oci_manifests').where({ repository }).orderBy('digest').pluck('digest')) as string[];
  }
  async function retentionEvents(since: number): Promise<EventView[]> {
    return (await instance.registry.fetchEvents(since, 1000)).filter((event) => (event.payload as { retention?: unknown }).retention !== undefined);
  }
  async function head(): Promise<number> {
    return instance.log.lastSequence();
  }
  /** Tag and manifest removals (blob unlinks are checked on their own). */
  function removals(report: OciRetentionReport): string[] {
    return report.actions.filter((action) => action.kind !== 'blob').map((action) => `${action.repository}${action.kind === 'tag' ? `:${action.tag}` : `@${action.digest}`} ${action.rule}`);
  }
  function unlinks(report: OciRetentionReport): string[] {
    return report.actions.filter((action) => action.kind === 'blob').map((action) => action.digest);
  }
  async function links(repository: string): Promise<string[]> {
    return (await instance.db.knex('oci_blob_links').where({ repository }).orderBy('digest').pluck('digest')) as string[];
  }
  const configOf = (tag: string): string => sha256(`{"architecture":"amd64","os":"linux","tag":"${tag}"}`);

  it('keeps the N most recently pushed tags, removes the rest as events with the policy and reason, and replay stays exact', async () => {
    for (const tag of ['v1', 'v2', 'v3', 'v4']) await client.pushImage('team/app', tag, [`layer-${tag}`]);
    await client.pushImage('other/app', 'old', ['layer-x']);
    const before = await head();
    const report = await instance.registry.applyOciRetention({ config: config({ keepTags: [rule({ mostRecentlyPushedCount: 2 })] }) });
    assert.deepEqual(removals(report), ['team/app:v1 tag-not-kept', 'team/app:v2 tag-not-kept']);
    assert.equal(report.removed, 2);
    assert.equal(report.repositories, 1, 'other/app matches no policy');
    assert.deepEqual(await tags('team/app'), ['v3', 'v4']);
    assert.deepEqual(await tags('other/app'), ['old'], 'a repository no policy matches is untouched');
    const events = await retentionEvents(before);
    assert.deepEqual(events.map((event) => [event.event_type, event.subject_id, event.actor]), [
      ['v1.oci.tag.deleted', 'team/app:v1', OCI_RETENTION_ACTOR],
      ['v1.oci.tag.deleted', 'team/app:v2', OCI_RETENTION_ACTOR],
    ]);
    const why = (events[0]!.payload as { retention: { policy: string; rule: string; reason: string } }).retention;
    assert.equal(why.policy, 'team');
    assert.equal(why.rule, 'tag-not-kept');
    assert.match(why.reason, /kept by no keepTags rule/);
    await client.agent.get('/v2/team/app/manifests/v1').expect(404);

    const verified = await instance.registry.verify();
    assert.equal(verified.ok, true, JSON.stringify(verified));
    const snapshot = await instance.db.knex('oci_tags').select('*').orderBy(['repository', 'tag']);
    await instance.registry.replay();
    assert.deepEqual(await instance.db.knex('oci_tags').select('*').orderBy(['repository', 'tag']), snapshot);
  });

  it('ORs the keepTags rules: a tag survives when any rule keeps it; patterns match whole tags', async () => {
    for (const tag of ['v1.0', 'v1.1', 'dev-1', 'dev-2', 'prod', 'preprod']) await client.pushImage('team/app', tag, [`layer-${tag}`]);
    const policy = config({ keepTags: [rule({ patterns: ['v.*'] }), rule({ patterns: ['dev-.*'], mostRecentlyPushedCount: 1 }), rule({ patterns: ['prod'] })] });
    const dry = await instance.registry.applyOciRetention({ config: policy, dryRun: true });
    assert.deepEqual(removals(dry), ['team/app:dev-1 tag-not-kept', 'team/app:preprod tag-not-kept']);
    await instance.registry.applyOciRetention({ config: policy });
    assert.deepEqual(await tags('team/app'), ['dev-2', 'prod', 'v1.0', 'v1.1']);
  });

  it('keeps tags pushed within a period', async () => {
    await client.pushImage('team/app', 'a', ['layer-a']);
    await client.pushImage('team/app', 'b', ['layer-b']);
    const keep = config({ keepTags: [rule({ pushedWithinSeconds: 3_600 })] });
    assert.deepEqual((await instance.registry.applyOciRetention({ config: keep, now: later(30 * 60_000), dryRun: true })).actions, []);
    const report = await instance.registry.applyOciRetention({ config: keep, now: later(2 * HOUR) });
    assert.equal(report.removed, 2);
    assert.deepEqual(await tags('team/app'), []);
  });

  it('keeps a tag pulled over HTTP within the period and removes the unpulled one', async () => {
    const pulled = await client.pushImage('team/app', 'pulled', ['layer-p']);
    await client.pushImage('team/app', 'idle', ['layer-i']);
    const response = await client.agent.get('/v2/team/app/manifests/pulled').set('Accept', 'application/vnd.oci.image.manifest.v1+json').expect(200);
    assert.equal(response.headers['docker-content-digest'], pulled.digest);
    const recorded = await instance.db.knex('oci_manifest_pulls').where({ repository: 'team/app' }).select('digest', 'last_pulled_at');
    assert.deepEqual(recorded.map((row) => row.digest), [pulled.digest], 'the GET recorded the pull, outside the log');
    const keep = config({ keepTags: [rule({ pulledWithinSeconds: 3_600 })] });
    const report = await instance.registry.applyOciRetention({ config: keep, now: later(60_000) });
    assert.deepEqual(removals(report), ['team/app:idle tag-not-kept']);
    assert.deepEqual(await tags('team/app'), ['pulled']);
    const stale = await instance.registry.applyOciRetention({ config: keep, now: later(3 * HOUR), dryRun: true });
    assert.deepEqual(removals(stale), ['team/app:pulled tag-not-kept'], 'a pull older than the period keeps nothing');
  });

  it('keeps the N most recently pulled tags', async () => {
    for (const tag of ['a', 'b', 'c']) await client.pushImage('team/app', tag, [`layer-${tag}`]);
    await client.agent.get('/v2/team/app/manifests/a').expect(200);
    await client.agent.get('/v2/team/app/manifests/c').expect(200);
    const report = await instance.registry.applyOciRetention({ config: config({ keepTags: [rule({ mostRecentlyPulledCount: 5 })] }) });
    assert.deepEqual(removals(report), ['team/app:b tag-not-kept'], 'a never-pulled tag is not recently pulled');
  });

  it('removes untagged manifests after the delay only, children of a kept index stay, an index goes before its children', async () => {
    const child = await client.pushImage('team/app', 'child', ['layer-c']);
    const loose = await client.pushImage('team/app', 'loose', ['layer-l']);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: child.digest, size: child.body.length }],
    });
    await client.putManifest('team/app', 'multi', index, 'application/vnd.oci.image.index.v1+json').expect(201);
    await client.agent.delete('/v2/team/app/manifests/child').expect(202);
    await client.agent.delete('/v2/team/app/manifests/loose').expect(202);
    const untagged = config({ deleteUntagged: true });
    const early = await instance.registry.applyOciRetention({ config: untagged });
    assert.deepEqual(early.actions, [], 'nothing is older than the delay yet');
    const report = await instance.registry.applyOciRetention({ config: untagged, now: later(25 * HOUR) });
    assert.deepEqual(removals(report), [`team/app@${loose.digest} untagged`], 'the child of the tagged index stays');
    assert.deepEqual(unlinks(report), [configOf('loose'), sha256('layer-l')].sort(), 'the removed manifest\'s config and layer are unlinked');
    assert.deepEqual(await manifests('team/app'), [child.digest, sha256(index)].sort());
    assert.deepEqual(await links('team/app'), [configOf('child'), sha256('layer-c')].sort());

    await client.agent.delete('/v2/team/app/manifests/multi').expect(202);
    const second = await instance.registry.applyOciRetention({ config: untagged, now: later(25 * HOUR) });
    assert.deepEqual(removals(second), [`team/app@${sha256(index)} untagged`, `team/app@${child.digest} untagged`]);
    assert.deepEqual(await manifests('team/app'), []);
    assert.deepEqual(await links('team/app'), []);
    const events = await retentionEvents(0);
    assert.deepEqual(events.map((event) => event.event_type), [
      'v1.oci.manifest.deleted', 'v1.oci.blob.unlinked', 'v1.oci.blob.unlinked',
      'v1.oci.manifest.deleted', 'v1.oci.manifest.deleted', 'v1.oci.blob.unlinked', 'v1.oci.blob.unlinked',
    ]);
    assert.equal((await instance.registry.verify()).ok, true);
  });

  it('removes referrers whose subject is gone only with deleteReferrers', async () => {
    const subject = await client.pushImage('team/app', 'v1', ['layer-s']);
    const referrer = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: await client.pushBlob('team/app', '{}'), size: 2 },
      layers: [],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.body.length },
    });
    await client.putManifest('team/app', sha256(referrer), referrer).expect(201);
    const eventually = later(25 * HOUR);
    assert.deepEqual((await instance.registry.applyOciRetention({ config: config({ deleteReferrers: true, deleteUntagged: true }), now: eventually, dryRun: true })).actions, [],
      'a referrer of a present subject is kept, untagged or not');
    await client.agent.delete(`/v2/team/app/manifests/${subject.digest}`).expect(202);
    assert.deepEqual((await instance.registry.applyOciRetention({ config: config({ deleteUntagged: true }), now: eventually })).actions, [], 'deleteReferrers is off');
    const report = await instance.registry.applyOciRetention({ config: config({ deleteReferrers: true }), now: eventually });
    assert.deepEqual(removals(report), [`team/app@${sha256(referrer)} referrer-orphaned`]);
    assert.match(report.actions[0]!.reason, /not in the repository/);
    await client.agent.get(`/v2/team/app/manifests/${sha256(referrer)}`).expect(404);
  });

  it('removes a tag, then its manifest and the manifest\'s referrers in one run', async () => {
    const image = await client.pushImage('team/app', 'old', ['layer-o']);
    await client.pushImage('team/app', 'new', ['layer-n']);
    const referrer = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: await client.pushBlob('team/app', '{}'), size: 2 },
      layers: [],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.digest, size: image.body.length },
    });
    await client.putManifest('team/app', sha256(referrer), referrer).expect(201);
    const report = await instance.registry.applyOciRetention({
      config: config({ deleteUntagged: true, deleteReferrers: true, keepTags: [rule({ patterns: ['new'] })] }), now: later(25 * HOUR),
    });
    assert.deepEqual(removals(report), ['team/app:old tag-not-kept', `team/app@${sha256(referrer)} referrer-orphaned`, `team/app@${image.digest} untagged`]);
    assert.match(report.actions[1]!.reason, /which this run removes/);
    assert.deepEqual(unlinks(report), [sha256('{}'), configOf('old'), sha256('layer-o')].sort());
    assert.equal(report.removed, 6);
    assert.deepEqual(await tags('team/app'), ['new']);
    assert.deepEqual(await links('team/app'), [configOf('new'), sha256('layer-n')].sort(), 'what the kept image lists stays linked');
    assert.equal((await instance.registry.verify()).ok, true);
  });

  it('a dry run lists what would go and changes nothing: the event head stays', async () => {
    for (const tag of ['a', 'b']) await client.pushImage('team/app', tag, [`layer-${tag}`]);
    const before = await head();
    const report = await instance.registry.applyOciRetention({ config: config({ keepTags: [rule({ patterns: ['a'] })] }), dryRun: true });
    assert.equal(report.dryRun, true);
    assert.deepEqual(removals(report), ['team/app:b tag-not-kept']);
    assert.equal(report.removed, 0);
    assert.equal(await head(), before);
    assert.deepEqual(await tags('team/app'), ['a', 'b']);
  });

  it('never touches the packages repository, whatever the patterns', async () => {
    const pkg = await instance.registry.createPackage({ name: 'p', producer: 'ci', retentionClass: 'transient' }, 'local:tester');
    await instance.registry.ingestFile(pkg.id, { relativePath: 'a.txt', mediaType: 'text/plain' }, bytes('package bytes'), 'local:tester');
    await instance.registry.finalizePackage(pkg.id, 'local:tester');
    await client.pushImage('team/app', 'x', ['layer-x']);
    const everything: OciRetentionConfig = {
      delaySeconds: 0,
      policies: [{ name: 'all', repositories: ['**'], deleteReferrers: true, deleteUntagged: true, keepTags: [rule({ patterns: ['nothing'] })] }],
    };
    const report = await instance.registry.applyOciRetention({ config: everything, now: later(HOUR) });
    assert.ok(report.actions.every((action) => action.repository !== PACKAGES_REPOSITORY));
    assert.deepEqual(await tags(PACKAGES_REPOSITORY), [pkg.id]);
    assert.deepEqual(await tags('team/app'), []);
    assert.deepEqual(await manifests('team/app'), []);
  });

  it('skips a decision the repository outgrew: a tag moved since is not removed', async () => {
    await client.pushImage('team/app', 'a', ['layer-a']);
    const moved = await client.pushImage('team/app', 'b', ['layer-b']);
    const { deleteManifest } = await import('../../src/registry/index.js');
    const done = await deleteManifest(instance.registry.context, 'team/app', 'a', OCI_RETENTION_ACTOR, { policy: 'p', rule: 'tag-not-kept', reason: 'r', expectedDigest: moved.digest });
    assert.equal(done, false);
    assert.deepEqual(await tags('team/app'), ['a', 'b']);
    const untaggedGuard = await deleteManifest(instance.registry.context, 'team/app', moved.digest, OCI_RETENTION_ACTOR, { policy: 'p', rule: 'untagged', reason: 'r', onlyIfUntagged: true });
    assert.equal(untaggedGuard, false, 'a tagged manifest is not removed as untagged');
    assert.equal((await manifests('team/app')).length, 2);
  });
});

describeEachDatabase('OCI retention and storage usage from the CLI', (target) => {
  let env: CliEnv;
  beforeEach(async () => {
    env = await createCliEnv(target);
    const file = path.join(env.workDir, 'retention.yaml');
    await writeFile(file, 'oci:\n  delay: 1h\n  policies:\n    - name: ci\n      repositories: ["team/*"]\n      keepTags:\n        - mostRecentlyPushedCount: 1\n');
    env.env.ARTIFACTSTORE_RETENTION_CONFIG_PATH = file;
  });
  afterEach(async () => {
    await env.dispose();
  });

  it('retention oci --dry-run lists and appends nothing; retention oci removes; storage usage reports the backend', async () => {
    const instance = await openRegistry(loadSettings(env.env, env.workDir));
    try {
      const client = ociClient(createHttpApp(instance.registry, pino({ level: 'silent' })));
      await client.pushImage('team/app', 'old', ['layer-old']);
      await client.pushImage('team/app', 'new', ['layer-new']);
    } finally {
      await instance.close();
    }
    const eventCount = async (): Promise<number> => (await env.cli(['events'])).stdout.trim().split('\n').length;
    const before = await eventCount();
    const dry = await env.cli(['retention', 'oci', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^team\/app :old tag-not-kept \(ci\): /m);
    assert.match(dry.stdout, /1 repository governed, would remove 1/);
    assert.equal(await eventCount(), before, 'a dry run appends nothing');

    const applied = await env.cli(['retention', 'oci', '--json']);
    assert.equal(applied.code, 0, applied.stderr);
    const report = JSON.parse(applied.stdout) as OciRetentionReport;
    assert.equal(report.removed, 1);
    assert.equal(report.actions[0]!.tag, 'old');
    const events = (await env.cli(['events', '--since', String(before)])).stdout.trim().split('\n').map((line) => JSON.parse(line) as EventView);
    assert.deepEqual(events.map((event) => [event.event_type, event.subject_id]), [['v1.oci.tag.deleted', 'team/app:old']]);
    assert.match(events[0]!.actor, /^local:/);

    const usage = await env.cli(['storage', 'usage', '--json']);
    assert.equal(usage.code, 0, usage.stderr);
    const totals = (JSON.parse(usage.stdout) as { totals: { backend: { objects: number; bytes: number }; referenced: { bytes: number }; unreferenced: { bytes: number } } }).totals;
    assert.equal(totals.referenced.bytes + totals.unreferenced.bytes, totals.backend.bytes);
    assert.equal(totals.backend.objects, 6, 'two configs, two layers, two manifests');
    const text = await env.cli(['storage', 'usage']);
    assert.match(text.stdout, /team\/app: 2 manifest\(s\), 1 tag\(s\), 4 blob\(s\)/);
  });
});
