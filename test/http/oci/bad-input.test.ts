/**
 * Hostile and malformed input on `/v2/`, over real HTTP on loopback: every
 * refusal carries its distribution-spec status and error code in the OCI
 * envelope, and nothing refused leaves a trace (no event, no object, no
 * staged upload, no stray file in the storage root).
 *
 * Requests go through node:http (paths are sent verbatim, so `..` and `.`
 * segments reach the server un-normalized) or, where HTTP itself has to be
 * bent (a lying Content-Length, pipelining behind HEAD), through a raw socket.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { describeEachDatabase } from '../../support/databases.js';
import { openTestRegistry, type TestRegistry } from '../../support/registry.js';
import { startServer, type RunningServer } from '../../../src/http/server.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 15_000;
const REPO = 'bad/app';

function sha256(content: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

function sha512(content: string | Uint8Array): string {
  return `sha512:${createHash('sha512').update(content).digest('hex')}`;
}

// ---------------------------------------------------------------------------
// HTTP plumbing

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

interface SendOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** Send the body with chunked transfer encoding instead of a Content-Length. */
  readonly chunked?: boolean;
}

/** One request on its own connection; the path goes out byte for byte. */
function send(port: number, method: string, requestPath: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (body !== undefined) {
      // node only frames bodies of GET, HEAD and DELETE when told to.
      if (options.chunked) headers['Transfer-Encoding'] = 'chunked';
      else headers['Content-Length'] = String(body.length);
    }
    let settled = false;
    const finish = (error: Error | null, reply?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(reply!);
    };
    const request = http.request({ host: '127.0.0.1', port, method, path: requestPath, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => finish(null, { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', (error) => finish(error));
    });
    const timer = setTimeout(() => {
      request.destroy();
      finish(new Error(`${method} ${requestPath.slice(0, 200)}: no complete response within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    // A server that answers before reading the whole body may close on us
    // mid-upload; the response, when one came, is what counts.
    request.on('error', (error) => setTimeout(() => finish(error), 50));
    if (body === undefined) {
      request.end();
    } else if (options.chunked) {
      for (let offset = 0; offset < body.length; offset += 64 * 1024) request.write(body.subarray(offset, offset + 64 * 1024));
      request.end();
    } else {
      request.end(body);
    }
  });
}

/** What came back on a raw socket: every byte, and how the socket ended. */
interface RawOutcome {
  readonly bytes: Buffer;
  readonly socketError: string | null;
}

/**
 * Writes `data` on a fresh socket and collects everything until the server
 * closes or `waitMs` passes. `halfClose` ends our side after writing;
 * `destroyAfterMs` resets the connection.
 */
function rawExchange(port: number, data: Buffer | string, options: { halfClose?: boolean; destroyAfterMs?: number; waitMs?: number } = {}): Promise<RawOutcome> {
  return new Promise<RawOutcome>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let socketError: string | null = null;
    const timers: NodeJS.Timeout[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socketError = error.code ?? error.message;
    });
    socket.on('close', () => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ bytes: Buffer.concat(chunks), socketError });
    });
    socket.write(data);
    if (options.halfClose) socket.end();
    if (options.destroyAfterMs !== undefined) timers.push(setTimeout(() => socket.destroy(), options.destroyAfterMs));
    timers.push(setTimeout(() => socket.destroy(), options.waitMs ?? 5_000));
  });
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Bytes after the header block (may hold the body and further responses). */
  readonly rest: Buffer;
}

/** Parses the status line and headers at the start of `bytes`, or null when there is no complete head. */
function parseRawHead(bytes: Buffer): RawResponse | null {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!match) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(match[1]), headers, rest: bytes.subarray(end + 4) };
}

// ---------------------------------------------------------------------------
// Assertions

interface OciError {
  readonly code: string;
  readonly message: string;
  readonly detail?: unknown;
}

function describeReply(reply: { status: number; body: Buffer }): string {
  return `${reply.status} ${reply.body.toString('utf8').slice(0, 400)}`;
}

/** Asserts the OCI error envelope `{"errors":[{code,message,detail}]}` and returns its errors. */
function envelope(reply: Reply | { status: number; headers: Record<string, string>; body: Buffer }, label: string): OciError[] {
  const contentType = String(reply.headers['content-type'] ?? '');
  assert.match(contentType, /^application\/json\b/, `${label}: error body must be JSON, got Content-Type ${JSON.stringify(contentType)} (${describeReply(reply)})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body.toString('utf8'));
  } catch {
    assert.fail(`${label}: error body is not JSON: ${describeReply(reply)}`);
  }
  const errors = (parsed as { errors?: unknown }).errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `${label}: body must be {"errors":[…]}: ${describeReply(reply)}`);
  for (const error of errors as unknown[]) {
    const item = error as Record<string, unknown>;
    assert.equal(typeof item.code, 'string', `${label}: errors[].code must be a string: ${describeReply(reply)}`);
    assert.equal(typeof item.message, 'string', `${label}: errors[].message must be a string: ${describeReply(reply)}`);
    assert.ok(Object.hasOwn(item, 'detail'), `${label}: errors[].detail must be present: ${describeReply(reply)}`);
  }
  return errors as OciError[];
}

/** Asserts `status` and an envelope whose first code is `code` (or one of `code`). */
function expectError(reply: Reply, status: number | readonly number[], code: string | readonly string[], label: string): void {
  const statuses = typeof status === 'number' ? [status] : status;
  const codes = typeof code === 'string' ? [code] : code;
  assert.ok(statuses.includes(reply.status), `${label} — wanted ${statuses.join(' or ')} ${codes.join(' or ')}, got ${describeReply(reply)}`);
  const errors = envelope(reply, label);
  assert.ok(codes.includes(errors[0]!.code), `${label} — wanted code ${codes.join(' or ')}, got ${describeReply(reply)}`);
}

/** HEAD: the status, and no body (node's client would drop one silently, so the raw check lives in its own test). */
function expectHeadError(reply: Reply, status: number | readonly number[], label: string): void {
  const statuses = typeof status === 'number' ? [status] : status;
  assert.ok(statuses.includes(reply.status), `${label} — wanted ${statuses.join(' or ')}, got ${reply.status}`);
  assert.equal(reply.body.length, 0, `${label}: HEAD must not carry a body`);
}

// ---------------------------------------------------------------------------
// What is stored

interface StoredState {
  readonly events: Array<{ sequence: number; type: string; subject: string }>;
  readonly objects: string[];
  readonly uploads: string[];
  readonly files: string[];
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(path.relative(root, full));
    }
  };
  await walk(root);
  return out.sort();
}

async function storedState(instance: TestRegistry): Promise<StoredState> {
  const events = (await instance.registry.fetchEvents(0, 1000)).map((event) => ({ sequence: event.sequence, type: event.event_type, subject: event.subject_id }));
  const objects: string[] = [];
  for await (const address of instance.dataPlane.listObjects()) objects.push(address);
  const uploads: string[] = [];
  for await (const upload of instance.dataPlane.listUploads()) uploads.push(`${upload.id}:${upload.size}`);
  return { events, objects: objects.sort(), uploads: uploads.sort(), files: await listFiles(instance.storageRoot) };
}

/**
 * Runs `action` and asserts that it left the store as it found it. Aborted
 * connections are cleaned up after the client sees them end, so the check
 * polls for a moment before it fails.
 */
async function expectNothingStored(instance: TestRegistry, action: () => Promise<void>, ignore: { uploads?: boolean } = {}): Promise<void> {
  const before = await storedState(instance);
  await action();
  const comparable = (state: StoredState) => ({ ...state, uploads: ignore.uploads ? [] : state.uploads });
  let after = await storedState(instance);
  for (let waited = 0; waited < 3_000; waited += 50) {
    try {
      assert.deepEqual(comparable(after), comparable(before));
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await storedState(instance);
    }
  }
  const newEvents = after.events.filter((event) => !before.events.some((old) => old.sequence === event.sequence));
  assert.deepEqual(comparable(after), comparable(before), `refused input left something stored; new events: ${JSON.stringify(newEvents)}`);
}

// ---------------------------------------------------------------------------
// Fixtures

const HEX64 = createHash('sha256').update('bad-input').digest('hex');
const CONFIG = '{}';
const LAYER = 'layer bytes of bad/app';

function imageManifest(extra: Record<string, unknown> = {}, layers: unknown[] = [{ mediaType: LAYER_TYPE, digest: sha256(LAYER), size: Buffer.byteLength(LAYER) }]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_EMPTY, digest: sha256(CONFIG), size: 2 }, layers, ...extra });
}

/** Digests every endpoint must refuse with DIGEST_INVALID; `colon: false` ones read as tags on the manifests path. */
const MALFORMED_DIGESTS: ReadonlyArray<{ label: string; digest: string; colon: boolean }> = [
  { label: 'upper-case hex', digest: `sha256:${HEX64.toUpperCase()}`, colon: true },
  { label: 'one upper-case hex digit', digest: `sha256:${HEX64.slice(0, 63)}A`, colon: true },
  { label: 'too short', digest: `sha256:${HEX64.slice(0, 63)}`, colon: true },
  { label: 'too long', digest: `sha256:${HEX64}0`, colon: true },
  { label: 'sha512 with sha256 length', digest: `sha512:${HEX64}`, colon: true },
  { label: 'unknown algorithm md5', digest: `md5:${HEX64.slice(0, 32)}`, colon: true },
  { label: 'unknown algorithm sha384', digest: `sha384:${HEX64}${HEX64.slice(0, 32)}`, colon: true },
  { label: 'unregistered algorithm blake3', digest: `blake3:${HEX64}`, colon: true },
  { label: 'empty hex (`sha256:`)', digest: 'sha256:', colon: true },
  { label: 'empty algorithm', digest: `:${HEX64}`, colon: true },
  { label: 'non-hex characters', digest: `sha256:${'g'.repeat(64)}`, colon: true },
  { label: 'no colon', digest: `sha256${HEX64}`, colon: false },
];

const NAME_255 = ['a'.repeat(127), 'b'.repeat(127)].join('/');

/** Names that must be refused with NAME_INVALID, as they appear in the request path. */
const INVALID_NAMES: ReadonlyArray<{ label: string; raw: string }> = [
  { label: 'upper case', raw: 'UPPER' },
  { label: 'mixed case component', raw: 'team/App' },
  { label: 'empty component', raw: 'a//b' },
  { label: 'parent segment', raw: '..' },
  { label: 'parent segment inside', raw: 'a/../b' },
  { label: 'percent-encoded parent', raw: '%2e%2e' },
  { label: 'percent-encoded parent inside', raw: 'a/%2e%2e/b' },
  { label: 'current segment inside', raw: 'a/./b' },
  { label: 'current segment', raw: '.' },
  { label: 'percent-encoded slash', raw: 'a%2Fb' },
  { label: 'percent-encoded NUL', raw: 'a%00b' },
  { label: 'unicode', raw: encodeURIComponent('ünïcode') },
  { label: 'leading separator', raw: '-a' },
  { label: 'trailing separator', raw: 'a-' },
  { label: 'triple underscore', raw: 'a___b' },
  { label: 'double dot', raw: 'a..b' },
  { label: '256 characters', raw: `${NAME_255}c` },
];

/** Strings that cannot be tags, as they appear in the request path: TAG_INVALID on a push, an unknown manifest (404) on a lookup. */
const INVALID_TAGS: ReadonlyArray<{ label: string; raw: string }> = [
  { label: '129 characters', raw: 't'.repeat(129) },
  { label: 'leading dash', raw: '-v1' },
  { label: 'leading dot', raw: '.v1' },
  { label: 'plus', raw: 'v1+build' },
  { label: 'percent-encoded plus', raw: 'v1%2Bbuild' },
  { label: 'percent-encoded space', raw: 'v1%20beta' },
  { label: 'unicode', raw: encodeURIComponent('vé') },
  { label: 'dollar', raw: 'v$1' },
  { label: 'tilde', raw: 'v~1' },
  { label: 'at sign', raw: 'v@1' },
];

describeEachDatabase('OCI /v2/ refuses bad input over HTTP', (target) => {
  let instance: TestRegistry;
  let server: RunningServer;
  let port: number;

  const call = (method: string, requestPath: string, options?: SendOptions) => send(port, method, requestPath, options);

  async function startSession(name = REPO): Promise<string> {
    const reply = await call('POST', `/v2/${name}/blobs/uploads/`);
    assert.equal(reply.status, 202, `start upload: ${describeReply(reply)}`);
    const location = reply.headers.location;
    assert.ok(location, 'upload session Location');
    return location;
  }

  async function sessionRange(location: string): Promise<string | undefined> {
    const reply = await call('GET', location);
    assert.equal(reply.status, 204, `upload status: ${describeReply(reply)}`);
    return reply.headers.range;
  }

  before(async () => {
    instance = await openTestRegistry(target);
    server = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: process.env.OCI_TEST_LOG ?? 'silent' }), undefined, { metrics: instance.metrics });
    port = server.address.port;
    for (const content of [CONFIG, LAYER]) {
      const reply = await call('POST', `/v2/${REPO}/blobs/uploads/?digest=${sha256(content)}`, { body: content, headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(reply.status, 201, `seed blob: ${describeReply(reply)}`);
    }
    const put = await call('PUT', `/v2/${REPO}/manifests/v1`, { body: imageManifest(), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(put.status, 201, `seed manifest: ${describeReply(put)}`);
  });

  after(async () => {
    await server?.close();
    await instance?.dispose();
  });

  it('refuses malformed digests with 400 DIGEST_INVALID on every endpoint that takes one', async () => {
    const session = await startSession();
    await expectNothingStored(instance, async () => {
      for (const { label, digest, colon } of MALFORMED_DIGESTS) {
        const at = (what: string) => `${what} with ${label} digest ${JSON.stringify(digest)}`;
        expectError(await call('GET', `/v2/${REPO}/blobs/${digest}`), 400, 'DIGEST_INVALID', at('GET blob'));
        expectHeadError(await call('HEAD', `/v2/${REPO}/blobs/${digest}`), 400, at('HEAD blob'));
        expectError(await call('DELETE', `/v2/${REPO}/blobs/${digest}`), 400, 'DIGEST_INVALID', at('DELETE blob'));
        expectError(await call('GET', `/v2/${REPO}/referrers/${digest}`), 400, 'DIGEST_INVALID', at('GET referrers'));
        expectError(
          await call('POST', `/v2/${REPO}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, { body: LAYER, headers: { 'Content-Type': 'application/octet-stream' } }),
          400,
          'DIGEST_INVALID',
          at('monolithic POST'),
        );
        expectError(await call('PUT', `${session}?digest=${encodeURIComponent(digest)}`), 400, 'DIGEST_INVALID', at('PUT closing an upload'));
        if (colon) {
          expectError(await call('GET', `/v2/${REPO}/manifests/${digest}`), 400, 'DIGEST_INVALID', at('GET manifest'));
          expectHeadError(await call('HEAD', `/v2/${REPO}/manifests/${digest}`), 400, at('HEAD manifest'));
          expectError(await call('DELETE', `/v2/${REPO}/manifests/${digest}`), 400, 'DIGEST_INVALID', at('DELETE manifest'));
          expectError(await call('PUT', `/v2/${REPO}/manifests/${digest}`, { body: imageManifest(), headers: { 'Content-Type': OCI_MANIFEST } }), 400, 'DIGEST_INVALID', at('PUT manifest'));
        }
      }
    });
    assert.equal(await sessionRange(session), '0-0', 'the session is untouched');
  });

  it('never links anything for a mount of a malformed digest (400 DIGEST_INVALID, or the 202 fallback session)', async () => {
    for (const { label, digest } of MALFORMED_DIGESTS) {
      const before = await storedState(instance);
      const reply = await call('POST', `/v2/${REPO}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=other/app`);
      if (reply.status === 202) {
        assert.ok(reply.headers.location, `mount ${label}: a fallback session has a Location`);
      } else {
        expectError(reply, 400, 'DIGEST_INVALID', `mount with ${label} digest`);
      }
      assert.deepEqual((await storedState(instance)).events, before.events, `mount with ${label} digest recorded an event`);
      assert.deepEqual((await storedState(instance)).objects, before.objects, `mount with ${label} digest stored an object`);
    }
  });

  it('refuses invalid repository names with 400 NAME_INVALID on every endpoint', async () => {
    const session = await startSession();
    const sessionId = session.split('/').at(-1)!;
    const digest = sha256(LAYER);
    await expectNothingStored(instance, async () => {
      for (const { label, raw } of INVALID_NAMES) {
        const at = (what: string) => `${what} on name ${label} (${JSON.stringify(raw.slice(0, 40))})`;
        const base = `/v2/${raw}`;
        expectError(await call('GET', `${base}/tags/list`), 400, 'NAME_INVALID', at('GET tags/list'));
        expectError(await call('GET', `${base}/manifests/v1`), 400, 'NAME_INVALID', at('GET manifest'));
        expectHeadError(await call('HEAD', `${base}/manifests/v1`), 400, at('HEAD manifest'));
        expectError(await call('PUT', `${base}/manifests/v1`, { body: imageManifest(), headers: { 'Content-Type': OCI_MANIFEST } }), 400, 'NAME_INVALID', at('PUT manifest'));
        expectError(await call('DELETE', `${base}/manifests/v1`), 400, 'NAME_INVALID', at('DELETE manifest'));
        expectError(await call('GET', `${base}/blobs/${digest}`), 400, 'NAME_INVALID', at('GET blob'));
        expectHeadError(await call('HEAD', `${base}/blobs/${digest}`), 400, at('HEAD blob'));
        expectError(await call('DELETE', `${base}/blobs/${digest}`), 400, 'NAME_INVALID', at('DELETE blob'));
        expectError(await call('POST', `${base}/blobs/uploads/`), 400, 'NAME_INVALID', at('POST upload'));
        expectError(await call('POST', `${base}/blobs/uploads/?digest=${digest}`, { body: LAYER }), 400, 'NAME_INVALID', at('monolithic POST'));
        expectError(await call('POST', `${base}/blobs/uploads/?mount=${digest}&from=${REPO}`), 400, 'NAME_INVALID', at('mount POST'));
        expectError(await call('GET', `${base}/blobs/uploads/${sessionId}`), 400, 'NAME_INVALID', at('GET upload'));
        expectError(await call('PATCH', `${base}/blobs/uploads/${sessionId}`, { body: 'chunk' }), 400, 'NAME_INVALID', at('PATCH upload'));
        expectError(await call('PUT', `${base}/blobs/uploads/${sessionId}?digest=${digest}`), 400, 'NAME_INVALID', at('PUT upload'));
        expectError(await call('DELETE', `${base}/blobs/uploads/${sessionId}`), 400, 'NAME_INVALID', at('DELETE upload'));
        expectError(await call('GET', `${base}/referrers/${digest}`), 400, 'NAME_INVALID', at('GET referrers'));
      }
    });
    assert.equal(await sessionRange(session), '0-0', 'the session is untouched');
  });

  it('answers a path with no name at all as not found (404) or NAME_INVALID, never as a route of the root', async () => {
    for (const requestPath of ['/v2//tags/list', '/v2//manifests/v1', `/v2//blobs/${sha256(LAYER)}`, '/v2//blobs/uploads/']) {
      const reply = await call('GET', requestPath);
      expectError(reply, [400, 404, 405], ['NAME_INVALID', 'NAME_UNKNOWN', 'UNSUPPORTED'], `GET ${requestPath}`);
      if (reply.status === 400) expectError(reply, 400, 'NAME_INVALID', `GET ${requestPath}`);
    }
  });

  it('accepts a 255-character name (the limit) and refuses 256 on push', async () => {
    expectError(await call('GET', `/v2/${NAME_255}/tags/list`), 404, 'NAME_UNKNOWN', 'tags/list of an unknown 255-character name');
    await expectNothingStored(instance, async () => {
      expectError(await call('POST', `/v2/${NAME_255}c/blobs/uploads/?digest=${sha256(CONFIG)}`, { body: CONFIG }), 400, 'NAME_INVALID', 'push to a 256-character name');
    });
  });

  it('refuses over-long and malformed tags with 400 TAG_INVALID on manifest PUT', async () => {
    const body = imageManifest();
    const digest = sha256(body);
    await expectNothingStored(instance, async () => {
      for (const { label, raw } of INVALID_TAGS) {
        expectError(await call('PUT', `/v2/${REPO}/manifests/${raw}`, { body, headers: { 'Content-Type': OCI_MANIFEST } }), 400, 'TAG_INVALID', `PUT manifest tagged ${label}`);
        expectError(
          await call('PUT', `/v2/${REPO}/manifests/${digest}?tag=ok&tag=${raw}`, { body, headers: { 'Content-Type': OCI_MANIFEST } }),
          400,
          'TAG_INVALID',
          `PUT by digest with ?tag= ${label}`,
        );
        expectError(
          await call('PUT', `/v2/${REPO}/manifests/fine?tag=${raw}`, { body, headers: { 'Content-Type': OCI_MANIFEST } }),
          400,
          'TAG_INVALID',
          `PUT by tag with an extra ?tag= ${label}`,
        );
      }
      expectError(await call('PUT', `/v2/${REPO}/manifests/${digest}?tag=`, { body, headers: { 'Content-Type': OCI_MANIFEST } }), 400, 'TAG_INVALID', 'PUT with an empty ?tag=');
    });
  });

  it('answers 404 MANIFEST_UNKNOWN to GET, HEAD and DELETE of a manifest by a string that cannot be a tag', async () => {
    await call('PUT', `/v2/${REPO}/manifests/present`, { body: imageManifest(), headers: { 'Content-Type': OCI_MANIFEST } });
    for (const { label, raw } of INVALID_TAGS) {
      expectError(await call('GET', `/v2/${REPO}/manifests/${raw}`), 404, 'MANIFEST_UNKNOWN', `GET manifest by ${label}`);
      expectError(await call('DELETE', `/v2/${REPO}/manifests/${raw}`), 404, 'MANIFEST_UNKNOWN', `DELETE manifest by ${label}`);
      expectHeadError(await call('HEAD', `/v2/${REPO}/manifests/${raw}`), 404, `HEAD manifest by ${label}`);
    }
  });

  it('accepts a 128-character tag (the limit)', async () => {
    const tag = `_${'T'.repeat(127)}`;
    const reply = await call('PUT', `/v2/${REPO}/manifests/${tag}`, { body: imageManifest(), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(reply.status, 201, describeReply(reply));
    assert.equal((await call('GET', `/v2/${REPO}/manifests/${tag}`)).status, 200);
  });

  describe('a lying Content-Length on a monolithic blob push', () => {
    const content = 'twenty-seven bytes of blob!';
    const digest = sha256(content);

    function head(length: number): string {
      return `POST /v2/${REPO}/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;
    }

    /** The server may answer 400 (SIZE_INVALID, DIGEST_INVALID, BLOB_UPLOAD_INVALID) or drop the connection; never 2xx. */
    function assertRefusedOrCut(outcome: RawOutcome, label: string): void {
      const response = parseRawHead(outcome.bytes);
      if (response === null) return; // connection cut without an answer
      assert.ok(response.status >= 400 && response.status < 500, `${label} — wanted a 4xx or a cut connection, got ${outcome.bytes.toString('latin1').slice(0, 400)}`);
      if (response.headers['content-type']?.startsWith('application/json')) {
        const length = Number(response.headers['content-length'] ?? response.rest.length);
        expectError(
          { status: response.status, headers: response.headers, body: response.rest.subarray(0, length) },
          400,
          ['SIZE_INVALID', 'DIGEST_INVALID', 'BLOB_UPLOAD_INVALID'],
          label,
        );
      }
    }

    async function assertBlobAbsent(): Promise<void> {
      expectHeadError(await call('HEAD', `/v2/${REPO}/blobs/${digest}`), 404, 'the blob of a lying push');
      expectError(await call('GET', `/v2/x${REPO}/blobs/${digest}`), 404, 'BLOB_UNKNOWN', 'the blob of a lying push, anywhere');
    }

    it('declared larger than sent, then the client half-closes: nothing is stored', async () => {
      await expectNothingStored(instance, async () => {
        const outcome = await rawExchange(port, head(content.length + 100) + content, { halfClose: true });
        assertRefusedOrCut(outcome, 'declared larger + half-close');
      });
      await assertBlobAbsent();
    });

    it('declared larger than sent, then the client resets: nothing is stored', async () => {
      await expectNothingStored(instance, async () => {
        await rawExchange(port, head(content.length + 100) + content, { destroyAfterMs: 300 });
      });
      await assertBlobAbsent();
    });

    it('declared smaller than sent (extra bytes that break the next request): nothing is stored', async () => {
      await expectNothingStored(instance, async () => {
        const outcome = await rawExchange(port, head(content.length - 6) + content, { waitMs: 2_000 });
        assertRefusedOrCut(outcome, 'declared smaller, garbage after');
      });
      await assertBlobAbsent();
    });

    it('declared smaller than sent (extra bytes pending as the next request): 400, nothing is stored', async () => {
      // "blob!" cut to "GET" keeps the parser waiting instead of failing at once.
      const body = `${content.slice(0, -5)}GET`;
      await expectNothingStored(instance, async () => {
        const outcome = await rawExchange(port, head(content.length - 5) + body, { waitMs: 2_000 });
        const response = parseRawHead(outcome.bytes);
        assert.ok(response, `declared smaller: the first request deserves an answer, got ${JSON.stringify(outcome)}`);
        assertRefusedOrCut(outcome, 'declared smaller, pending bytes after');
      });
      await assertBlobAbsent();
    });
  });

  it('keeps nothing of a chunk or final chunk whose Content-Length lies (declared larger, client half-closes)', async () => {
    const session = await startSession();
    assert.equal((await call('PATCH', session, { body: 'hello', headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
    await expectNothingStored(instance, async () => {
      for (const [label, request] of [
        ['PATCH', `PATCH ${session} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nworld`],
        ['PATCH with Content-Range', `PATCH ${session} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Range: 5-104\r\nContent-Length: 100\r\n\r\nworld`],
        ['PUT with a final chunk', `PUT ${session}?digest=${sha256('helloworld')} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nworld`],
      ] as const) {
        const outcome = await rawExchange(port, request, { halfClose: true });
        const response = parseRawHead(outcome.bytes);
        assert.ok(response === null || (response.status >= 400 && response.status < 500), `${label} — wanted a 4xx or a cut connection, got ${outcome.bytes.toString('latin1').slice(0, 300)}`);
      }
    });
    assert.equal(await sessionRange(session), '0-4', 'the session holds only the confirmed chunk');
    expectHeadError(await call('HEAD', `/v2/${REPO}/blobs/${sha256('helloworld')}`), 404, 'nothing was published');
  });

  it('handles a client that hangs up mid-download once (nothing falls through to the default handler)', async () => {
    // Larger than loopback socket buffers hold, so the server is still writing when the client goes.
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const pushed = await call('POST', `/v2/${REPO}/blobs/uploads/?digest=${sha256(big)}`, { body: big, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(pushed.status, 201, describeReply(pushed));
    // Blob GETs the server has finished with (answered or abandoned), from its own metrics.
    const blobGetsDone = async (): Promise<number> => {
      const { values } = await instance.metrics.httpRequests.get();
      return values.filter((value) => value.labels.route === '/v2/:name/blobs/:digest' && value.labels.method === 'GET').reduce((sum, value) => sum + value.value, 0);
    };
    const doneBefore = await blobGetsDone();
    const printed: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => {
      printed.push(args.map(String).join(' ').split('\n')[0]!);
    };
    try {
      for (const requestPath of [`/v2/${REPO}/blobs/${sha256(big)}`, `/v2/${REPO}/blobs/${sha256(big)}`]) {
        await new Promise<void>((resolve) => {
          const socket = net.connect(port, '127.0.0.1');
          socket.once('data', () => {
            socket.pause();
            setTimeout(() => socket.destroy(), 100);
          });
          socket.on('error', () => undefined);
          socket.on('close', () => resolve());
          socket.write(`GET ${requestPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        });
      }
      // Synchronise on the server: both downloads recorded as finished (the
      // metrics are written when the response closes), then one more full
      // round trip, so whatever the aborted handlers did next has run.
      const deadline = Date.now() + REQUEST_TIMEOUT_MS;
      while ((await blobGetsDone()) < doneBefore + 2) {
        assert.ok(Date.now() < deadline, 'the server finished both aborted downloads');
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal((await call('GET', '/v2/')).status, 200, 'the server still answers');
    } finally {
      console.error = original;
    }
    assert.deepEqual(printed, [], 'an aborted download must not be routed on to the native 404 handler and express\'s final handler');
  });

  it('refuses a broken Content-Range on PATCH (400 or 416 BLOB_UPLOAD_INVALID) and leaves the session where it was', async () => {
    const session = await startSession();
    const first = await call('PATCH', session, { body: 'hello', headers: { 'Content-Range': '0-4', 'Content-Type': 'application/octet-stream' } });
    assert.equal(first.status, 202, describeReply(first));
    assert.equal(first.headers.range, '0-4');
    await expectNothingStored(instance, async () => {
      const patch = (range: string, body = 'world') => call('PATCH', session, { body, headers: { 'Content-Range': range, 'Content-Type': 'application/octet-stream' } });
      expectError(await patch('abc'), 400, 'BLOB_UPLOAD_INVALID', 'Content-Range: abc');
      expectError(await patch('5-'), 400, 'BLOB_UPLOAD_INVALID', 'Content-Range: 5-');
      expectError(await patch('-5'), 400, 'BLOB_UPLOAD_INVALID', 'Content-Range: -5');
      expectError(await patch('5-2'), [400, 416], 'BLOB_UPLOAD_INVALID', 'Content-Range: 5-2 (ends before it starts)');
      expectError(await patch('5-99999999999999999999'), [400, 416], ['BLOB_UPLOAD_INVALID', 'SIZE_INVALID'], 'Content-Range beyond the safe integers');
      const beyond = await patch('9-13');
      expectError(beyond, 416, 'BLOB_UPLOAD_INVALID', 'Content-Range starting beyond the offset');
      assert.equal(beyond.headers.range, '0-4', '416 reports the current progress in Range');
      expectError(await patch('0-4', 'hello'), 416, 'BLOB_UPLOAD_INVALID', 'Content-Range repeating the first chunk');
      expectError(await patch('5-9', 'abc'), [400, 416], ['SIZE_INVALID', 'BLOB_UPLOAD_INVALID'], 'Content-Range longer than the body');
    });
    assert.equal(await sessionRange(session), '0-4', 'the session still holds exactly the first chunk');
    const done = await call('PUT', `${session}?digest=${sha256('helloworld')}`, { body: 'world', headers: { 'Content-Range': '5-9' } });
    assert.equal(done.status, 201, `the session is still usable: ${describeReply(done)}`);
  });

  it('refuses a body that is not a JSON manifest with 400 MANIFEST_INVALID', async () => {
    const bodies: Array<{ label: string; body: string | Uint8Array }> = [
      { label: 'plain text', body: 'not json' },
      { label: 'empty body', body: '' },
      { label: 'truncated JSON', body: imageManifest().slice(0, 40) },
      { label: 'a JSON array', body: '[]' },
      { label: 'JSON null', body: 'null' },
      { label: 'a JSON string', body: '"manifest"' },
      { label: 'invalid UTF-8', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
      { label: 'random bytes', body: createHash('sha512').update('noise').digest() },
      { label: 'schemaVersion 1', body: imageManifest({ schemaVersion: 1 }) },
      { label: 'layers not an array', body: imageManifest({ layers: {} }) },
    ];
    await expectNothingStored(instance, async () => {
      for (const { label, body } of bodies) {
        expectError(await call('PUT', `/v2/${REPO}/manifests/broken`, { body, headers: { 'Content-Type': OCI_MANIFEST } }), 400, 'MANIFEST_INVALID', `PUT manifest: ${label}`);
      }
    });
    expectError(await call('GET', `/v2/${REPO}/manifests/broken`), 404, 'MANIFEST_UNKNOWN', 'no tag came of it');
  });

  it('refuses a manifest whose JSON escapes decode to an unpaired surrogate with 400 MANIFEST_INVALID, storing nothing', async () => {
    const body = imageManifest({ annotations: { note: 'SURROGATE' } }).replace('"SURROGATE"', '"\\ud800"');
    // Both halves are checked and reported together.
    const problems: string[] = [];
    let reply: Reply | undefined;
    try {
      await expectNothingStored(instance, async () => {
        reply = await call('PUT', `/v2/${REPO}/manifests/surrogate`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
      });
    } catch (error) {
      problems.push((error as Error).message);
    }
    try {
      expectError(reply!, 400, 'MANIFEST_INVALID', 'PUT manifest with a lone surrogate annotation');
    } catch (error) {
      problems.push((error as Error).message);
    }
    assert.equal(problems.length, 0, problems.join('\n'));
  });

  it('refuses a manifest referencing a missing blob or child manifest with 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const missing = 'never pushed';
    const cases: Array<{ label: string; body: string; type: string }> = [
      { label: 'missing layer', body: imageManifest({}, [{ mediaType: LAYER_TYPE, digest: sha256(missing), size: missing.length }]), type: OCI_MANIFEST },
      { label: 'missing config', body: imageManifest({ config: { mediaType: OCI_EMPTY, digest: sha256(missing), size: missing.length } }), type: OCI_MANIFEST },
      {
        label: 'missing child manifest',
        body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(missing), size: missing.length }] }),
        type: OCI_INDEX,
      },
      // The blob exists, but in another repository.
      { label: 'layer of another repository', body: imageManifest({}, [{ mediaType: LAYER_TYPE, digest: sha256(LAYER), size: Buffer.byteLength(LAYER) }]), type: OCI_MANIFEST },
    ];
    await expectNothingStored(instance, async () => {
      for (const { label, body, type } of cases) {
        const name = label === 'layer of another repository' ? 'bad/other' : REPO;
        expectError(await call('PUT', `/v2/${name}/manifests/dangling`, { body, headers: { 'Content-Type': type } }), 400, 'MANIFEST_BLOB_UNKNOWN', `PUT manifest: ${label}`);
      }
    });
  });

  it('refuses a manifest of 4 MiB + 1 byte with 413, with or without a Content-Length, storing nothing', async () => {
    const body = Buffer.alloc(MANIFEST_LIMIT + 1, 0x20);
    Buffer.from(imageManifest()).copy(body);
    await expectNothingStored(instance, async () => {
      expectError(await call('PUT', `/v2/${REPO}/manifests/huge`, { body, headers: { 'Content-Type': OCI_MANIFEST } }), 413, ['SIZE_INVALID', 'MANIFEST_INVALID'], 'PUT 4 MiB + 1 (Content-Length)');
      expectError(await call('PUT', `/v2/${REPO}/manifests/huge`, { body, chunked: true, headers: { 'Content-Type': OCI_MANIFEST } }), 413, ['SIZE_INVALID', 'MANIFEST_INVALID'], 'PUT 4 MiB + 1 (chunked)');
      expectError(await call('PUT', `/v2/${REPO}/manifests/${sha256(body)}`, { body, headers: { 'Content-Type': OCI_MANIFEST } }), 413, ['SIZE_INVALID', 'MANIFEST_INVALID'], 'PUT 4 MiB + 1 by digest');
    });
    expectError(await call('GET', `/v2/${REPO}/manifests/huge`), 404, 'MANIFEST_UNKNOWN', 'no tag came of it');
  });

  it('accepts a manifest of exactly 4 MiB (the size every registry should support)', async () => {
    const body = Buffer.alloc(MANIFEST_LIMIT, 0x20);
    Buffer.from(imageManifest()).copy(body);
    const reply = await call('PUT', `/v2/${REPO}/manifests/four-mib`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(reply.status, 201, describeReply(reply));
    assert.equal(reply.headers['docker-content-digest'], sha256(body));
  });

  it('refuses a digest mismatch on upload completion with 400 DIGEST_INVALID; the blob stays absent', async () => {
    const session = await startSession();
    assert.equal((await call('PATCH', session, { body: 'hello', headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
    const wrong = sha256('not hello');
    await expectNothingStored(instance, async () => {
      expectError(await call('PUT', `${session}?digest=${wrong}`), 400, 'DIGEST_INVALID', 'PUT with the digest of other content');
      expectError(await call('PUT', `${session}?digest=${sha512('not hello')}`), 400, 'DIGEST_INVALID', 'PUT with a sha512 of other content');
      expectError(
        await call('POST', `/v2/${REPO}/blobs/uploads/?digest=${wrong}`, { body: 'hello', headers: { 'Content-Type': 'application/octet-stream' } }),
        400,
        'DIGEST_INVALID',
        'monolithic POST with the digest of other content',
      );
      expectError(
        await call('POST', `/v2/${REPO}/blobs/uploads/?digest=${sha512('not hello')}`, { body: 'hello', headers: { 'Content-Type': 'application/octet-stream' } }),
        400,
        'DIGEST_INVALID',
        'monolithic sha512 POST with the digest of other content',
      );
    });
    for (const digest of [wrong, sha256('hello'), sha512('not hello')]) {
      expectHeadError(await call('HEAD', `/v2/${REPO}/blobs/${digest}`), 404, `blob ${digest} after a mismatch`);
      expectError(await call('GET', `/v2/${REPO}/blobs/${digest}`), 404, 'BLOB_UNKNOWN', `blob ${digest} after a mismatch`);
    }
    // With a final chunk the chunk may be staged, but still nothing is published.
    await expectNothingStored(instance, async () => {
      expectError(await call('PUT', `${session}?digest=${wrong}`, { body: ' world', headers: { 'Content-Type': 'application/octet-stream' } }), 400, 'DIGEST_INVALID', 'PUT with a final chunk and a wrong digest');
    }, { uploads: true });
    expectHeadError(await call('HEAD', `/v2/${REPO}/blobs/${sha256('hello world')}`), 404, 'the blob a final chunk would have completed');
  });

  it('refuses closing an upload without ?digest= (400 DIGEST_INVALID) and keeps the session', async () => {
    const session = await startSession();
    assert.equal((await call('PATCH', session, { body: 'partial', headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
    await expectNothingStored(instance, async () => {
      expectError(await call('PUT', session), 400, 'DIGEST_INVALID', 'PUT without ?digest=');
      expectError(await call('PUT', `${session}?digest=`), 400, 'DIGEST_INVALID', 'PUT with an empty ?digest=');
      expectError(await call('PUT', session, { body: ' more', headers: { 'Content-Type': 'application/octet-stream' } }), 400, 'DIGEST_INVALID', 'PUT with a body but without ?digest=');
    });
    assert.equal(await sessionRange(session), '0-6', 'the session holds only the first chunk');
    assert.equal((await call('PUT', `${session}?digest=${sha256('partial')}`)).status, 201, 'and can still be completed');
  });

  it('answers unknown upload sessions with 404 BLOB_UPLOAD_UNKNOWN', async () => {
    await expectNothingStored(instance, async () => {
      for (const id of [randomUUID(), 'junk', '00000000-0000-0000-0000-000000000000', 'A'.repeat(36), '..', '%2e%2e']) {
        const location = `/v2/${REPO}/blobs/uploads/${id}`;
        expectError(await call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN', `GET session ${id}`);
        expectError(await call('PATCH', location, { body: 'chunk', headers: { 'Content-Type': 'application/octet-stream' } }), 404, 'BLOB_UPLOAD_UNKNOWN', `PATCH session ${id}`);
        expectError(await call('PATCH', location, { body: 'chunk', headers: { 'Content-Range': '0-4' } }), 404, 'BLOB_UPLOAD_UNKNOWN', `PATCH session ${id} with a range`);
        expectError(await call('PUT', `${location}?digest=${sha256('chunk')}`, { body: 'chunk' }), 404, 'BLOB_UPLOAD_UNKNOWN', `PUT session ${id}`);
        expectError(await call('DELETE', location), 404, 'BLOB_UPLOAD_UNKNOWN', `DELETE session ${id}`);
      }
    });
  });

  it('answers an upload session used under another repository name with 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const session = await startSession();
    assert.equal((await call('PATCH', session, { body: 'mine', headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
    const id = session.split('/').at(-1)!;
    await expectNothingStored(instance, async () => {
      for (const other of ['bad/other', 'bad', 'bad/app/sub']) {
        const location = `/v2/${other}/blobs/uploads/${id}`;
        expectError(await call('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN', `GET under ${other}`);
        expectError(await call('PATCH', location, { body: 'theirs', headers: { 'Content-Type': 'application/octet-stream' } }), 404, 'BLOB_UPLOAD_UNKNOWN', `PATCH under ${other}`);
        expectError(await call('PUT', `${location}?digest=${sha256('mine')}`), 404, 'BLOB_UPLOAD_UNKNOWN', `PUT under ${other}`);
        expectError(await call('DELETE', location), 404, 'BLOB_UPLOAD_UNKNOWN', `DELETE under ${other}`);
      }
    });
    assert.equal(await sessionRange(session), '0-3', 'the owner still sees exactly its bytes');
    expectHeadError(await call('HEAD', `/v2/bad/other/blobs/${sha256('mine')}`), 404, 'nothing was completed elsewhere');
    assert.equal((await call('DELETE', session)).status, 204, 'and the owner can cancel it');
  });

  it('answers unsupported methods with 405 UNSUPPORTED and an Allow header', async () => {
    const digest = sha256(LAYER);
    const session = await startSession();
    const cases: Array<{ methods: string[]; path: string; allow: string[] }> = [
      { methods: ['PUT', 'POST', 'DELETE', 'PATCH'], path: '/v2/', allow: ['GET', 'HEAD'] },
      { methods: ['POST', 'PUT', 'DELETE', 'PATCH'], path: '/v2/_catalog', allow: ['GET'] },
      { methods: ['POST', 'PUT', 'DELETE', 'PATCH'], path: `/v2/${REPO}/tags/list`, allow: ['GET'] },
      { methods: ['POST', 'PATCH', 'OPTIONS', 'TRACE'], path: `/v2/${REPO}/manifests/v1`, allow: ['GET', 'HEAD', 'PUT', 'DELETE'] },
      { methods: ['POST', 'PUT', 'PATCH'], path: `/v2/${REPO}/blobs/${digest}`, allow: ['GET', 'HEAD', 'DELETE'] },
      { methods: ['GET', 'PUT', 'PATCH', 'DELETE'], path: `/v2/${REPO}/blobs/uploads/`, allow: ['POST'] },
      { methods: ['POST'], path: session, allow: ['GET', 'PATCH', 'PUT', 'DELETE'] },
      { methods: ['POST', 'PUT', 'DELETE'], path: `/v2/${REPO}/referrers/${digest}`, allow: ['GET'] },
    ];
    await expectNothingStored(instance, async () => {
      for (const { methods, path: requestPath, allow } of cases) {
        for (const method of methods) {
          const label = `${method} ${requestPath}`;
          const reply = await call(method, requestPath, method === 'TRACE' ? {} : { body: '{}', headers: { 'Content-Type': 'application/json' } });
          expectError(reply, 405, 'UNSUPPORTED', label);
          const allowed = String(reply.headers.allow ?? '').split(',').map((item) => item.trim()).filter(Boolean).sort();
          assert.deepEqual(allowed, [...allow].sort(), `${label}: Allow header`);
          assert.ok(!allowed.includes(method), `${label}: Allow must not list the refused method`);
        }
      }
    });
  });

  it('sends no body with HEAD responses, errors included (a pipelined request parses right after the head)', async () => {
    const cases: Array<{ path: string; status: number }> = [
      { path: `/v2/${REPO}/blobs/sha256:${HEX64.toUpperCase()}`, status: 400 },
      { path: `/v2/${REPO}/blobs/${sha256('absent')}`, status: 404 },
      { path: `/v2/${REPO}/manifests/absent`, status: 404 },
      { path: `/v2/${REPO}/manifests/${'t'.repeat(129)}`, status: 404 },
      { path: `/v2/UPPER/manifests/v1`, status: 400 },
      { path: `/v2/${REPO}/tags/list`, status: 200 },
      { path: `/v2/absent/repo/tags/list`, status: 404 },
      { path: `/v2/${REPO}/blobs/uploads/${randomUUID()}`, status: 404 },
      { path: `/v2/${REPO}/nowhere`, status: 404 },
    ];
    for (const { path: requestPath, status } of cases) {
      const outcome = await rawExchange(port, `HEAD ${requestPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      const first = parseRawHead(outcome.bytes);
      assert.ok(first, `HEAD ${requestPath}: no response (${outcome.socketError})`);
      assert.equal(first.status, status, `HEAD ${requestPath}`);
      const second = parseRawHead(first.rest);
      assert.ok(second, `HEAD ${requestPath}: a body followed the head: ${JSON.stringify(first.rest.toString('latin1').slice(0, 200))}`);
      assert.equal(second.status, 200, `the request pipelined behind HEAD ${requestPath}`);
    }
  });

  it('never fails with 5xx on query values a database cannot hold (NUL), nor stores anything', async () => {
    const subject = sha256(imageManifest());
    await expectNothingStored(instance, async () => {
      for (const requestPath of [
        `/v2/${REPO}/tags/list?last=%00`,
        `/v2/${REPO}/tags/list?n=1&last=v%001`,
        '/v2/_catalog?last=%00',
        '/v2/_catalog?n=1&last=bad%00',
        `/v2/${REPO}/referrers/${subject}?artifactType=%00`,
        `/v2/${REPO}/referrers/${subject}?artifactType=application%2Fx%00`,
      ]) {
        const reply = await call('GET', requestPath);
        assert.ok(reply.status === 200 || reply.status === 400, `GET ${requestPath} — wanted 200 (or a 400 envelope), got ${describeReply(reply)}`);
        if (reply.status === 400) envelope(reply, `GET ${requestPath}`);
      }
    });
  });

  // Mocha runs nested suites after the parent's own tests: this one goes last.
  describe('after all of it', () => {
    it('leaves a store that verifies, objects included', async () => {
      const report = await instance.registry.verify({ objects: true });
      assert.equal(report.ok, true, JSON.stringify({ differences: report.viewDifferences.slice(0, 5), problems: report.objects?.problems.slice(0, 5) }));
    });
  });
});
