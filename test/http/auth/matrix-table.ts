/**
 * The authorization matrix as data: every route of both APIs (and the
 * service routes), the action each one needs, and what each kind of caller
 * gets. `matrix.test.ts` runs every (route × principal) case over real HTTP;
 * docs/auth.md's route table is rendered from this file (and a test keeps
 * them equal).
 *
 * Every target lives in namespace `team-a`. The principals:
 * - anonymous: no credentials;
 * - reader-a: `pull:team-a/*`;
 * - writer-b: `pull,push,delete:team-b/*` (a writer of another namespace);
 * - writer-a: `pull,push,delete:team-a/*`;
 * - admin: `admin:*`.
 */
import { createHash } from 'node:crypto';

/** Who calls. */
export type Who = 'anonymous' | 'reader-a' | 'writer-b' | 'writer-a' | 'admin';

/** Every caller of the matrix, in column order. */
export const WHO: readonly Who[] = ['anonymous', 'reader-a', 'writer-b', 'writer-a', 'admin'];

/** The grants of each principal (anonymous has none). */
export const GRANTS: Readonly<Record<Exclude<Who, 'anonymous'>, readonly string[]>> = {
  'reader-a': ['pull:team-a/*'],
  'writer-b': ['pull,push,delete:team-b/*'],
  'writer-a': ['pull,push,delete:team-a/*'],
  admin: ['admin:*'],
};

/**
 * What a route needs: `public` (nothing), `login` (any authenticated caller,
 * or anonymous under anonymous read; listings are then filtered), `pull`,
 * `push` or `delete` on the name the request touches, `admin` (an `admin:*`
 * grant), `metrics` (as `admin`, but anonymous callers get 403 too).
 */
export type Need = 'public' | 'login' | 'pull' | 'push' | 'delete' | 'admin' | 'metrics';

/** `ok`: the route's success status; else the refusal. */
export type Outcome = 'ok' | 401 | 403;

/** The expected outcome of each need for each caller on a `team-a` target. */
export const OUTCOMES: Readonly<Record<Need, Readonly<Record<Who, Outcome>>>> = {
  public: { anonymous: 'ok', 'reader-a': 'ok', 'writer-b': 'ok', 'writer-a': 'ok', admin: 'ok' },
  login: { anonymous: 401, 'reader-a': 'ok', 'writer-b': 'ok', 'writer-a': 'ok', admin: 'ok' },
  pull: { anonymous: 401, 'reader-a': 'ok', 'writer-b': 403, 'writer-a': 'ok', admin: 'ok' },
  push: { anonymous: 401, 'reader-a': 403, 'writer-b': 403, 'writer-a': 'ok', admin: 'ok' },
  delete: { anonymous: 401, 'reader-a': 403, 'writer-b': 403, 'writer-a': 'ok', admin: 'ok' },
  admin: { anonymous: 401, 'reader-a': 403, 'writer-b': 403, 'writer-a': 403, admin: 'ok' },
  // /metrics: the authorizer of `artifactstore serve` answers 403 to everyone but administrators, anonymous included.
  metrics: { anonymous: 403, 'reader-a': 403, 'writer-b': 403, 'writer-a': 403, admin: 'ok' },
};

/** Path parameters a case prepared. */
export type Vars = Readonly<Record<string, string>>;

/** One request. */
export interface Req {
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
  /** A stream (SSE): only the status and headers are read. */
  readonly stream?: boolean;
}

/** What was seeded in one namespace (by the admin, before the matrix). */
export interface Seeded {
  readonly namespace: 'team-a' | 'team-b';
  /** OCI repository `<ns>/app` with tag v1, a layer and a referrer. */
  readonly repo: string;
  readonly manifest: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layerDigest: string;
  readonly emptyDigest: string;
  readonly referrerDigest: string;
  /** Native package `<ns>/pkg`, finalized, with one file. */
  readonly packageName: string;
  readonly packageId: string;
  readonly fileId: string;
  /** BLAKE3 content address of the package's file (only this namespace holds it). */
  readonly objectAddress: string;
}

/** What `prepare` steps may use: the seed and admin calls. */
export interface Harness {
  readonly a: Seeded;
  readonly b: Seeded;
  /** Calls as the admin; throws unless the status is `expect`. */
  admin(method: string, req: Req, expect: number): Promise<{ headers: Headers; body: string }>;
  /** Runs the retention sweep as of `now` (makes expired packages eligible for deletion). */
  sweep(now: Date): Promise<void>;
}

/** One route of the matrix. */
export interface RouteRow {
  readonly api: 'OCI' | 'native' | 'service';
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The route as documented. */
  readonly route: string;
  readonly need: Need;
  /** The status when allowed. */
  readonly ok: number;
  /** An allowed call appends at least one event (whose actor must be the caller). */
  readonly records?: boolean;
  /** OCI: the scope a 401 challenge names (null: none). */
  readonly scope?: (vars: Vars) => string | null;
  /** Fresh state for one case, made by the admin. */
  readonly prepare?: (h: Harness, n: number) => Promise<Vars>;
  readonly request: (h: Harness, vars: Vars) => Req;
  /** What the route needs, in words, for the docs (default: the need on the name). */
  readonly note?: string;
}

/** `sha256:<hex>`. */
export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** An OCI image manifest over the seeded config and layer of `seed`, varied by `note`. */
export function imageManifest(seed: Pick<Seeded, 'configDigest' | 'layerDigest'>, configSize: number, layerSize: number, note: string): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: seed.configDigest, size: configSize },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: seed.layerDigest, size: layerSize }],
    annotations: { 'org.example.note': note },
  });
}

/** Sizes of the seeded config and layer (their contents are fixed per namespace). */
export function seedContents(namespace: string): { config: string; layer: string; file: string } {
  return {
    config: `{"architecture":"amd64","os":"linux","namespace":"${namespace}"}`,
    layer: `${namespace} secret layer bytes`,
    file: `${namespace} secret file bytes`,
  };
}

const repoScope = (action: string) => (): string => `repository:team-a/app:${action}`;
const bytes = (n: number, what: string): string => `${what} #${n} ${'x'.repeat(n % 7)}`;

async function ociSession(h: Harness, repository: string): Promise<string> {
  const started = await h.admin('POST', { path: `/v2/${repository}/blobs/uploads/` }, 202);
  return started.headers.get('location')!;
}

async function nativePackage(h: Harness, name: string): Promise<string> {
  const created = await h.admin('POST', { path: '/packages', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, producer: 'matrix', retention_class: 'transient' }) }, 201);
  return (JSON.parse(created.body) as { id: string }).id;
}

async function nativeSession(h: Harness, packageId: string, size: number): Promise<string> {
  const started = await h.admin('POST', { path: `/packages/${packageId}/uploads`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ relative_path: 'chunked.bin', media_type: 'application/octet-stream', size }) }, 201);
  return started.headers.get('location')!;
}

/** A multipart body of one file part. */
export function multipart(filename: string, content: string): { body: Buffer; contentType: string } {
  const boundary = `matrix-${createHash('sha256').update(filename + content).digest('hex').slice(0, 16)}`;
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: text/plain\r\n\r\n${content}\r\n--${boundary}--\r\n`,
  );
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

const json = (value: unknown): { headers: Record<string, string>; body: string } => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

/** Every route, in the order of the docs. */
export const ROUTES: readonly RouteRow[] = [
  // ---- OCI Distribution (/v2/) ----
  { api: 'OCI', method: 'GET', route: '/v2/', need: 'login', ok: 200, scope: () => null, request: () => ({ path: '/v2/' }), note: 'any authenticated caller (anonymous: 401 + challenge, the login probe)' },
  { api: 'OCI', method: 'HEAD', route: '/v2/', need: 'login', ok: 200, scope: () => null, request: () => ({ path: '/v2/' }), note: 'as GET /v2/' },
  { api: 'OCI', method: 'GET', route: '/v2/_catalog', need: 'login', ok: 200, scope: () => 'registry:catalog:*', request: () => ({ path: '/v2/_catalog' }), note: 'any authenticated caller; lists only repositories the caller may pull' },
  { api: 'OCI', method: 'GET', route: '/v2/<name>/tags/list', need: 'pull', ok: 200, scope: repoScope('pull'), request: (h) => ({ path: `/v2/${h.a.repo}/tags/list` }) },
  { api: 'OCI', method: 'GET', route: '/v2/<name>/manifests/<tag>', need: 'pull', ok: 200, scope: repoScope('pull'), request: (h) => ({ path: `/v2/${h.a.repo}/manifests/v1` }) },
  { api: 'OCI', method: 'HEAD', route: '/v2/<name>/manifests/<tag>', need: 'pull', ok: 200, scope: repoScope('pull'), request: (h) => ({ path: `/v2/${h.a.repo}/manifests/v1` }) },
  { api: 'OCI', method: 'GET', route: '/v2/<name>/manifests/<digest>', need: 'pull', ok: 200, scope: repoScope('pull'), request: (h) => ({ path: `/v2/${h.a.repo}/manifests/${h.a.manifestDigest}` }) },
  {
    api: 'OCI', method: 'PUT', route: '/v2/<name>/manifests/<reference>', need: 'push', ok: 201, records: true, scope: repoScope('pull,push'),
    prepare: async (_h, n) => ({ tag: `put-${n}` }),
    request: (h, v) => ({ path: `/v2/${h.a.repo}/manifests/${v.tag}`, headers: { 'content-type': OCI_MANIFEST }, body: h.a.manifest }),
  },
  {
    api: 'OCI', method: 'DELETE', route: '/v2/<name>/manifests/<digest>', need: 'delete', ok: 202, records: true, scope: repoScope('delete'),
    prepare: async (h, n) => {
      const { config, layer } = seedContents('team-a');
      const body = imageManifest(h.a, Buffer.byteLength(config), Buffer.byteLength(layer), `delete-${n}`);
      await h.admin('PUT', { path: `/v2/${h.a.repo}/manifests/${sha256(body)}`, headers: { 'content-type': OCI_MANIFEST }, body }, 201);
      return { digest: sha256(body) };
    },
    request: (h, v) => ({ path: `/v2/${h.a.repo}/manifests/${v.digest}` }),
  },
  {
    api: 'OCI', method: 'DELETE', route: '/v2/<name>/manifests/<tag>', need: 'delete', ok: 202, records: true, scope: repoScope('delete'),
    prepare: async (h, n) => {
      await h.admin('PUT', { path: `/v2/${h.a.repo}/manifests/untag-${n}`, headers: { 'content-type': OCI_MANIFEST }, body: h.a.manifest }, 201);
      return { tag: `untag-${n}` };
    },
    request: (h, v) => ({ path: `/v2/${h.a.repo}/manifests/${v.tag}` }),
  },
  { api: 'OCI', method: 'GET', route: '/v2/<name>/blobs/<digest>', need: 'pull', ok: 200, scope: repoScope('pull'), request: (h) => ({ path: `/v2/${h.a.repo}/blobs/${h.a.layerDigest}` }) },
  { api: 'OCI', method: 'HEAD', route: '/v2/<name>/blobs/<digest>', need: 'pull', ok: 200, scope: repoScope('pull'), request: (h) => ({ path: `/v2/${h.a.repo}/blobs/${h.a.layerDigest}` }) },
  {
    api: 'OCI', method: 'DELETE', route: '/v2/<name>/blobs/<digest>', need: 'delete', ok: 202, records: true, scope: repoScope('delete'),
    prepare: async (h, n) => {
      const blob = bytes(n, 'blob to delete');
      await h.admin('POST', { path: `/v2/${h.a.repo}/blobs/uploads/?digest=${sha256(blob)}`, headers: { 'content-type': 'application/octet-stream' }, body: blob }, 201);
      return { digest: sha256(blob) };
    },
    request: (h, v) => ({ path: `/v2/${h.a.repo}/blobs/${v.digest}` }),
  },
  { api: 'OCI', method: 'POST', route: '/v2/<name>/blobs/uploads/', need: 'push', ok: 202, scope: repoScope('pull,push'), request: (h) => ({ path: `/v2/${h.a.repo}/blobs/uploads/` }), note: 'push on the repository (starts a session)' },
  {
    api: 'OCI', method: 'POST', route: '/v2/<name>/blobs/uploads/?digest=', need: 'push', ok: 201, records: true, scope: repoScope('pull,push'),
    prepare: async (_h, n) => ({ blob: bytes(n, 'monolithic') }),
    request: (h, v) => ({ path: `/v2/${h.a.repo}/blobs/uploads/?digest=${sha256(v.blob!)}`, headers: { 'content-type': 'application/octet-stream' }, body: v.blob! }),
  },
  {
    api: 'OCI', method: 'POST', route: '/v2/<name>/blobs/uploads/?mount=&from=', need: 'push', ok: 201, records: true,
    scope: (v) => `repository:${v.target}:pull,push`,
    prepare: async (_h, n) => ({ target: `team-a/mounted-${n}` }),
    request: (h, v) => ({ path: `/v2/${v.target}/blobs/uploads/?mount=${h.a.layerDigest}&from=${h.a.repo}` }),
    note: 'push on the target; the blob is mounted only from a repository the caller may pull (else 202: a normal upload)',
  },
  {
    api: 'OCI', method: 'GET', route: '/v2/<name>/blobs/uploads/<uuid>', need: 'pull', ok: 204, scope: repoScope('pull'),
    prepare: async (h) => ({ location: await ociSession(h, h.a.repo) }),
    request: (_h, v) => ({ path: v.location! }),
    note: 'pull on the repository (a read)',
  },
  {
    api: 'OCI', method: 'PATCH', route: '/v2/<name>/blobs/uploads/<uuid>', need: 'push', ok: 202, scope: repoScope('pull,push'),
    prepare: async (h) => ({ location: await ociSession(h, h.a.repo) }),
    request: (_h, v) => ({ path: v.location!, headers: { 'content-type': 'application/octet-stream', 'content-range': '0-4' }, body: 'chunk' }),
  },
  {
    api: 'OCI', method: 'PUT', route: '/v2/<name>/blobs/uploads/<uuid>?digest=', need: 'push', ok: 201, records: true, scope: repoScope('pull,push'),
    prepare: async (h, n) => ({ location: await ociSession(h, h.a.repo), blob: bytes(n, 'closing chunk') }),
    request: (_h, v) => ({ path: `${v.location}?digest=${sha256(v.blob!)}`, headers: { 'content-type': 'application/octet-stream' }, body: v.blob! }),
  },
  {
    api: 'OCI', method: 'DELETE', route: '/v2/<name>/blobs/uploads/<uuid>', need: 'push', ok: 204, scope: repoScope('pull,push'),
    prepare: async (h) => ({ location: await ociSession(h, h.a.repo) }),
    request: (_h, v) => ({ path: v.location! }),
    note: 'push on the repository (cancelling is part of pushing)',
  },
  { api: 'OCI', method: 'GET', route: '/v2/<name>/referrers/<digest>', need: 'pull', ok: 200, scope: repoScope('pull'), request: (h) => ({ path: `/v2/${h.a.repo}/referrers/${h.a.manifestDigest}` }) },

  // ---- native API ----
  {
    api: 'native', method: 'POST', route: '/packages', need: 'push', ok: 201, records: true,
    prepare: async (_h, n) => ({ name: `team-a/created-${n}` }),
    request: (_h, v) => ({ path: '/packages', ...json({ name: v.name, producer: 'matrix', retention_class: 'transient' }) }),
    note: 'push on the new package\'s name',
  },
  { api: 'native', method: 'GET', route: '/packages', need: 'login', ok: 200, request: () => ({ path: '/packages' }), note: 'any authenticated caller; lists only packages the caller may pull' },
  { api: 'native', method: 'GET', route: '/packages/{id}', need: 'pull', ok: 200, request: (h) => ({ path: `/packages/${h.a.packageId}` }) },
  { api: 'native', method: 'GET', route: '/packages/{id}/files', need: 'pull', ok: 200, request: (h) => ({ path: `/packages/${h.a.packageId}/files` }) },
  {
    api: 'native', method: 'POST', route: '/packages/{id}/files', need: 'push', ok: 201, records: true,
    prepare: async (h, n) => ({ id: await nativePackage(h, `team-a/files-${n}`), content: bytes(n, 'multipart file') }),
    request: (_h, v) => {
      const form = multipart('notes.txt', v.content!);
      return { path: `/packages/${v.id}/files`, headers: { 'content-type': form.contentType }, body: form.body };
    },
  },
  {
    api: 'native', method: 'POST', route: '/packages/{id}/uploads', need: 'push', ok: 201,
    prepare: async (h, n) => ({ id: await nativePackage(h, `team-a/uploads-${n}`) }),
    request: (_h, v) => ({ path: `/packages/${v.id}/uploads`, ...json({ relative_path: 'big.bin', media_type: 'application/octet-stream' }) }),
  },
  {
    api: 'native', method: 'PATCH', route: '/uploads/{uid}', need: 'push', ok: 200,
    prepare: async (h, n) => ({ location: await nativeSession(h, await nativePackage(h, `team-a/patch-${n}`), 5) }),
    request: (_h, v) => ({ path: v.location!, headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-4/5' }, body: 'chunk' }),
    note: 'push on the session\'s package',
  },
  {
    api: 'native', method: 'HEAD', route: '/uploads/{uid}', need: 'push', ok: 200,
    prepare: async (h, n) => ({ location: await nativeSession(h, await nativePackage(h, `team-a/head-${n}`), 5) }),
    request: (_h, v) => ({ path: v.location! }),
    note: 'push on the session\'s package (unlike OCI, reading a session needs push)',
  },
  {
    api: 'native', method: 'GET', route: '/uploads/{uid}', need: 'push', ok: 200,
    prepare: async (h, n) => ({ location: await nativeSession(h, await nativePackage(h, `team-a/get-${n}`), 5) }),
    request: (_h, v) => ({ path: v.location! }),
    note: 'push on the session\'s package',
  },
  {
    api: 'native', method: 'POST', route: '/uploads/{uid}/complete', need: 'push', ok: 201, records: true,
    prepare: async (h, n) => {
      const content = bytes(n, 'completed upload');
      const location = await nativeSession(h, await nativePackage(h, `team-a/complete-${n}`), Buffer.byteLength(content));
      await h.admin('PATCH', { path: location, headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes 0-${Buffer.byteLength(content) - 1}/${Buffer.byteLength(content)}` }, body: content }, 200);
      return { location };
    },
    request: (_h, v) => ({ path: `${v.location}/complete` }),
    note: 'push on the session\'s package',
  },
  {
    api: 'native', method: 'DELETE', route: '/uploads/{uid}', need: 'push', ok: 204,
    prepare: async (h, n) => ({ location: await nativeSession(h, await nativePackage(h, `team-a/cancel-${n}`), 5) }),
    request: (_h, v) => ({ path: v.location! }),
    note: 'push on the session\'s package',
  },
  {
    api: 'native', method: 'POST', route: '/packages/{id}/finalize', need: 'push', ok: 200, records: true,
    prepare: async (h, n) => {
      const id = await nativePackage(h, `team-a/finalize-${n}`);
      const form = multipart('a.txt', bytes(n, 'finalized file'));
      await h.admin('POST', { path: `/packages/${id}/files`, headers: { 'content-type': form.contentType }, body: form.body }, 201);
      return { id };
    },
    request: (_h, v) => ({ path: `/packages/${v.id}/finalize` }),
  },
  { api: 'native', method: 'GET', route: '/packages/{id}/retention', need: 'pull', ok: 200, request: (h) => ({ path: `/packages/${h.a.packageId}/retention` }) },
  {
    api: 'native', method: 'POST', route: '/packages/{id}/retention/extensions', need: 'push', ok: 200, records: true,
    prepare: async (h, n) => ({ id: await nativePackage(h, `team-a/extend-${n}`) }),
    request: (_h, v) => ({ path: `/packages/${v.id}/retention/extensions`, ...json({ new_expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString(), reason: 'matrix' }) }),
  },
  {
    api: 'native', method: 'POST', route: '/packages/{id}/retention/holds', need: 'push', ok: 201, records: true,
    prepare: async (h, n) => ({ id: await nativePackage(h, `team-a/hold-${n}`) }),
    request: (_h, v) => ({ path: `/packages/${v.id}/retention/holds`, ...json({ reason: 'matrix' }) }),
  },
  {
    api: 'native', method: 'DELETE', route: '/packages/{id}/retention/holds/{hold_id}', need: 'push', ok: 200, records: true,
    prepare: async (h, n) => {
      const id = await nativePackage(h, `team-a/release-${n}`);
      const hold = await h.admin('POST', { path: `/packages/${id}/retention/holds`, ...json({ reason: 'to release' }) }, 201);
      return { id, hold: (JSON.parse(hold.body) as { id: string }).id };
    },
    request: (_h, v) => ({ path: `/packages/${v.id}/retention/holds/${v.hold}`, ...json({ reason: 'matrix' }) }),
  },
  {
    api: 'native', method: 'DELETE', route: '/packages/{id}', need: 'admin', ok: 204, records: true,
    prepare: async (h, n) => {
      const id = await nativePackage(h, `team-a/expired-${n}`);
      await h.sweep(new Date(Date.now() + 8 * 86_400_000));
      return { id };
    },
    request: (_h, v) => ({ path: `/packages/${v.id}`, ...json({ reason: 'matrix' }) }),
    note: 'an `admin:*` grant (and an eligible package)',
  },
  { api: 'native', method: 'GET', route: '/packages/{id}/manifest', need: 'pull', ok: 200, request: (h) => ({ path: `/packages/${h.a.packageId}/manifest` }) },
  { api: 'native', method: 'GET', route: '/packages/{id}/manifest.json', need: 'pull', ok: 200, request: (h) => ({ path: `/packages/${h.a.packageId}/manifest.json` }) },
  { api: 'native', method: 'GET', route: '/files/{id}', need: 'pull', ok: 200, request: (h) => ({ path: `/files/${h.a.fileId}` }), note: 'pull on the file\'s package' },
  { api: 'native', method: 'GET', route: '/files/{id}/download', need: 'pull', ok: 200, request: (h) => ({ path: `/files/${h.a.fileId}/download` }), note: 'pull on the file\'s package' },
  { api: 'native', method: 'GET', route: '/objects/{content-address}', need: 'pull', ok: 200, request: (h) => ({ path: `/objects/${h.a.objectAddress}` }), note: 'pull on at least one package or repository holding the object' },
  { api: 'native', method: 'HEAD', route: '/objects/{content-address}', need: 'pull', ok: 200, request: (h) => ({ path: `/objects/${h.a.objectAddress}` }), note: 'as GET' },
  { api: 'native', method: 'POST', route: '/objects/{content-address}/restore', need: 'pull', ok: 200, request: (h) => ({ path: `/objects/${h.a.objectAddress}/restore` }), note: 'as GET (ADR 0022; without a cold tier: 200, nothing to restore)' },
  { api: 'native', method: 'GET', route: '/events', need: 'login', ok: 200, request: () => ({ path: '/events' }), note: 'any authenticated caller; only events about names the caller may pull' },
  { api: 'native', method: 'GET', route: '/events/stream', need: 'login', ok: 200, request: () => ({ path: '/events/stream', stream: true }), note: 'as /events' },
  {
    api: 'native', method: 'POST', route: '/metadata-schemas', need: 'admin', ok: 201, records: true,
    prepare: async (_h, n) => ({ name: `matrix.schema.v${n}` }),
    request: (_h, v) => ({ path: '/metadata-schemas', ...json({ name: v.name, schema: { type: 'object' } }) }),
    note: 'an `admin:*` grant (schemas are global, permanent, and bind every package naming them)',
  },
  { api: 'native', method: 'GET', route: '/metadata-schemas', need: 'login', ok: 200, request: () => ({ path: '/metadata-schemas' }), note: 'any authenticated caller' },
  {
    api: 'native', method: 'GET', route: '/metadata-schemas/{name}', need: 'login', ok: 200,
    prepare: async (h, n) => {
      await h.admin('POST', { path: '/metadata-schemas', ...json({ name: `matrix.read.v${n}`, schema: { type: 'object' } }) }, 201);
      return { name: `matrix.read.v${n}` };
    },
    request: (_h, v) => ({ path: `/metadata-schemas/${v.name}` }),
    note: 'any authenticated caller',
  },
  {
    api: 'native', method: 'GET', route: '/repositories/{name}', need: 'pull', ok: 200,
    request: (h) => ({ path: `/repositories/${encodeURIComponent(h.a.repo)}` }),
    note: 'pull on the repository (as a pull through `/v2/`)',
  },
  { api: 'native', method: 'GET', route: '/openapi.json', need: 'public', ok: 200, request: () => ({ path: '/openapi.json' }) },
  { api: 'native', method: 'GET', route: '/docs', need: 'public', ok: 200, request: () => ({ path: '/docs' }) },

  // ---- service routes ----
  { api: 'service', method: 'GET', route: '/', need: 'public', ok: 200, request: () => ({ path: '/' }) },
  { api: 'service', method: 'GET', route: '/health', need: 'public', ok: 200, request: () => ({ path: '/health' }) },
  { api: 'service', method: 'GET', route: '/ready', need: 'public', ok: 200, request: () => ({ path: '/ready' }) },
  { api: 'service', method: 'GET', route: '/metrics', need: 'metrics', ok: 200, request: () => ({ path: '/metrics' }), note: 'an `admin:*` grant (anonymous gets 403 too); or scrape ARTIFACTSTORE_METRICS_LISTEN' },
  { api: 'service', method: 'GET', route: '/token', need: 'public', ok: 200, request: () => ({ path: '/token?scope=repository:team-a/app:pull' }), note: 'none; Basic credentials (optional) decide what the token grants' },
];

/** Every (route × caller) case with its expected status. */
export interface Case {
  readonly row: RouteRow;
  readonly who: Who;
  /** The expected status. */
  readonly status: number;
}

/** The matrix, row by row. */
export const CASES: readonly Case[] = ROUTES.flatMap((row) =>
  WHO.map((who) => {
    const outcome = OUTCOMES[row.need][who];
    return { row, who, status: outcome === 'ok' ? row.ok : outcome };
  }),
);

const cell = (outcome: Outcome, ok: number): string => (outcome === 'ok' ? String(ok) : String(outcome));

/** The Markdown table of docs/auth.md, rendered from the matrix. */
export function renderRouteTable(): string {
  const lines = [
    `| API | method | route | needs | ${WHO.join(' | ')} |`,
    `|---|---|---|---|${WHO.map(() => '---').join('|')}|`,
  ];
  for (const row of ROUTES) {
    const needs = row.note ?? (row.need === 'public' ? 'nothing (public)' : `${row.need} on the ${row.api === 'OCI' ? 'repository' : 'package'}`);
    lines.push(`| ${row.api} | ${row.method} | \`${row.route}\` | ${needs} | ${WHO.map((who) => cell(OUTCOMES[row.need][who], row.ok)).join(' | ')} |`);
  }
  return lines.join('\n');
}
