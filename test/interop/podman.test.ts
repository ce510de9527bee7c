import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describeEachDatabase } from '../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../support/registry.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { MEDIA_TYPE } from '../../conformance/fixtures/layouts.js';
import { ensureTools, isolatedToolEnv, runTool, TOOL_INSTALL_TIMEOUT_MS } from '../support/containers-tools.js';

// Real-client interoperability beyond skopeo, with the other Debian clients
// issue 3 names: buildah builds images and pushes them (OCI and Docker
// schema 2), podman pulls them into empty image storage, pushes a manifest
// list and searches the catalog, and umoci lays out an image that skopeo
// carries up and back. Every client runs with private configuration and its
// own vfs image storage under a temp directory, so nothing on the machine is
// used or changed. The Debian packages are installed when missing
// (test/support/containers-tools); without them the suite fails, it is never
// skipped.

describeEachDatabase('podman, buildah and umoci interop', (target) => {
  let instance: TestRegistry;
  let server: RunningServer;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let host: string;
  /** What the built image holds at /payload.txt: random, so no earlier run's layer can stand in for it. */
  let payload: string;

  /** Global flags giving a client image storage of its own (`name`): the pushing side and the pulling side never share layers. */
  const storage = (name: string): string[] => ['--root', path.join(scratch, name, 'root'), '--runroot', path.join(scratch, name, 'runroot'), '--storage-driver', 'vfs'];
  const buildah = async (name: string, ...args: string[]) => (await runTool('buildah', env, [...storage(name), ...args])).stdout.toString('utf8').trim();
  const podman = async (name: string, ...args: string[]) => (await runTool('podman', env, [...storage(name), '--events-backend', 'file', ...args])).stdout.toString('utf8').trim();
  const skopeo = (...args: string[]) => runTool('skopeo', env, ['--insecure-policy', ...args]);
  const umoci = (...args: string[]) => runTool('umoci', env, args);
  const manifestOf = async (repository: string, reference: string) => {
    const response = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
      headers: { accept: [MEDIA_TYPE.ociManifest, MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerManifest, MEDIA_TYPE.dockerManifestList].join(', ') },
    });
    assert.equal(response.status, 200, `GET /v2/${repository}/manifests/${reference}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    return { bytes, json: JSON.parse(bytes.toString('utf8')) as Record<string, unknown>, mediaType: response.headers.get('content-type'), digest: response.headers.get('docker-content-digest') };
  };

  /** Builds a one-layer image from scratch in the `build` storage, named `reference`. */
  const buildImage = async (reference: string) => {
    const file = path.join(scratch, 'payload.txt');
    await writeFile(file, payload);
    const container = await buildah('build', 'from', 'scratch');
    await buildah('build', 'copy', container, file, '/payload.txt');
    await buildah('build', 'config', '--label', 'dev.artifactstore.test=interop', '--cmd', '/payload.txt', container);
    await buildah('build', 'commit', '--format', 'oci', container, reference);
    await buildah('build', 'rm', container);
  };

  before(async function () {
    this.timeout(TOOL_INSTALL_TIMEOUT_MS + 60_000);
    await ensureTools(['podman', 'buildah', 'umoci', 'skopeo']);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-podman-'));
    env = await isolatedToolEnv(scratch);
    payload = `interop ${randomBytes(16).toString('hex')}\n`;
    for (const tool of ['podman', 'buildah', 'umoci']) await runTool(tool, env, ['--version']);
    instance = await openTestRegistry(target);
    server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
    host = `127.0.0.1:${server.address.port}`;
    await buildImage(`${host}/interop/built:v1`);
  });
  after(async () => {
    await server?.close();
    await instance?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('buildah pushes an OCI image; podman pulls it into empty storage with the same digest, config and file', async () => {
    const digestFile = path.join(scratch, 'pushed.digest');
    await buildah('build', 'push', '--tls-verify=false', '--digestfile', digestFile, `${host}/interop/built:v1`);
    const pushed = (await readFile(digestFile, 'utf8')).trim();

    const served = await manifestOf('interop/built', 'v1');
    assert.equal(served.mediaType, MEDIA_TYPE.ociManifest);
    assert.equal(served.digest, pushed);
    const config = (served.json.config as { digest: string }).digest;

    await podman('pull', 'pull', '--tls-verify=false', `${host}/interop/built:v1`);
    const [id, digest] = (await podman('pull', 'image', 'inspect', '--format', '{{.Id}} {{.Digest}}', `${host}/interop/built:v1`)).split(' ');
    assert.equal(digest, pushed);
    assert.equal(`sha256:${id}`, config);
    const labels = JSON.parse(await podman('pull', 'image', 'inspect', '--format', '{{json .Labels}}', `${host}/interop/built:v1`)) as Record<string, string>;
    assert.equal(labels['dev.artifactstore.test'], 'interop');
    const root = await podman('pull', 'image', 'mount', `${host}/interop/built:v1`);
    assert.equal(await readFile(path.join(root, 'payload.txt'), 'utf8'), payload);
  });

  it('buildah pushes Docker schema 2; the registry keeps it unconverted and podman pulls it', async () => {
    await buildah('build', 'push', '--tls-verify=false', '--format', 'v2s2', `${host}/interop/built:v1`, `docker://${host}/interop/built-docker:v1`);
    const served = await manifestOf('interop/built-docker', 'v1');
    assert.equal(served.mediaType, MEDIA_TYPE.dockerManifest);
    assert.equal(served.json.mediaType, MEDIA_TYPE.dockerManifest);

    await podman('pull', 'pull', '--tls-verify=false', `${host}/interop/built-docker:v1`);
    // The same image (one config) may already be there from the OCI pull: its
    // first digest stays .Digest, and the pulled one joins the repo digests.
    const repoDigests = JSON.parse(await podman('pull', 'image', 'inspect', '--format', '{{json .RepoDigests}}', `${host}/interop/built-docker:v1`)) as string[];
    assert.ok(repoDigests.includes(`${host}/interop/built-docker@${served.digest}`), repoDigests.join(', '));
  });

  it('podman manifest push --all stores the index and every child; a pull resolves the platform', async () => {
    const list = `${host}/interop/list:v1`;
    await podman('build', 'manifest', 'create', list);
    await podman('build', 'manifest', 'add', list, `containers-storage:${host}/interop/built:v1`);
    await podman('build', 'manifest', 'push', '--tls-verify=false', '--all', list, `docker://${list}`);

    const index = await manifestOf('interop/list', 'v1');
    assert.ok(index.mediaType === MEDIA_TYPE.ociIndex || index.mediaType === MEDIA_TYPE.dockerManifestList, `index media type ${String(index.mediaType)}`);
    const children = index.json.manifests as Array<{ digest: string; platform?: { os: string; architecture: string } }>;
    assert.equal(children.length, 1);
    const child = await manifestOf('interop/list', children[0]!.digest);
    assert.equal(child.digest, children[0]!.digest);

    await podman('pull', 'pull', '--tls-verify=false', list);
    assert.equal(await podman('pull', 'image', 'inspect', '--format', '{{.Id}}', list), (child.json.config as { digest: string }).digest.slice('sha256:'.length));
  });

  it('podman search lists repositories from the catalog and the tags of one repository', async () => {
    const repositories = (await podman('build', 'search', '--tls-verify=false', '--format', '{{.Name}}', `${host}/`)).split('\n');
    for (const name of ['interop/built', 'interop/built-docker', 'interop/list']) assert.ok(repositories.includes(`${host}/${name}`), `${name} in ${repositories.join(', ')}`);
    const tags = (await podman('build', 'search', '--tls-verify=false', '--list-tags', `${host}/interop/built`)).split('\n').slice(1);
    assert.deepEqual(tags.map((line) => line.trim().split(/\s+/)), [[`${host}/interop/built`, 'v1']]);
  });

  it('umoci lays out an image; skopeo pushes it and pulls it back; umoci unpacks the same file', async () => {
    const layout = path.join(scratch, 'umoci-layout');
    const file = path.join(scratch, 'umoci.txt');
    await writeFile(file, payload);
    await umoci('init', '--layout', layout);
    await umoci('new', '--image', `${layout}:base`);
    await umoci('insert', '--image', `${layout}:base`, file, '/etc/umoci.txt');
    await umoci('config', '--image', `${layout}:base`, '--config.cmd', '/bin/true');
    await skopeo('copy', '--dest-tls-verify=false', '--preserve-digests', `oci:${layout}:base`, `docker://${host}/interop/umoci:base`);

    const pulled = path.join(scratch, 'umoci-pulled');
    await skopeo('copy', '--src-tls-verify=false', '--preserve-digests', `docker://${host}/interop/umoci:base`, `oci:${pulled}:base`);
    const original = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const copied = JSON.parse(await readFile(path.join(pulled, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    assert.equal(copied.manifests[0]?.digest, original.manifests[0]?.digest);
    const bundle = path.join(scratch, 'umoci-bundle');
    await umoci('unpack', '--image', `${pulled}:base`, bundle);
    assert.equal(await readFile(path.join(bundle, 'rootfs', 'etc', 'umoci.txt'), 'utf8'), payload);
  });

  it('leaves a log that verifies, with every stored object intact', async () => {
    const verification = await instance.registry.verify({ objects: true });
    assert.equal(verification.ok, true, JSON.stringify({ views: verification.viewDifferences.slice(0, 5), objects: verification.objects?.problems.slice(0, 5) }));
    assert.deepEqual(verification.objects?.problems, []);
  });
});
