import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenService } from '../../../src/auth/index.js';
import { ACCESS } from '../../../src/http/native/access.js';
import { nativeRoutes } from '../../../src/http/native/index.js';
import { describeEachDatabase } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';
import {
  CASES,
  GRANTS,
  OUTCOMES,
  ROUTES,
  WHO,
  imageManifest,
  multipart,
  renderRouteTable,
  seedContents,
  sha256,
  type Harness,
  type Req,
  type Seeded,
  type Who,
} from './matrix-table.js';
import { basic, eventually, serveWithAuth, type AuthServer } from './support.js';

// The authorization matrix over real HTTP on loopback: every route of both
// APIs × {anonymous, reader of team-a, writer of team-b, writer of team-a,
// admin}, from the table in matrix-table.ts; then the token flow, "not one
// leak" checks on every listing, revocation without a restart, anonymous
// read and the safe defaults.

const EXPECTED_CASES = 58 * 5;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SERVICE = 'artifactstore-test';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** One HTTP request; a stream is cancelled once its headers arrived. */
async function send(base: string, authorization: string | undefined, method: string, req: Req): Promise<Reply> {
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (authorization !== undefined) headers.authorization = authorization;
  const response = await fetch(`${base}${req.path}`, { method, headers, ...(req.body !== undefined ? { body: req.body } : {}), redirect: 'manual' });
  if (req.stream && response.status === 200) {
    await response.body?.cancel();
    return { status: response.status, headers: response.headers, body: '' };
  }
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The JSON payload of a JWT (not verified: the server does that). */
function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The OCI error code of a reply, if any. */
function ociCode(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.body) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** The native problem code of a reply, if any. */
function problemCode(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.body) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

describeEachDatabase('HTTP authorization matrix', (target) => {
  let instance: TestRegistry;
  let auth: AuthServer;
  let h: Harness;
  let counter = 0;

  const authorization = (who: Who | string, kind: 'password' | 'token' = 'password'): string | undefined => {
    if (who === 'anonymous') return undefined;
    const credentials = auth.credentials.get(who);
    assert.ok(credentials, `no credentials for ${who}`);
    return basic(who, kind === 'password' ? credentials.password : credentials.token);
  };
  const as = (who: Who | string, method: string, req: Req, base = auth.base): Promise<Reply> => send(base, authorization(who), method, req);
  const withBearer = (token: string, method: string, req: Req, base = auth.base): Promise<Reply> => send(base, `Bearer ${token}`, method, req);
  const challenge = (scope: string | null, base = auth.base): string => `Bearer realm="${base}/token",service="${SERVICE}"${scope ? `,scope="${scope}"` : ''}`;
  const tokenFor = async (who: Who | string, scopes: string[], base = auth.base): Promise<string> => {
    const query = [`service=${SERVICE}`, ...scopes.map((scope) => `scope=${encodeURIComponent(scope)}`)].join('&');
    const reply = await as(who, 'GET', { path: `/token?${query}` }, base);
    assert.equal(reply.status, 200, reply.body);
    return (JSON.parse(reply.body) as { token: string }).token;
  };
  /** Every event after `since`, read straight from the log. */
  const eventsAfter = (since: number) => instance.registry.fetchEvents(since, 10_000);

  async function seed(namespace: 'team-a' | 'team-b'): Promise<Seeded> {
    const { config, layer, file } = seedContents(namespace);
    const repo = `${namespace}/app`;
    const empty = '{}';
    for (const repository of [repo, `${namespace}/other`]) {
      for (const blob of [config, layer, empty]) {
        await h.admin('POST', { path: `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, headers: { 'content-type': 'application/octet-stream' }, body: blob }, 201);
      }
    }
    const digests = { configDigest: sha256(config), layerDigest: sha256(layer) };
    const manifest = imageManifest(digests, Buffer.byteLength(config), Buffer.byteLength(layer), `${namespace} v1`);
    for (const repository of [repo, `${namespace}/other`]) {
      await h.admin('PUT', { path: `/v2/${repository}/manifests/v1`, headers: { 'content-type': OCI_MANIFEST }, body: manifest }, 201);
    }
    const referrer = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
      subject: { mediaType: OCI_MANIFEST, digest: sha256(manifest), size: Buffer.byteLength(manifest) },
      annotations: { 'org.example.signed-by': namespace },
    });
    await h.admin('PUT', { path: `/v2/${repo}/manifests/${sha256(referrer)}`, headers: { 'content-type': OCI_MANIFEST }, body: referrer }, 201);

    const packageName = `${namespace}/pkg`;
    const created = await h.admin('POST', { path: '/packages', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: packageName, producer: 'seed', retention_class: 'transient' }) }, 201);
    const packageId = (JSON.parse(created.body) as { id: string }).id;
    const form = multipart('secret.txt', file);
    const files = await h.admin('POST', { path: `/packages/${packageId}/files`, headers: { 'content-type': form.contentType }, body: form.body }, 201);
    const stored = (JSON.parse(files.body) as { files: Array<{ id: string; content_address: string }> }).files[0]!;
    await h.admin('POST', { path: `/packages/${packageId}/finalize` }, 200);
    return {
      namespace,
      repo,
      manifest,
      manifestDigest: sha256(manifest),
      ...digests,
      emptyDigest: sha256(empty),
      referrerDigest: sha256(referrer),
      packageName,
      packageId,
      fileId: stored.id,
      objectAddress: stored.content_address,
    };
  }

  before(async function () {
    this.timeout(60_000);
    instance = await openTestRegistry(target);
    auth = await serveWithAuth(instance.registry, Object.fromEntries(Object.entries(GRANTS).map(([name, grants]) => [name, { grants }])), { service: SERVICE });
    const partial = {
      admin: async (method: string, req: Req, expect: number) => {
        const reply = await as('admin', method, req);
        if (reply.status !== expect) throw new Error(`admin ${method} ${req.path}: expected ${expect}, got ${reply.status} ${reply.body.slice(0, 400)}`);
        return { headers: reply.headers, body: reply.body };
      },
      sweep: async (now: Date) => {
        await instance.registry.sweepRetention(now);
      },
    };
    h = partial as unknown as Harness;
    const a = await seed('team-a');
    const b = await seed('team-b');
    h = { ...partial, a, b };
  });
  after(async () => {
    await auth?.close();
    await instance?.dispose();
  });

  describe('the matrix', () => {
    it(`covers ${ROUTES.length} routes × ${WHO.length} callers = ${CASES.length} cases`, () => {
      assert.equal(CASES.length, EXPECTED_CASES);
      assert.equal(CASES.length, ROUTES.length * WHO.length);
      const tally = new Map<number, number>();
      for (const item of CASES) tally.set(item.status, (tally.get(item.status) ?? 0) + 1);
      const refused = (tally.get(401) ?? 0) + (tally.get(403) ?? 0);
      assert.ok(refused > 0 && refused < CASES.length);
      console.log(`      authorization matrix: ${CASES.length} cases (${CASES.length - refused} allowed, ${tally.get(401) ?? 0} × 401, ${tally.get(403) ?? 0} × 403)`);
    });

    it('lists every native route, and every non-public one has an access check', () => {
      const listed = new Set(ROUTES.filter((row) => row.api === 'native').map((row) => `${row.method.toLowerCase()} ${row.route}`));
      for (const route of nativeRoutes()) {
        assert.ok(listed.has(`${route.method} ${route.path}`), `${route.method.toUpperCase()} ${route.path} is missing from the matrix`);
      }
      for (const row of ROUTES.filter((item) => item.api === 'native' && item.need !== 'public')) {
        assert.ok(ACCESS[`${row.method.toLowerCase()} ${row.route}`], `${row.method} ${row.route} needs ${row.need} but has no check in src/http/native/access.ts`);
      }
    });

    it('docs/auth.md shows exactly this matrix', async () => {
      const docs = await readFile(path.join(repoRoot, 'docs/auth.md'), 'utf8');
      assert.ok(docs.includes(renderRouteTable()), 'regenerate the route table of docs/auth.md from test/http/auth/matrix-table.ts (renderRouteTable)');
    });

    for (const item of CASES) {
      const { row, who, status } = item;
      it(`${who.padEnd(9)} ${row.method} ${row.route} → ${status}`, async () => {
        counter += 1;
        const vars = row.prepare ? await row.prepare(h, counter) : {};
        const req = row.request(h, vars);
        const before = await instance.log.lastSequence();
        const reply = await as(who, row.method, req);
        assert.equal(reply.status, status, `${who} ${row.method} ${req.path}: ${reply.body.slice(0, 400)}`);
        const events = await eventsAfter(before);
        if (status === 401 || status === 403) {
          const code = status === 401 ? 'UNAUTHORIZED' : 'DENIED';
          if (row.api === 'OCI') {
            if (row.method !== 'HEAD') assert.equal(ociCode(reply), code, reply.body);
            if (status === 401) assert.equal(reply.headers.get('www-authenticate'), challenge(row.scope!(vars)));
            else assert.equal(reply.headers.get('www-authenticate'), null, 'a 403 carries no challenge');
          } else if (row.method !== 'HEAD') {
            assert.match(reply.headers.get('content-type') ?? '', /^application\/problem\+json/);
            assert.equal(problemCode(reply), code, reply.body);
          }
          assert.deepEqual(events.map((event) => event.event_type), [], 'a refused request leaves no event');
        } else {
          if (row.records) assert.ok(events.length > 0, 'an allowed write is recorded');
          for (const event of events) assert.equal(event.actor, who, `${event.event_type} is attributed to the caller`);
        }
      });
    }
  });

  describe('the token flow on /v2/', () => {
    const SCOPES = ['repository:team-a/app:pull,push,delete', 'registry:catalog:*'];
    const EXPECTED_ACCESS: Record<Who, Array<{ type: string; name: string; actions: string[] }>> = {
      anonymous: [],
      'reader-a': [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }, { type: 'registry', name: 'catalog', actions: ['*'] }],
      'writer-b': [{ type: 'registry', name: 'catalog', actions: ['*'] }],
      'writer-a': [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push', 'delete'] }, { type: 'registry', name: 'catalog', actions: ['*'] }],
      admin: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push', 'delete'] }, { type: 'registry', name: 'catalog', actions: ['*'] }],
    };

    it('GET /token with Basic answers a short-lived ES256 JWT granting what was asked ∩ what is allowed', async () => {
      for (const who of WHO) {
        const token = await tokenFor(who, SCOPES);
        const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { alg: string };
        assert.equal(header.alg, 'ES256');
        const payload = jwtPayload(token);
        assert.equal(payload.sub, who === 'anonymous' ? '' : who);
        assert.equal(payload.aud, SERVICE);
        assert.equal(payload.iss, 'artifactstore');
        assert.equal(Number(payload.exp) - Number(payload.iat), 300);
        assert.deepEqual(payload.access, EXPECTED_ACCESS[who], who);
      }
    });

    // A subset of the matrix with Bearer JWTs: a token-limited caller missing access gets 401 with
    // the scope to ask for (never 403), so clients fetch a new token.
    const TOKEN_ROUTES: Array<{ method: string; route: string; need: 'login' | 'pull' | 'push' | 'delete'; ok: number; scope: string | null; req: (n: number) => Promise<Req> }> = [
      { method: 'GET', route: '/v2/', need: 'login', ok: 200, scope: null, req: async () => ({ path: '/v2/' }) },
      { method: 'GET', route: '/v2/<name>/manifests/<tag>', need: 'pull', ok: 200, scope: 'repository:team-a/app:pull', req: async () => ({ path: '/v2/team-a/app/manifests/v1' }) },
      { method: 'HEAD', route: '/v2/<name>/blobs/<digest>', need: 'pull', ok: 200, scope: 'repository:team-a/app:pull', req: async () => ({ path: `/v2/team-a/app/blobs/${h.a.layerDigest}` }) },
      { method: 'POST', route: '/v2/<name>/blobs/uploads/', need: 'push', ok: 202, scope: 'repository:team-a/app:pull,push', req: async () => ({ path: '/v2/team-a/app/blobs/uploads/' }) },
      { method: 'PUT', route: '/v2/<name>/manifests/<tag>', need: 'push', ok: 201, scope: 'repository:team-a/app:pull,push', req: async (n) => ({ path: `/v2/team-a/app/manifests/jwt-${n}`, headers: { 'content-type': OCI_MANIFEST }, body: h.a.manifest }) },
      {
        method: 'DELETE', route: '/v2/<name>/manifests/<tag>', need: 'delete', ok: 202, scope: 'repository:team-a/app:delete',
        req: async (n) => {
          await h.admin('PUT', { path: `/v2/team-a/app/manifests/jwt-del-${n}`, headers: { 'content-type': OCI_MANIFEST }, body: h.a.manifest }, 201);
          return { path: `/v2/team-a/app/manifests/jwt-del-${n}` };
        },
      },
    ];
    const tokenCases = TOKEN_ROUTES.flatMap((route) => WHO.map((who) => ({ route, who, status: OUTCOMES[route.need][who] === 'ok' ? route.ok : 401 })));

    it(`covers ${TOKEN_ROUTES.length} routes × ${WHO.length} callers = ${tokenCases.length} Bearer cases`, () => {
      assert.equal(tokenCases.length, 30);
    });

    for (const { route, who, status } of tokenCases) {
      it(`Bearer JWT of ${who.padEnd(9)} ${route.method} ${route.route} → ${status}`, async () => {
        const token = await tokenFor(who, SCOPES);
        counter += 1;
        const req = await route.req(counter);
        const before = await instance.log.lastSequence();
        const reply = await withBearer(token, route.method, req);
        assert.equal(reply.status, status, reply.body);
        if (status === 401) assert.equal(reply.headers.get('www-authenticate'), challenge(route.scope));
        for (const event of await eventsAfter(before)) assert.equal(event.actor, who);
      });
    }

    it('a JWT is limited to the repositories it names, even for a principal allowed more', async () => {
      const token = await tokenFor('writer-a', ['repository:team-a/app:pull']);
      assert.equal((await withBearer(token, 'GET', { path: '/v2/team-a/app/manifests/v1' })).status, 200);
      const other = await withBearer(token, 'GET', { path: '/v2/team-a/other/manifests/v1' });
      assert.equal(other.status, 401);
      assert.equal(other.headers.get('www-authenticate'), challenge('repository:team-a/other:pull'));
      const push = await withBearer(token, 'POST', { path: '/v2/team-a/app/blobs/uploads/' });
      assert.equal(push.status, 401, 'asked for pull only');
    });

    it('POST /token (OAuth2 password grant) issues the same tokens; bad grants are refused', async () => {
      const credentials = auth.credentials.get('writer-a')!;
      const form = (fields: Record<string, string>) => ({ path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
      const ok = await send(auth.base, undefined, 'POST', form({ grant_type: 'password', username: 'writer-a', password: credentials.password, service: SERVICE, scope: 'repository:team-a/app:pull,push repository:team-b/app:pull' }));
      assert.equal(ok.status, 200, ok.body);
      const body = JSON.parse(ok.body) as { access_token: string; token_type: string; scope: string };
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'repository:team-a/app:pull,push', 'team-b was asked for and not granted');
      assert.equal((await withBearer(body.access_token, 'GET', { path: '/v2/team-a/app/manifests/v1' })).status, 200);
      assert.equal((await withBearer(body.access_token, 'GET', { path: '/v2/team-b/app/manifests/v1' })).status, 401);

      assert.equal((await send(auth.base, undefined, 'POST', form({ grant_type: 'password', username: 'writer-a', password: 'wrong-password' }))).status, 401);
      assert.equal((await send(auth.base, undefined, 'POST', form({ grant_type: 'refresh_token', refresh_token: 'x' }))).status, 400);
      assert.equal((await send(auth.base, undefined, 'POST', form({ grant_type: 'password' }))).status, 400);
    });

    it('GET /token refuses wrong credentials with a Basic challenge, and takes an API token as the password', async () => {
      const wrong = await send(auth.base, basic('writer-a', 'not-the-password'), 'GET', { path: '/token?scope=repository:team-a/app:pull' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assert.equal(wrong.headers.get('cache-control'), 'no-store');
      const viaToken = await tokenFor('writer-a', ['repository:team-a/app:push']);
      assert.deepEqual(jwtPayload(viaToken).access, [{ type: 'repository', name: 'team-a/app', actions: ['push'] }]);
      const otherOwner = await send(auth.base, basic('reader-a', auth.credentials.get('writer-a')!.token), 'GET', { path: '/token' });
      assert.equal(otherOwner.status, 401, "another principal's API token does not authenticate reader-a");
    });

    it('a tampered or foreign JWT is refused with 401', async () => {
      const token = await tokenFor('admin', ['repository:team-a/app:pull']);
      const [head, , signature] = token.split('.') as [string, string, string];
      const forged = Buffer.from(JSON.stringify({ ...jwtPayload(token), access: [{ type: 'repository', name: 'team-b/app', actions: ['pull'] }] })).toString('base64url');
      assert.equal((await withBearer(`${head}.${forged}.${signature}`, 'GET', { path: '/v2/team-b/app/manifests/v1' })).status, 401);
      const foreign = await TokenService.open(path.join(auth.dir, 'foreign-key.jwk.json'), SERVICE);
      const issued = await foreign.issue('admin', [{ type: 'repository', name: 'team-b/app', actions: ['pull'] }]);
      const refused = await withBearer(issued.token, 'GET', { path: '/v2/team-b/app/manifests/v1' });
      assert.equal(refused.status, 401);
      assert.equal(ociCode(refused), 'UNAUTHORIZED');
    });

    it('API tokens work as Bearer and as the Basic password, for their owner only', async () => {
      const token = auth.credentials.get('writer-a')!.token;
      assert.equal((await withBearer(token, 'GET', { path: `/packages/${h.a.packageId}` })).status, 200);
      assert.equal((await send(auth.base, basic('writer-a', token), 'GET', { path: '/v2/team-a/app/manifests/v1' })).status, 200);
      assert.equal((await send(auth.base, basic('reader-a', token), 'GET', { path: '/v2/team-a/app/manifests/v1' })).status, 401);
      assert.equal((await withBearer(`${token}x`, 'GET', { path: `/packages/${h.a.packageId}` })).status, 401);
      const scheme = await send(auth.base, 'Digest username="writer-a"', 'GET', { path: '/v2/' });
      assert.equal(scheme.status, 401, 'an unsupported scheme is refused, not ignored');
    });
  });

  describe('not one leak', () => {
    /** Pages through `/v2/_catalog?n=` following Link, as `who`. */
    const catalog = async (authorizationHeader: string | undefined, n = 2): Promise<string[]> => {
      const names: string[] = [];
      let next: string | null = `/v2/_catalog?n=${n}`;
      for (let guard = 0; next && guard < 1000; guard += 1) {
        const reply = await send(auth.base, authorizationHeader, 'GET', { path: next });
        assert.equal(reply.status, 200, reply.body);
        names.push(...(JSON.parse(reply.body) as { repositories: string[] }).repositories);
        next = /<([^>]+)>;\s*rel="next"/.exec(reply.headers.get('link') ?? '')?.[1] ?? null;
      }
      return names;
    };
    const packagesOf = async (authorizationHeader: string | undefined): Promise<string[]> => {
      const reply = await send(auth.base, authorizationHeader, 'GET', { path: '/packages?limit=1000' });
      assert.equal(reply.status, 200, reply.body);
      return (JSON.parse(reply.body) as { items: Array<{ name: string }> }).items.map((item) => item.name);
    };
    const visibleTo = (who: Who, name: string): boolean =>
      who === 'admin' || (who === 'reader-a' || who === 'writer-a' ? name.startsWith('team-a/') : who === 'writer-b' ? name.startsWith('team-b/') : false);

    it('_catalog lists only the repositories the caller may pull, page by page', async () => {
      const all = await catalog(authorization('admin'));
      for (const name of ['team-a/app', 'team-a/other', 'team-b/app', 'team-b/other', 'packages']) assert.ok(all.includes(name), `admin sees ${name}`);
      for (const who of ['reader-a', 'writer-b', 'writer-a'] as const) {
        const seen = await catalog(authorization(who));
        assert.deepEqual(seen, all.filter((name) => visibleTo(who, name)), who);
        assert.deepEqual(await catalog(authorization(who, 'token'), 100), seen, `${who} with an API token`);
      }
      assert.equal((await as('anonymous', 'GET', { path: '/v2/_catalog' })).status, 401);
    });

    it('_catalog through a registry token with registry:catalog:* lists only what the principal may pull', async () => {
      const all = await catalog(authorization('admin'));
      for (const who of ['reader-a', 'writer-b', 'writer-a'] as const) {
        const token = await tokenFor(who, ['registry:catalog:*']);
        assert.deepEqual(jwtPayload(token).access, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
        assert.deepEqual(await catalog(`Bearer ${token}`), all.filter((name) => visibleTo(who, name)), `${who}'s token`);
      }
    });

    it('GET /packages lists only the packages the caller may pull', async () => {
      const all = await packagesOf(authorization('admin'));
      assert.ok(all.includes('team-a/pkg') && all.includes('team-b/pkg'));
      for (const who of ['reader-a', 'writer-b', 'writer-a'] as const) {
        assert.deepEqual(await packagesOf(authorization(who)), all.filter((name) => visibleTo(who, name)), who);
        const token = await tokenFor(who, ['registry:catalog:*', `repository:${who === 'writer-b' ? 'team-b' : 'team-a'}/app:pull`]);
        assert.deepEqual((await packagesOf(`Bearer ${token}`)).filter((name) => !visibleTo(who, name)), [], `${who}'s registry token`);
      }
    });

    /** The name an event is about, resolved independently of the server's filter. */
    const aboutName = async (event: { subject_kind: string; subject_id: string; payload: unknown }, packageNames: Map<string, string>): Promise<string | null> => {
      const payload = (event.payload ?? {}) as Record<string, unknown>;
      if (event.subject_kind === 'oci') return String(payload.repository);
      if (event.subject_kind === 'package' || event.subject_kind === 'retention') return packageNames.get(event.subject_id) ?? null;
      if (event.subject_kind === 'file') return packageNames.get(String(payload.package_id)) ?? null;
      return null;
    };
    const eventsAs = async (authorizationHeader: string | undefined, query = ''): Promise<Array<{ sequence: number; subject_kind: string; subject_id: string; payload: unknown; actor: string }>> => {
      const seen = [];
      for (let since = 0; ;) {
        const reply = await send(auth.base, authorizationHeader, 'GET', { path: `/events?since=${since}&limit=1000${query}` });
        assert.equal(reply.status, 200, reply.body);
        const page = JSON.parse(reply.body) as { events: Array<{ sequence: number; subject_kind: string; subject_id: string; payload: unknown; actor: string }>; next_since: number };
        seen.push(...page.events);
        if (page.next_since === since) return seen;
        since = page.next_since;
      }
    };

    /** Reads SSE ids from `reader` until `done(ids)`, failing after `timeoutMs`. */
    const readStream = async (reader: ReadableStreamDefaultReader<Uint8Array>, done: (ids: number[]) => boolean, timeoutMs = 10_000): Promise<number[]> => {
      const ids: number[] = [];
      const decoder = new TextDecoder();
      let buffer = '';
      const deadline = Date.now() + timeoutMs;
      while (!done(ids)) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`the stream did not deliver in ${timeoutMs} ms; got ${JSON.stringify(ids)}`)), Math.max(deadline - Date.now(), 1));
        });
        const { value, done: ended } = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
        if (ended) throw new Error('the stream ended');
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const id = /^id: (\d+)$/m.exec(buffer.slice(0, end))?.[1];
          if (id) ids.push(Number(id));
          buffer = buffer.slice(end + 2);
        }
      }
      return ids;
    };

    it('/events and /events/stream show only events about names the caller may pull; every actor is a principal name', async () => {
      const packageNames = new Map((await instance.registry.listPackages({}, { limit: 1000 })).items.map((item) => [item.id, item.name] as const));
      const principals = new Set(['admin', 'writer-a', 'writer-b', 'reader-a', 'temp', 'system:retention-sweep']);
      for (const who of ['reader-a', 'writer-b', 'writer-a'] as const) {
        const all = await eventsAs(authorization('admin'));
        assert.equal(all.length, await instance.log.lastSequence(), 'the admin sees every event');
        for (const event of all) assert.ok(principals.has(event.actor), `event ${event.sequence} has actor ${event.actor}`);
        const expected: number[] = [];
        for (const event of all) {
          const name = await aboutName(event, packageNames);
          if (name !== null && visibleTo(who, name)) expected.push(event.sequence);
        }
        assert.ok(expected.length > 0);
        assert.deepEqual((await eventsAs(authorization(who))).map((event) => event.sequence), expected, `${who}: /events`);
        // Filtering by a hidden subject shows nothing.
        const hidden = who === 'writer-b' ? h.a.packageId : h.b.packageId;
        assert.deepEqual(await eventsAs(authorization(who), `&subject_id=${hidden}`), [], `${who}: a hidden package's events`);

        // The stream: read until a fresh visible event arrives; every event before it was either shown or withheld.
        const namespace = who === 'writer-b' ? h.b : h.a;
        const response = await fetch(`${auth.base}/events/stream?since=0`, { headers: { authorization: authorization(who)! } });
        assert.equal(response.status, 200);
        await h.admin('PUT', { path: `/v2/${namespace.repo}/manifests/marker-${who}`, headers: { 'content-type': OCI_MANIFEST }, body: namespace.manifest }, 201);
        const marker = await instance.log.lastSequence();
        const reader = response.body!.getReader();
        const streamed = await readStream(reader, (ids) => ids.includes(marker));
        await reader.cancel();
        const expectedStream = [...expected];
        for (const event of await eventsAfter(all.at(-1)!.sequence)) {
          const name = await aboutName(event, packageNames);
          if (event.sequence <= marker && name !== null && visibleTo(who, name)) expectedStream.push(event.sequence);
        }
        assert.deepEqual(streamed, expectedStream, `${who}: /events/stream`);
      }
    });

    it('a mount from a repository the caller cannot read falls back to a normal upload (202)', async () => {
      // writer-a knows team-b's layer digest but may not pull team-b/app.
      const from = await as('writer-a', 'POST', { path: `/v2/team-a/mount-target/blobs/uploads/?mount=${h.b.layerDigest}&from=${h.b.repo}` });
      assert.equal(from.status, 202, from.body);
      assert.match(from.headers.get('location') ?? '', /^\/v2\/team-a\/mount-target\/blobs\/uploads\/[^/]+$/);
      const anyCopy = await as('writer-a', 'POST', { path: `/v2/team-a/mount-target/blobs/uploads/?mount=${h.b.layerDigest}` });
      assert.equal(anyCopy.status, 202, 'without from, no unreadable copy is used either');
      assert.equal((await as('admin', 'HEAD', { path: `/v2/team-a/mount-target/blobs/${h.b.layerDigest}` })).status, 404, 'nothing was linked');
      // Naming a readable copy in the wrong `from` still finds the readable one.
      const readable = await as('writer-a', 'POST', { path: `/v2/team-a/mount-target/blobs/uploads/?mount=${h.a.layerDigest}&from=${h.b.repo}` });
      assert.equal(readable.status, 201);
      // And the other way round.
      assert.equal((await as('writer-b', 'POST', { path: `/v2/team-b/mount-target/blobs/uploads/?mount=${h.a.layerDigest}&from=${h.a.repo}` })).status, 202);
      assert.equal((await as('admin', 'HEAD', { path: `/v2/team-b/mount-target/blobs/${h.a.layerDigest}` })).status, 404);
    });

    it('tags and referrers follow the repository grants, and referrers never cross repositories', async () => {
      assert.equal((await as('reader-a', 'GET', { path: `/v2/${h.b.repo}/tags/list` })).status, 403);
      assert.equal((await as('reader-a', 'GET', { path: `/v2/${h.b.repo}/referrers/${h.b.manifestDigest}` })).status, 403);
      assert.equal((await as('writer-b', 'GET', { path: `/v2/${h.b.repo}/tags/list` })).status, 200);
      // A team-b referrer whose subject is team-a's manifest is not listed in team-a.
      const spy = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.spy',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: h.b.emptyDigest, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: h.b.emptyDigest, size: 2 }],
        subject: { mediaType: OCI_MANIFEST, digest: h.a.manifestDigest, size: Buffer.byteLength(h.a.manifest) },
      });
      assert.equal((await as('writer-b', 'PUT', { path: `/v2/${h.b.repo}/manifests/${sha256(spy)}`, headers: { 'content-type': OCI_MANIFEST }, body: spy })).status, 201);
      const referrers = await as('reader-a', 'GET', { path: `/v2/${h.a.repo}/referrers/${h.a.manifestDigest}` });
      assert.equal(referrers.status, 200);
      assert.deepEqual((JSON.parse(referrers.body) as { manifests: Array<{ digest: string }> }).manifests.map((entry) => entry.digest), [h.a.referrerDigest]);
      const tags = JSON.parse((await as('reader-a', 'GET', { path: `/v2/${h.a.repo}/tags/list` })).body) as { name: string; tags: string[] };
      assert.equal(tags.name, h.a.repo);
      assert.ok(tags.tags.includes('v1'));
      // A manifest in team-a cannot reference team-b's blobs by digest.
      const borrowed = imageManifest(h.b, Buffer.byteLength(seedContents('team-b').config), Buffer.byteLength(seedContents('team-b').layer), 'borrowed');
      const refused = await as('writer-a', 'PUT', { path: '/v2/team-a/borrower/manifests/v1', headers: { 'content-type': OCI_MANIFEST }, body: borrowed });
      assert.equal(refused.status, 400);
      assert.equal(ociCode(refused), 'MANIFEST_BLOB_UNKNOWN');
    });

    it('refusals on native routes addressed by id do not reveal the hidden package name', async () => {
      const hidden = [`/packages/${h.b.packageId}`, `/packages/${h.b.packageId}/files`, `/packages/${h.b.packageId}/manifest.json`, `/files/${h.b.fileId}`, `/files/${h.b.fileId}/download`, `/objects/${h.b.objectAddress}`];
      for (const pathname of hidden) {
        for (const [who, status] of [['anonymous', 401], ['reader-a', 403], ['writer-a', 403]] as const) {
          const reply = await as(who, 'GET', { path: pathname });
          assert.equal(reply.status, status, `${who} GET ${pathname}`);
          assert.doesNotMatch(reply.body, /team-b/, `${who} GET ${pathname} names what it hides: ${reply.body}`);
        }
        // A registry token limited to team-a does not open team-b either.
        const token = await tokenFor('reader-a', ['registry:catalog:*', 'repository:team-a/app:pull']);
        const reply = await withBearer(token, 'GET', { path: pathname });
        assert.ok(reply.status === 401 || reply.status === 403, `reader-a's JWT GET ${pathname}: ${reply.status}`);
        assert.doesNotMatch(reply.body, /team-b/);
      }
    });
  });

  describe('revocation without a restart', () => {
    it('a revoked API token, a narrowed grant and a removed principal stop working as soon as the file changes', async function () {
      this.timeout(60_000);
      await auth.addPrincipals({ temp: { grants: ['pull,push:team-a/*'] } });
      const temp = auth.credentials.get('temp')!;
      const manifest = { path: '/v2/team-a/app/manifests/v1' };
      await eventually('temp can log in', async () => (await as('temp', 'GET', manifest)).status === 200);
      const jwt = await tokenFor('temp', ['repository:team-a/app:pull,push']);
      assert.equal((await withBearer(jwt, 'GET', manifest)).status, 200);
      assert.equal((await withBearer(temp.token, 'GET', manifest)).status, 200);
      const before = await instance.log.lastSequence();
      assert.equal((await withBearer(jwt, 'PUT', { path: '/v2/team-a/app/manifests/by-temp', headers: { 'content-type': OCI_MANIFEST }, body: h.a.manifest })).status, 201);
      assert.deepEqual([...new Set((await eventsAfter(before)).map((event) => event.actor))], ['temp']);

      // 1. Revoke the API token only.
      const document = auth.document();
      await auth.write({ principals: { ...document.principals, temp: { ...document.principals.temp!, tokens: [] } } });
      await eventually('the revoked API token is refused', async () => (await withBearer(temp.token, 'GET', manifest)).status === 401);
      assert.equal((await as('temp', 'GET', manifest)).status, 200, 'the password still works');
      assert.equal((await withBearer(jwt, 'GET', manifest)).status, 200, 'registry tokens of a principal that still has the grant still work');

      // 2. Narrow the grants: the principal, and registry tokens issued before, lose team-a.
      await auth.write({ principals: { ...auth.document().principals, temp: { ...auth.document().principals.temp!, grants: ['pull:team-b/*'] } } });
      await eventually('the narrowed grant is in force', async () => (await as('temp', 'GET', manifest)).status === 403);
      const stale = await withBearer(jwt, 'GET', manifest);
      assert.equal(stale.status, 401, 'a registry token cannot outlive the grant it was issued under');

      // 3. Remove the principal.
      const { temp: _removed, ...rest } = auth.document().principals;
      await auth.write({ principals: rest });
      await eventually('the removed principal is refused', async () => (await as('temp', 'GET', manifest)).status === 401);
      assert.equal((await withBearer(jwt, 'GET', manifest)).status, 401);
      assert.equal((await send(auth.base, basic('temp', temp.password), 'GET', { path: '/token?scope=repository:team-b/app:pull' })).status, 401);
      assert.equal((await as('admin', 'GET', manifest)).status, 200, 'everyone else is unaffected');
    });

    it('a bad edit of the file keeps the last good principals', async () => {
      const refusals = () => auth.logs.filter((line) => line.includes('cannot be used')).length;
      const before = refusals();
      await writeFile(auth.file, 'principals:\n  mallory:\n    password: clear-text\n    grants: ["admin:*"]\n');
      await eventually('the watcher refuses the bad edit', async () => refusals() > before);
      assert.equal((await as('reader-a', 'GET', { path: '/v2/team-a/app/manifests/v1' })).status, 200, 'the previous principals stay in force');
      assert.equal((await send(auth.base, basic('mallory', 'clear-text'), 'GET', { path: '/v2/' })).status, 401);
      await auth.write(auth.document());
      await auth.settings.store.reload();
      assert.equal((await as('reader-a', 'GET', { path: '/v2/team-a/app/manifests/v1' })).status, 200);
    });
  });

  describe('anonymous read (ARTIFACTSTORE_ANON_READ=true)', () => {
    let base: string;
    before(async () => {
      const server = await auth.serveAlso({ anonRead: true });
      base = `http://127.0.0.1:${server.address.port}`;
    });

    it('lets anonymous callers pull everything, on both APIs', async () => {
      for (const req of [
        { path: '/v2/' },
        { path: `/v2/${h.b.repo}/tags/list` },
        { path: `/v2/${h.b.repo}/manifests/v1` },
        { path: `/v2/${h.a.repo}/blobs/${h.a.layerDigest}` },
        { path: `/v2/${h.b.repo}/referrers/${h.b.manifestDigest}` },
        { path: `/packages/${h.b.packageId}` },
        { path: `/files/${h.b.fileId}/download` },
        { path: `/objects/${h.b.objectAddress}` },
        { path: '/events' },
      ]) {
        const reply = await send(base, undefined, 'GET', req);
        assert.equal(reply.status, 200, `${req.path}: ${reply.body.slice(0, 200)}`);
      }
      const repositories = (JSON.parse((await send(base, undefined, 'GET', { path: '/v2/_catalog' })).body) as { repositories: string[] }).repositories;
      for (const name of ['team-a/app', 'team-b/app']) assert.ok(repositories.includes(name));
      const packages = (JSON.parse((await send(base, undefined, 'GET', { path: '/packages?limit=1000' })).body) as { items: Array<{ name: string }> }).items.map((item) => item.name);
      for (const name of ['team-a/pkg', 'team-b/pkg']) assert.ok(packages.includes(name));
    });

    it('never lets anonymous callers push or delete', async () => {
      const before = await instance.log.lastSequence();
      const cases: Array<[string, Req, string | null]> = [
        ['POST', { path: `/v2/${h.a.repo}/blobs/uploads/` }, `repository:${h.a.repo}:pull,push`],
        ['PUT', { path: `/v2/${h.a.repo}/manifests/anon`, headers: { 'content-type': OCI_MANIFEST }, body: h.a.manifest }, `repository:${h.a.repo}:pull,push`],
        ['DELETE', { path: `/v2/${h.a.repo}/manifests/v1` }, `repository:${h.a.repo}:delete`],
        ['DELETE', { path: `/v2/${h.a.repo}/blobs/${h.a.layerDigest}` }, `repository:${h.a.repo}:delete`],
        ['POST', { path: '/packages', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'team-a/anon', producer: 'x', retention_class: 'transient' }) }, null],
        ['POST', { path: `/packages/${h.a.packageId}/uploads`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ relative_path: 'x', media_type: 'text/plain' }) }, null],
      ];
      for (const [method, req, scope] of cases) {
        const reply = await send(base, undefined, method, req);
        assert.equal(reply.status, 401, `${method} ${req.path}: ${reply.body}`);
        if (scope) assert.equal(reply.headers.get('www-authenticate'), challenge(scope, base));
      }
      assert.deepEqual(await eventsAfter(before), []);
    });

    it('the token flow grants anonymous callers pull only; principals keep their own grants for writes', async () => {
      const reply = await send(base, undefined, 'GET', { path: `/token?scope=${encodeURIComponent(`repository:${h.b.repo}:pull,push`)}&scope=registry:catalog:*` });
      const token = (JSON.parse(reply.body) as { token: string }).token;
      assert.deepEqual(jwtPayload(token).access, [{ type: 'repository', name: h.b.repo, actions: ['pull'] }, { type: 'registry', name: 'catalog', actions: ['*'] }]);
      assert.equal((await withBearer(token, 'GET', { path: `/v2/${h.b.repo}/manifests/v1` }, base)).status, 200);
      assert.equal((await withBearer(token, 'POST', { path: `/v2/${h.b.repo}/blobs/uploads/` }, base)).status, 401);
      assert.equal((await as('reader-a', 'GET', { path: `/v2/${h.b.repo}/manifests/v1` }, base)).status, 200, 'anonymous read extends to every principal');
      assert.equal((await as('reader-a', 'POST', { path: `/v2/${h.b.repo}/blobs/uploads/` }, base)).status, 403);
      assert.equal((await as('writer-a', 'POST', { path: `/v2/${h.a.repo}/blobs/uploads/` }, base)).status, 202);
    });

    it('is off by default: the matrix server refuses anonymous pulls', async () => {
      assert.equal((await as('anonymous', 'GET', { path: `/v2/${h.a.repo}/manifests/v1` })).status, 401);
    });
  });
});
