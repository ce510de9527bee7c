import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { buildLayouts, LAYOUT_NAMES, MEDIA_TYPE, ARTIFACT_TYPES, ANNOTATIONS, parseJson, type Descriptor, type Layout, type LayoutName } from '../../conformance/fixtures/layouts.js';
import { compareLayout, FIXTURES_DIR } from '../../conformance/fixtures/make-fixtures.js';
import { ensureTools, isolatedToolEnv, runTool, TOOL_INSTALL_TIMEOUT_MS, type ToolError } from '../support/containers-tools.js';

// Real-client interoperability: the `skopeo` binary (containers/image) pushes the OCI
// layouts of conformance/fixtures/ to our /v2/ over loopback HTTP, pulls them back, copies
// between repositories, inspects, lists tags and deletes. Every manifest and blob must come
// back byte for byte (same digests), and the event log must verify afterwards.
//
// skopeo is a Debian package, installed when missing (test/support/containers-tools, as .ci/run
// does). When it cannot be had the suite fails: it is never skipped.

const layouts = buildLayouts();

function layout(name: LayoutName): Layout {
  return layouts.get(name)!;
}

function layoutDir(name: LayoutName): string {
  return path.join(FIXTURES_DIR, name);
}

/** One request the server answered, as seen on the wire. */
interface Exchange {
  method: string;
  url: string;
  status: number;
  subject: string | undefined;
}

/** The blobs (manifests included) of an OCI layout on disk, by digest, and its index.json. */
async function readOciLayout(dir: string): Promise<{ index: { manifests: Descriptor[] }; blobs: Map<string, Buffer> }> {
  const index = parseJson(await readFile(path.join(dir, 'index.json'))) as unknown as { manifests: Descriptor[] };
  const blobs = new Map<string, Buffer>();
  for (const algorithm of await readdir(path.join(dir, 'blobs'))) {
    for (const hex of await readdir(path.join(dir, 'blobs', algorithm))) {
      blobs.set(`${algorithm}:${hex}`, await readFile(path.join(dir, 'blobs', algorithm, hex)));
    }
  }
  return { index, blobs };
}

function assertSameBlobs(actual: ReadonlyMap<string, Buffer>, expected: ReadonlyMap<string, Buffer>, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: the set of blobs`);
  for (const [digest, bytes] of expected) assert.ok(actual.get(digest)!.equals(bytes), `${what}: ${digest} has different bytes`);
}

/** The blobs an image manifest references (config and layers). */
function referencedBlobs(manifest: Buffer): Descriptor[] {
  const document = parseJson(manifest) as { config: Descriptor; layers: Descriptor[] };
  return [document.config, ...document.layers];
}

describe('interop fixtures', () => {
  it('conformance/fixtures layouts are exactly what make-fixtures.ts generates', async () => {
    const problems: string[] = [];
    for (const name of LAYOUT_NAMES) problems.push(...(await compareLayout(layout(name))));
    assert.deepEqual(problems, [], 'run `npx tsx conformance/fixtures/make-fixtures.ts` and commit the result');
  });
});

describeEachDatabase('skopeo interop', (target) => {
  let instance: TestRegistry;
  let server: RunningServer;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let host: string;
  let base: string;
  let scratchCount = 0;
  const exchanges: Exchange[] = [];

  const skopeo = (...args: string[]) => runTool('skopeo', env, ['--insecure-policy', ...args]);
  const copy = (...args: string[]) => skopeo('copy', '--src-tls-verify=false', '--dest-tls-verify=false', ...args);
  const inspectRaw = async (reference: string) => (await skopeo('inspect', '--tls-verify=false', '--raw', reference)).stdout;
  const listTags = async (repository: string) => JSON.parse((await skopeo('list-tags', '--tls-verify=false', `docker://${host}/${repository}`)).stdout.toString('utf8')) as { Repository: string; Tags: string[] };
  const freshDir = async (label: string) => {
    scratchCount += 1;
    const dir = path.join(scratch, 'pulled', `${scratchCount}-${label}`);
    await mkdir(path.dirname(dir), { recursive: true });
    return dir;
  };
  /** Pushes a fixture layout by its ref.name (docker-image: as the layout's only manifest). */
  const push = (name: LayoutName, repository: string, tag: string, ...flags: string[]) => {
    // skopeo 1.9 (Debian bookworm) matches an oci: ref.name only on descriptors of the two OCI
    // manifest media types, so the Docker schema-2 layout is read as its only manifest instead.
    const source = name === 'docker-image' ? `oci:${layoutDir(name)}` : `oci:${layoutDir(name)}:${layout(name).tag}`;
    return copy('--preserve-digests', ...flags, source, `docker://${host}/${repository}:${tag}`);
  };
  const http = (pathname: string, init?: RequestInit) => fetch(`${base}${pathname}`, init);

  before(async function () {
    this.timeout(TOOL_INSTALL_TIMEOUT_MS + 60_000);
    await ensureTools(['skopeo']);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-skopeo-'));
    env = await isolatedToolEnv(scratch);
    const version = await skopeo('--version');
    assert.match(version.stdout.toString('utf8'), /^skopeo version \d+\.\d+/);
    instance = await openTestRegistry(target);
    server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
    // Record what skopeo asked and what we answered, to check the paths it took.
    // (Ahead of the app, which rewrites request.url while routing.)
    server.server.prependListener('request', (request, response) => {
      const { method = '', url = '' } = request;
      response.once('finish', () => {
        const subject = response.getHeader('oci-subject');
        exchanges.push({ method, url, status: response.statusCode, subject: typeof subject === 'string' ? subject : undefined });
      });
    });
    host = `127.0.0.1:${server.address.port}`;
    base = `http://${host}`;
  });
  after(async () => {
    await server?.close();
    await instance?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('pushes the oras-style artifact and pulls back the same manifest and blob bytes', async () => {
    const fixture = layout('oras-artifact');
    await push('oras-artifact', 'interop/artifact', 'v1');

    const head = await http(`/v2/interop/artifact/manifests/v1`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), MEDIA_TYPE.ociManifest);
    assert.equal(head.headers.get('docker-content-digest'), fixture.manifest.digest);

    const dir = await freshDir('artifact');
    await copy('--preserve-digests', `docker://${host}/interop/artifact:v1`, `oci:${dir}:pulled`);
    const pulled = await readOciLayout(dir);
    const tagged = pulled.index.manifests.find((entry) => entry.annotations?.[ANNOTATIONS.refName] === 'pulled');
    assert.ok(tagged, 'the pulled layout names the tag');
    assert.equal(tagged.digest, fixture.manifest.digest);
    assert.equal(tagged.mediaType, MEDIA_TYPE.ociManifest);
    assertSameBlobs(pulled.blobs, fixture.blobs, 'pulled artifact');
  });

  it('pushes the Docker schema-2 image and pulls it back unconverted', async () => {
    const fixture = layout('docker-image');
    await push('docker-image', 'interop/docker', 'v1', '--format', 'v2s2');

    const head = await http(`/v2/interop/docker/manifests/v1`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), MEDIA_TYPE.dockerManifest);
    assert.equal(head.headers.get('docker-content-digest'), fixture.manifest.digest);

    // dir: keeps any manifest type as is (oci: would have to convert to OCI, changing the digest).
    const dir = await freshDir('docker');
    await copy('--preserve-digests', `docker://${host}/interop/docker:v1`, `dir:${dir}`);
    assert.ok((await readFile(path.join(dir, 'manifest.json'))).equals(fixture.manifest.bytes), 'manifest.json is the pushed manifest, byte for byte');
    for (const descriptor of referencedBlobs(fixture.manifest.bytes)) {
      const bytes = await readFile(path.join(dir, descriptor.digest.slice('sha256:'.length)));
      assert.ok(bytes.equals(fixture.blobs.get(descriptor.digest)!), `${descriptor.digest} comes back byte for byte`);
    }

    // A non-raw inspect reads the config blob through the registry too.
    const inspected = JSON.parse((await skopeo('inspect', '--tls-verify=false', `docker://${host}/interop/docker:v1`)).stdout.toString('utf8')) as {
      Digest: string; Architecture: string; Os: string; Layers: string[]; Labels: Record<string, string>;
    };
    const layer = referencedBlobs(fixture.manifest.bytes)[1]!;
    assert.equal(inspected.Digest, fixture.manifest.digest);
    assert.equal(inspected.Architecture, 'amd64');
    assert.equal(inspected.Os, 'linux');
    assert.deepEqual(inspected.Layers, [layer.digest]);
    assert.equal(inspected.Labels['org.example.artifactstore.fixture'], 'interop');
  });

  it('copies the multi-arch index with --all, with both platform manifests, and resolves one platform', async () => {
    const fixture = layout('multi-arch');
    await push('multi-arch', 'interop/multi', 'v1', '--all');

    const index = parseJson(fixture.manifest.bytes) as { manifests: Descriptor[] };
    assert.equal(index.manifests.length, 2);
    for (const platform of index.manifests) {
      const response = await http(`/v2/interop/multi/manifests/${platform.digest}`);
      assert.equal(response.status, 200, `${platform.platform?.architecture} manifest arrived`);
      assert.equal(response.headers.get('content-type'), MEDIA_TYPE.ociManifest);
      const bytes = Buffer.from(await response.arrayBuffer());
      assert.ok(bytes.equals(fixture.blobs.get(platform.digest)!), `${platform.platform?.architecture} manifest bytes`);
      for (const blob of referencedBlobs(bytes)) {
        const head = await http(`/v2/interop/multi/blobs/${blob.digest}`, { method: 'HEAD' });
        assert.equal(head.status, 200, `${platform.platform?.architecture}: ${blob.digest} arrived`);
      }
    }
    assert.ok((await inspectRaw(`docker://${host}/interop/multi:v1`)).equals(fixture.manifest.bytes), 'the index is served byte for byte');

    const all = await freshDir('multi-all');
    await copy('--all', '--preserve-digests', `docker://${host}/interop/multi:v1`, `oci:${all}:pulled`);
    const pulled = await readOciLayout(all);
    assert.equal(pulled.index.manifests.find((entry) => entry.annotations?.[ANNOTATIONS.refName] === 'pulled')?.digest, fixture.manifest.digest);
    assertSameBlobs(pulled.blobs, fixture.blobs, 'pulled multi-arch');

    // Without --all, skopeo picks one instance from our index by platform.
    const arm64 = index.manifests.find((entry) => entry.platform?.architecture === 'arm64')!;
    const one = await freshDir('multi-arm64');
    await skopeo('--override-os', 'linux', '--override-arch', 'arm64', 'copy', '--src-tls-verify=false', '--preserve-digests', `docker://${host}/interop/multi:v1`, `oci:${one}:arm64`);
    const single = await readOciLayout(one);
    assert.equal(single.index.manifests.find((entry) => entry.annotations?.[ANNOTATIONS.refName] === 'arm64')?.digest, arm64.digest);
  });

  it('copies between two repositories of the registry', async () => {
    const oras = layout('oras-artifact');
    const docker = layout('docker-image');
    await push('oras-artifact', 'interop/copy-a', 'v1');
    await push('docker-image', 'interop/copy-a', 'docker', '--format', 'v2s2');
    await push('multi-arch', 'interop/copy-a', 'multi', '--all');
    const start = exchanges.length;
    await copy('--preserve-digests', `docker://${host}/interop/copy-a:v1`, `docker://${host}/interop/copy-b:v1`);
    await copy('--preserve-digests', `docker://${host}/interop/copy-a:docker`, `docker://${host}/interop/copy-b:docker`);
    await copy('--all', '--preserve-digests', `docker://${host}/interop/copy-a:multi`, `docker://${host}/interop/copy-b:multi`);

    // skopeo knows where it pushed those layers (its blob info cache) and mounts them across.
    const mounts = exchanges.slice(start).filter((exchange) => exchange.method === 'POST' && /^\/v2\/interop\/copy-b\/blobs\/uploads\/\?.*mount=/.test(exchange.url));
    assert.ok(mounts.length > 0, 'skopeo tried a cross-repository mount');
    assert.ok(mounts.every((exchange) => exchange.status === 201), `every mount was served: ${JSON.stringify(mounts)}`);

    assert.ok((await inspectRaw(`docker://${host}/interop/copy-b:v1`)).equals(oras.manifest.bytes));
    assert.ok((await inspectRaw(`docker://${host}/interop/copy-b:docker`)).equals(docker.manifest.bytes));
    assert.ok((await inspectRaw(`docker://${host}/interop/copy-b:multi`)).equals(layout('multi-arch').manifest.bytes));
    for (const fixture of [oras, docker, layout('multi-arch')]) {
      for (const [digest, bytes] of fixture.blobs) {
        const response = await http(`/v2/interop/copy-b/${fixture.manifest.digest === digest || isManifest(bytes) ? 'manifests' : 'blobs'}/${digest}`);
        assert.equal(response.status, 200, `${fixture.name}: ${digest} is in interop/copy-b`);
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes), `${fixture.name}: ${digest} bytes in interop/copy-b`);
      }
    }
  });

  it('inspect --raw serves each pushed manifest byte for byte, by tag and by digest', async () => {
    await push('oras-artifact', 'interop/inspect-artifact', 'v1');
    await push('docker-image', 'interop/inspect-docker', 'v1', '--format', 'v2s2');
    await push('multi-arch', 'interop/inspect-multi', 'v1', '--all');
    const checks: Array<[string, Layout]> = [
      ['interop/inspect-artifact', layout('oras-artifact')],
      ['interop/inspect-docker', layout('docker-image')],
      ['interop/inspect-multi', layout('multi-arch')],
    ];
    for (const [repository, fixture] of checks) {
      assert.ok((await inspectRaw(`docker://${host}/${repository}:v1`)).equals(fixture.manifest.bytes), `${repository}:v1`);
      assert.ok((await inspectRaw(`docker://${host}/${repository}@${fixture.manifest.digest}`)).equals(fixture.manifest.bytes), `${repository}@digest`);
    }
    const config = (await skopeo('inspect', '--tls-verify=false', '--config', '--raw', `docker://${host}/interop/inspect-docker:v1`)).stdout;
    const configDescriptor = referencedBlobs(layout('docker-image').manifest.bytes)[0]!;
    assert.ok(config.equals(layout('docker-image').blobs.get(configDescriptor.digest)!), 'the config blob, byte for byte');
  });

  it('list-tags lists every tag of a repository', async () => {
    await push('oras-artifact', 'interop/tags', 'v1');
    await push('oras-artifact', 'interop/tags', 'v2');
    await push('oras-artifact', 'interop/tags', 'latest');
    const listed = await listTags('interop/tags');
    assert.equal(listed.Repository, `${host}/interop/tags`);
    assert.deepEqual([...listed.Tags].sort(), ['latest', 'v1', 'v2']);
  });

  it('delete removes the manifest: its tag and its digest answer 404 afterwards', async () => {
    const fixture = layout('docker-image');
    await push('docker-image', 'interop/deleted', 'v1', '--format', 'v2s2');
    await push('oras-artifact', 'interop/deleted', 'kept');
    await skopeo('delete', '--tls-verify=false', `docker://${host}/interop/deleted:v1`);

    for (const reference of ['v1', fixture.manifest.digest]) {
      for (const method of ['HEAD', 'GET']) {
        const response = await http(`/v2/interop/deleted/manifests/${reference}`, { method });
        assert.equal(response.status, 404, `${method} manifests/${reference}`);
        if (method === 'GET') {
          const body = (await response.json()) as { errors: Array<{ code: string }> };
          assert.equal(body.errors[0]?.code, 'MANIFEST_UNKNOWN');
        }
      }
    }
    await assert.rejects(inspectRaw(`docker://${host}/interop/deleted:v1`), (error: ToolError) => /manifest unknown/i.test(error.stderr));
    assert.deepEqual((await listTags('interop/deleted')).Tags, ['kept'], 'the other tag stays');
    assert.ok((await inspectRaw(`docker://${host}/interop/deleted:kept`)).equals(layout('oras-artifact').manifest.bytes));
  });

  it('pushes the signature referrer, and the referrers API lists it for its subject', async () => {
    const subject = layout('oras-artifact');
    const signature = layout('signature');
    await push('oras-artifact', 'interop/signed', 'v1');
    // cosign (OCI 1.1 mode) pushes referrers by digest, untagged.
    const start = exchanges.length;
    await copy('--preserve-digests', `oci:${layoutDir('signature')}:${signature.tag}`, `docker://${host}/interop/signed@${signature.manifest.digest}`);

    const put = exchanges.slice(start).find((exchange) => exchange.method === 'PUT' && exchange.url === `/v2/interop/signed/manifests/${signature.manifest.digest}`);
    assert.equal(put?.status, 201, 'the referrer was put by digest');
    assert.equal(put.subject, subject.manifest.digest, 'answered with OCI-Subject');
    assert.ok((await inspectRaw(`docker://${host}/interop/signed@${signature.manifest.digest}`)).equals(signature.manifest.bytes));
    assert.deepEqual((await listTags('interop/signed')).Tags, ['v1'], 'pushing by digest adds no tag');

    const expected = {
      mediaType: MEDIA_TYPE.ociManifest,
      digest: signature.manifest.digest,
      size: signature.manifest.size,
      artifactType: ARTIFACT_TYPES.signature,
      annotations: { [ANNOTATIONS.created]: '2024-01-01T00:00:00Z' },
    };
    for (const query of ['', `?artifactType=${encodeURIComponent(ARTIFACT_TYPES.signature)}`]) {
      const response = await http(`/v2/interop/signed/referrers/${subject.manifest.digest}${query}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), MEDIA_TYPE.ociIndex);
      const body = (await response.json()) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
      assert.equal(body.schemaVersion, 2);
      assert.equal(body.mediaType, MEDIA_TYPE.ociIndex);
      assert.deepEqual(body.manifests, [expected], `referrers${query}`);
    }
    const other = await http(`/v2/interop/signed/referrers/${subject.manifest.digest}?artifactType=${encodeURIComponent(ARTIFACT_TYPES.oras)}`);
    assert.deepEqual(((await other.json()) as { manifests: unknown[] }).manifests, []);

    // The signature travels with its own bytes when copied by digest to another repository.
    await copy('--preserve-digests', `docker://${host}/interop/signed@${signature.manifest.digest}`, `docker://${host}/interop/signed-copy@${signature.manifest.digest}`);
    const copied = await http(`/v2/interop/signed-copy/referrers/${subject.manifest.digest}`);
    assert.deepEqual(((await copied.json()) as { manifests: Descriptor[] }).manifests.map((entry) => entry.digest), [signature.manifest.digest]);
  });

  it('leaves a log that verifies, with every stored object intact', async () => {
    const verification = await instance.registry.verify({ objects: true });
    assert.equal(verification.ok, true, JSON.stringify({ views: verification.viewDifferences.slice(0, 5), objects: verification.objects?.problems.slice(0, 5) }));
    assert.deepEqual(verification.objects?.problems, []);
  });
});

function isManifest(bytes: Buffer): boolean {
  if (bytes[0] !== 0x7b) return false;
  try {
    const document = parseJson(bytes);
    return document.schemaVersion === 2 && (Array.isArray(document.layers) || Array.isArray(document.manifests));
  } catch {
    return false;
  }
}
