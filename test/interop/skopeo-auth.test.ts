import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { buildLayouts, type Layout, type LayoutName } from '../../conformance/fixtures/layouts.js';
import { FIXTURES_DIR } from '../../conformance/fixtures/make-fixtures.js';
import { serveWithAuth, type AuthServer } from '../http/auth/support.js';
import { ensureTools, isolatedToolEnv, runTool, TOOL_INSTALL_TIMEOUT_MS, type ToolError } from '../support/containers-tools.js';

// skopeo (containers/image) against a registry with authentication: the Docker
// token flow as a real client drives it. skopeo asks /v2/, gets
// `401 WWW-Authenticate: Bearer realm=…,service=…,scope=…`, fetches a JWT from
// /token with Basic credentials and retries with it.
//
// skopeo is a Debian package, installed when missing (test/support/containers-tools).
// When it cannot be had the suite fails: it is never skipped.

const layouts = buildLayouts();
const layout = (name: LayoutName): Layout => layouts.get(name)!;
const REFUSED = /\bunauthorized: |\bdenied: |invalid username\/password/i;

/** The blobs of an OCI layout on disk, by digest. */
async function layoutBlobs(dir: string): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  for (const algorithm of await readdir(path.join(dir, 'blobs'))) {
    for (const hex of await readdir(path.join(dir, 'blobs', algorithm))) blobs.set(`${algorithm}:${hex}`, await readFile(path.join(dir, 'blobs', algorithm, hex)));
  }
  return blobs;
}

function assertSameBlobs(actual: ReadonlyMap<string, Buffer>, expected: ReadonlyMap<string, Buffer>, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: the set of blobs`);
  for (const [digest, bytes] of expected) assert.ok(actual.get(digest)!.equals(bytes), `${what}: ${digest}`);
}

describeEachDatabase('skopeo interop with authentication', (target) => {
  let instance: TestRegistry;
  let auth: AuthServer;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let anonHost: string;
  let count = 0;
  const requests: Array<{ method: string; url: string; status: number; scheme: string }> = [];

  const skopeo = (args: readonly string[], input?: string) => runTool('skopeo', env, ['--insecure-policy', ...args], input);
  const creds = (name: string, secret?: string): string => `${name}:${secret ?? auth.credentials.get(name)!.password}`;
  const source = (name: LayoutName) => `oci:${path.join(FIXTURES_DIR, name)}:${layout(name).tag}`;
  const freshDir = async (label: string): Promise<string> => {
    count += 1;
    const dir = path.join(scratch, 'pulled', `${count}-${label}`);
    await mkdir(path.dirname(dir), { recursive: true });
    return dir;
  };
  const head = (pathname: string, who = 'admin') =>
    fetch(`${auth.base}${pathname}`, { method: 'HEAD', headers: { authorization: `Basic ${Buffer.from(creds(who)).toString('base64')}` } });
  const actorsSince = async (since: number) => [...new Set((await instance.registry.fetchEvents(since, 10_000)).map((event) => event.actor))];

  before(async function () {
    this.timeout(TOOL_INSTALL_TIMEOUT_MS + 60_000);
    await ensureTools(['skopeo']);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-skopeo-auth-'));
    env = await isolatedToolEnv(scratch);
    // Fail (never skip) without the binary.
    assert.match((await skopeo(['--version'])).stdout.toString('utf8'), /^skopeo version \d+\.\d+/);
    instance = await openTestRegistry(target);
    // Production-cost password hashes: skopeo sends them only to /token.
    auth = await serveWithAuth(
      instance.registry,
      { pusher: { grants: ['pull,push,delete:interop/*'] }, reader: { grants: ['pull:interop/*'] }, admin: { grants: ['admin:*'] } },
      { realHashes: true },
    );
    auth.server.server.prependListener('request', (request, response) => {
      const { method = '', url = '' } = request;
      const scheme = (request.headers.authorization ?? 'none').split(' ')[0]!;
      response.once('finish', () => requests.push({ method, url, status: response.statusCode, scheme }));
    });
    const anonymous = await auth.serveAlso({ anonRead: true });
    anonHost = `127.0.0.1:${anonymous.address.port}`;
  });
  after(async () => {
    await auth?.close();
    await instance?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('pushes with --dest-creds through the token flow and pulls back with --src-creds, byte for byte', async function () {
    this.timeout(120_000);
    const fixture = layout('oras-artifact');
    const start = requests.length;
    const since = await instance.log.lastSequence();
    await skopeo(['copy', '--dest-tls-verify=false', '--preserve-digests', '--dest-creds', creds('pusher'), source('oras-artifact'), `docker://${auth.host}/interop/auth:v1`]);
    const seen = requests.slice(start);
    assert.ok(seen.some((r) => r.url.startsWith('/v2/') && r.status === 401 && r.scheme === 'none'), 'skopeo was challenged');
    assert.ok(seen.some((r) => r.url.startsWith('/token') && r.status === 200 && r.scheme === 'Basic'), 'skopeo fetched a token with Basic credentials');
    assert.ok(seen.some((r) => r.method === 'PUT' && r.url === '/v2/interop/auth/manifests/v1' && r.status === 201 && r.scheme === 'Bearer'), 'the manifest went up with the token');
    assert.ok(seen.filter((r) => r.url.startsWith('/v2/interop/')).every((r) => r.scheme === 'Bearer'), 'repository requests carry the Bearer token, never the password');
    assert.deepEqual(await actorsSince(since), ['pusher'], 'every event of the push names the pusher');
    assert.equal((await head(`/v2/interop/auth/manifests/v1`)).headers.get('docker-content-digest'), fixture.manifest.digest);

    const dir = await freshDir('reader');
    await skopeo(['copy', '--src-tls-verify=false', '--preserve-digests', '--src-creds', creds('reader'), `docker://${auth.host}/interop/auth:v1`, `oci:${dir}:pulled`]);
    assertSameBlobs(await layoutBlobs(dir), fixture.blobs, 'pulled by the reader');
    const raw = await skopeo(['inspect', '--tls-verify=false', '--raw', '--creds', creds('reader'), `docker://${auth.host}/interop/auth:v1`]);
    assert.ok(raw.stdout.equals(fixture.manifest.bytes));
  });

  it('accepts an API token as the password', async function () {
    this.timeout(120_000);
    const since = await instance.log.lastSequence();
    await skopeo(['copy', '--dest-tls-verify=false', '--format', 'v2s2', '--preserve-digests', '--dest-creds', creds('pusher', auth.credentials.get('pusher')!.token), `oci:${path.join(FIXTURES_DIR, 'docker-image')}`, `docker://${auth.host}/interop/token:v1`]);
    assert.equal((await head('/v2/interop/token/manifests/v1')).headers.get('docker-content-digest'), layout('docker-image').manifest.digest);
    assert.deepEqual(await actorsSince(since), ['pusher']);
  });

  it('a reader cannot push: skopeo fails with unauthorized/denied and nothing is written', async function () {
    this.timeout(120_000);
    const since = await instance.log.lastSequence();
    await assert.rejects(
      skopeo(['copy', '--dest-tls-verify=false', '--preserve-digests', '--dest-creds', creds('reader'), source('oras-artifact'), `docker://${auth.host}/interop/by-reader:v1`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );
    assert.equal((await head('/v2/interop/by-reader/manifests/v1')).status, 404);
    assert.deepEqual(await instance.registry.fetchEvents(since, 100), [], 'the refused push left no event');
    // Nor outside its namespace, for the pusher.
    await assert.rejects(
      skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds('pusher'), source('oras-artifact'), `docker://${auth.host}/elsewhere/app:v1`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );
  });

  it('wrong credentials are refused', async function () {
    this.timeout(60_000);
    await assert.rejects(
      skopeo(['inspect', '--tls-verify=false', '--raw', '--creds', 'reader:not-the-password', `docker://${auth.host}/interop/auth:v1`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );
  });

  it('anonymous callers cannot pull, unless anonymous read is on (and even then cannot push)', async function () {
    this.timeout(120_000);
    await assert.rejects(
      skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${auth.host}/interop/auth:v1`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );
    await assert.rejects(
      skopeo(['copy', '--src-tls-verify=false', `docker://${auth.host}/interop/auth:v1`, `oci:${await freshDir('anonymous')}:pulled`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );

    const dir = await freshDir('anon-read');
    await skopeo(['copy', '--src-tls-verify=false', '--preserve-digests', `docker://${anonHost}/interop/auth:v1`, `oci:${dir}:pulled`]);
    assertSameBlobs(await layoutBlobs(dir), layout('oras-artifact').blobs, 'pulled anonymously');
    await assert.rejects(
      skopeo(['copy', '--dest-tls-verify=false', source('oras-artifact'), `docker://${anonHost}/interop/anon-push:v1`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );
    assert.equal((await head('/v2/interop/anon-push/manifests/v1')).status, 404);
  });

  it('skopeo login stores the credentials (REGISTRY_AUTH_FILE); copy then needs no --creds; logout forgets them', async function () {
    this.timeout(120_000);
    const authFile = env.REGISTRY_AUTH_FILE!;
    const login = await skopeo(['login', '--tls-verify=false', '-u', 'pusher', '--password-stdin', auth.host], auth.credentials.get('pusher')!.password);
    assert.match(login.stdout.toString('utf8'), /Login Succeeded/i);
    const stored = JSON.parse(await readFile(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.ok(stored.auths[auth.host], `auth.json has an entry for ${auth.host}`);

    const since = await instance.log.lastSequence();
    await skopeo(['copy', '--all', '--dest-tls-verify=false', '--preserve-digests', source('multi-arch'), `docker://${auth.host}/interop/logged-in:v1`]);
    assert.equal((await head('/v2/interop/logged-in/manifests/v1')).headers.get('docker-content-digest'), layout('multi-arch').manifest.digest);
    assert.deepEqual(await actorsSince(since), ['pusher']);
    const dir = await freshDir('logged-in');
    await skopeo(['copy', '--all', '--src-tls-verify=false', '--preserve-digests', `docker://${auth.host}/interop/logged-in:v1`, `oci:${dir}:pulled`]);
    assertSameBlobs(await layoutBlobs(dir), layout('multi-arch').blobs, 'pulled after login');

    await assert.rejects(
      skopeo(['login', '--tls-verify=false', '-u', 'pusher', '--password-stdin', auth.host], 'not-the-password'),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );

    await skopeo(['logout', auth.host]);
    await assert.rejects(
      skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${auth.host}/interop/logged-in:v1`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );
  });

  it('a revoked principal can no longer pull, without a restart', async function () {
    this.timeout(120_000);
    await skopeo(['inspect', '--tls-verify=false', '--raw', '--creds', creds('reader'), `docker://${auth.host}/interop/auth:v1`]);
    const { reader: _reader, ...rest } = auth.document().principals;
    await auth.write({ principals: rest });
    await auth.settings.store.reload();
    await assert.rejects(
      skopeo(['inspect', '--tls-verify=false', '--raw', '--creds', creds('reader'), `docker://${auth.host}/interop/auth:v1`]),
      (error: ToolError) => REFUSED.test(error.stderr) || assert.fail(`unexpected failure: ${error.message}`),
    );
  });

  it('leaves a log that verifies', async () => {
    const verification = await instance.registry.verify({ objects: true });
    assert.equal(verification.ok, true);
  });
});
