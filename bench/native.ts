/**
 * `native`: the native REST API (docs/api/native.md) of our real server —
 * the built CLI's `serve` on a fresh SQLite database and storage root in a
 * temp dir, on a free loopback port (bench/native-server.ts) — measured in
 * one run, each figure against a baseline of the same run:
 *
 * - upload: a 1 GiB file of random bytes (written once to a temp file and
 *   streamed from it, never held in memory) through a native upload session
 *   in 8 MiB chunks — `POST /packages`, `POST /packages/{id}/uploads`
 *   (declaring size and SHA-256), 128 × `PATCH` with `Content-Range`
 *   (two in flight: each sent once the previous one is on the wire, as a
 *   throughput-minded client does; ADR 0030), `POST …/complete` — against
 *   the same file through an OCI monolithic push
 *   (`POST /v2/<name>/blobs/uploads/`, then `PUT ?digest=` streaming) on the
 *   same server. Target ≥ 0.9×. Interleaved (native, OCI; then OCI, native),
 *   2 rounds, median, after one untimed 32 MiB warm-up of each path. The
 *   file's last 16 bytes are stamped per run, so every push is content the
 *   server does not hold yet; `sync` runs (untimed) before each timed push
 *   so no run pays for the previous one's writeback. Info rows: server CPU
 *   per run, and the server's time after the last bytes (the sum of the
 *   PATCH tails — last byte sent to response — plus the completion, against
 *   the PUT's tail).
 * - download: `GET /files/{id}/download` of the uploaded 1 GiB file against
 *   a bare `node:http` server in this process (a worker thread) piping
 *   `fs.createReadStream(file, {highWaterMark: 1 MiB})` of the same-sized
 *   source file into the response. Both files are read once (untimed, ours
 *   also checked against its SHA-256) so both are served from the page
 *   cache. Target ≥ 0.85×. Interleaved, 3 rounds, median.
 * - listing: 100,000 packages (bench/native-populate.ts: eight producers
 *   with skewed shares, CI runs of 1–6 packages, run/branch/commit/build/
 *   platform metadata) recorded in-process through the Journal before the
 *   server starts; then sequential keep-alive requests over HTTP: producer
 *   filters (a 3 % and a 40 % producer), `metadata.run=` (a run of 1–6
 *   packages), `metadata.branch=main` (70 % of packages), and cursor paging
 *   through a 10 % producer. p50/p95/p99 per query; target p50 < 5 ms. The
 *   baseline is the unfiltered first page (`GET /packages?limit=100`): the
 *   ratio is a query's p50 over it, i.e. what the filter costs.
 * - events: commit → delivery latency to a long-poll client (`GET
 *   /events?since&wait=30`, re-issued after each page) and an SSE client
 *   (`GET /events/stream`). The writer commits `createPackage`'s two events
 *   per transaction (`Journal.transact`), 2–10 ms apart, 300 transactions
 *   (600 events); the commit time is taken right after the transaction
 *   resolves, the delivery time when the client has parsed the event, one
 *   clock (`performance.now()`) for both. That needs writer and clients in
 *   one process, so this runs against an in-process server (the same
 *   `startServer` the CLI calls) on its own fresh SQLite registry; the
 *   baseline is an in-process `EventLog.tail` of the same commits (the
 *   server's own wake-up and read, without HTTP). Target p99 < 50 ms.
 *   Info rows: the same against the CLI server while the writer is this
 *   process (a second process on the server's SQLite database, as a CLI
 *   `ingest` beside the server is): the server then only learns of commits
 *   by polling.
 *
 * Environment (optional): `NATIVE_BENCH_ONLY=upload,download,listing,events`
 * runs only those scenarios (download needs upload); `NATIVE_BENCH_PACKAGES`
 * overrides the 100,000 packages (for a quick look; the table says so);
 * `NATIVE_BENCH_UPLOAD_ROUNDS` the 2 interleaved upload rounds (more rounds
 * give a steadier median on a noisy host).
 */
import { createHash, randomFillSync, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { openRegistry, type RegistryInstance } from '../src/app.js';
import { DEFAULT_RETENTION_DURATIONS, loadSettings } from '../src/config.js';
import { startServer } from '../src/http/server.js';
import { newId } from '../src/registry/index.js';
import { retentionDefault } from '../src/retention/index.js';
import type { Journal } from '../src/views/index.js';
import { dropPageCache, MiB, median, num, printTable, readIntoCache, secondsSince, times, withTempDir, type Benchmark, type ResultRow } from './lib.js';
import { expectStatus, fileRange, pushMonolithic, send, target, type Target } from './oci-client.js';
import { cpuSeconds, runChecked } from './oci-servers.js';
import { uploadNative, type EventReader, type NativeUpload } from './native-client.js';
import { measureLatency, percentile, type Latencies } from './native-events.js';
import { buildCatalogue, type Catalogue } from './native-populate.js';
import { serverPaths, startBaselineServer, startNativeServer, type NativeServer } from './native-server.js';

const BIG_BYTES = 1024 * MiB;
const CHUNK_BYTES = 8 * MiB;
const WARM_UP_BYTES = 32 * MiB;
const UPLOAD_ROUNDS = Number(process.env.NATIVE_BENCH_UPLOAD_ROUNDS ?? 2);
if (!Number.isSafeInteger(UPLOAD_ROUNDS) || UPLOAD_ROUNDS < 1) throw new Error(`NATIVE_BENCH_UPLOAD_ROUNDS must be a positive integer, got ${process.env.NATIVE_BENCH_UPLOAD_ROUNDS}`);
const DOWNLOAD_ROUNDS = 3;
const UPLOAD_TARGET = 0.9;
const DOWNLOAD_TARGET = 0.85;
const PACKAGES = 100_000;
const LIST_WARMUP = 20;
const LIST_REQUESTS = 300;
const LIST_TARGET_MS = 5;
const EVENT_TRANSACTIONS = 300;
const CROSS_PROCESS_TRANSACTIONS = 250;
const EVENT_PAUSE_MS: readonly [number, number] = [2, 10];
const EVENT_TARGET_MS = 50;
const OCI_REPO = 'bench/native-oci';

const SCENARIOS = ['upload', 'download', 'listing', 'events'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

/**
 * Flushes dirty pages, so a timed run does not pay for the previous run's
 * writeback; where the bench may (root), also drops the page cache earlier
 * runs filled and reads `source` back in, so every run starts from the same
 * memory state. Resolves whether the cache was dropped.
 */
async function settle(source: string): Promise<boolean> {
  await runChecked('sync', []);
  if (!(await dropPageCache())) return false;
  await readIntoCache(source);
  return true;
}

/** The 1 GiB source file: random bytes, the SHA-256 state of all but its last 16, and a way to stamp those. */
interface BigFile {
  readonly file: string;
  readonly size: number;
  /** Writes a 16-byte stamp over the file's last 16 bytes; returns the file's SHA-256 digest. */
  stamp(tag: string): string;
}

function writeBigFile(file: string, size: number): BigFile {
  const prefix: Hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(4 * MiB);
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < size;) {
      const piece = randomFillSync(chunk).subarray(0, Math.min(chunk.length, size - written));
      const hashed = Math.min(piece.length, Math.max(0, size - 16 - written));
      prefix.update(piece.subarray(0, hashed));
      writeSync(fd, piece);
      written += piece.length;
    }
  } finally {
    closeSync(fd);
  }
  return {
    file,
    size,
    stamp(tag) {
      const stamp = Buffer.alloc(16, 0x20);
      stamp.write(tag.slice(0, 16), 'latin1');
      const handle = openSync(file, 'r+');
      try {
        writeSync(handle, stamp, 0, 16, size - 16);
      } finally {
        closeSync(handle);
      }
      return `sha256:${prefix.copy().update(stamp).digest('hex')}`;
    },
  };
}

/** GETs `where` from `base`, hashing the body; resolves with its SHA-256 and length. */
function hashedGet(base: string, where: string): Promise<{ status: number; digest: string; bytes: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http.get(new URL(where, base), (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      response.once('error', reject);
      response.once('end', () => resolve({ status: response.statusCode ?? 0, digest: `sha256:${hash.digest('hex')}`, bytes, headers: response.headers }));
    }).once('error', reject);
  });
}

const rate = (bytes: number, seconds: number): string => `${num(bytes / MiB / seconds, 0)} MiB/s (${seconds.toFixed(2)} s)`;
const spread = (values: readonly number[]): string => `p50 ${num(percentile(values, 50), 2)} ms, p95 ${num(percentile(values, 95), 2)} ms, p99 ${num(percentile(values, 99), 2)} ms`;

/** `createPackage`'s transaction (package created + retention default), recorded directly; resolves with its two sequences right after the commit. */
function packageWriter(journal: Journal): () => Promise<number[]> {
  let n = 0;
  return () => journal.transact(async (tx) => {
    const id = newId();
    const at = new Date();
    n += 1;
    const created = await tx.record({
      type: 'v1.package.created', subjectId: id, actor: 'bench', at,
      payload: { package_id: id, name: `latency-${n}`, producer: 'latency-writer', subject: null, retention_class: 'transient', metadata: { n: String(n) } },
    });
    const retention = retentionDefault('transient', DEFAULT_RETENTION_DURATIONS, at);
    const applied = await tx.record({
      type: 'v1.retention.default_applied', subjectId: id, actor: 'bench', at,
      payload: { package_id: id, retention_class: 'transient', duration_seconds: retention.durationSeconds, expires_at: retention.expiresAt },
    });
    return [created.sequence, applied.sequence];
  });
}

/** An in-process `EventLog.tail` reader, reporting each event as it is yielded. */
function inProcessTail(instance: RegistryInstance) {
  return (since: number, onEvent: (sequence: number, at: number) => void): EventReader => {
    const controller = new AbortController();
    const loop = (async () => {
      let last = since;
      for await (const event of instance.log.tail(since, { signal: controller.signal })) {
        if (event.sequence !== last + 1) throw new Error(`in-process tail: expected ${last + 1}, got ${event.sequence}`);
        last = event.sequence;
        onEvent(event.sequence, performance.now());
      }
    })();
    loop.catch(() => undefined); // reported by stop()
    return { ready: Promise.resolve(), stop: async () => { controller.abort(); await loop; } };
  };
}

export const native: Benchmark = {
  name: 'native',
  summary: 'native REST API: 1 GiB chunked upload vs OCI push, download vs a bare file server, listing at 100,000 packages, event latency',
  async run() {
    const only = (process.env.NATIVE_BENCH_ONLY ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = only.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`NATIVE_BENCH_ONLY names unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
    const wanted = (name: ScenarioName): boolean => only.length === 0 || only.includes(name) || (name === 'upload' && only.includes('download'));
    const packages = Number(process.env.NATIVE_BENCH_PACKAGES ?? PACKAGES);
    if (!Number.isSafeInteger(packages) || packages < 1_000) throw new Error(`NATIVE_BENCH_PACKAGES must be an integer ≥ 1000, got ${process.env.NATIVE_BENCH_PACKAGES}`);

    console.log('building dist/ (npx tsc -p tsconfig.build.json) …');
    await runChecked('npx', ['tsc', '-p', 'tsconfig.build.json']);
    await withTempDir('native', async (dir) => {
      const home = path.join(dir, 'server');
      let catalogue: Catalogue | undefined;
      if (wanted('listing')) catalogue = await populate(home, packages);
      let server: NativeServer | undefined;
      try {
        server = await startNativeServer(home);
        const to = target('artifactstore', server.url);
        try {
          let uploaded: { upload: NativeUpload; big: BigFile } | undefined;
          if (wanted('upload')) uploaded = await measureUploads(dir, server, to);
          if (wanted('download') && uploaded) await measureDownloads(server, to, uploaded.upload, uploaded.big);
          if (catalogue) await measureListing(to, catalogue, packages);
          if (wanted('events')) await measureCrossProcessEvents(home, server);
        } finally {
          to.agent.destroy();
        }
      } finally {
        await server?.stop();
      }
      if (wanted('events')) await measureInProcessEvents(path.join(dir, 'events'));
    });
  },
};

/** Opens the server's (future) database in-process and records the catalogue. */
async function populate(home: string, packages: number): Promise<Catalogue> {
  const { databasePath, storageRoot } = serverPaths(home);
  const settings = loadSettings({ ARTIFACTSTORE_DATABASE_URL: databasePath, ARTIFACTSTORE_STORAGE_LOCAL_ROOT: storageRoot, ARTIFACTSTORE_LOG_LEVEL: 'warn' }, home);
  const instance = await openRegistry(settings);
  try {
    const start = process.hrtime.bigint();
    const catalogue = await buildCatalogue(instance.registry.context.journal, packages);
    const seconds = secondsSince(start);
    console.log(`listing setup: ${num(catalogue.packages)} packages, ${num(catalogue.files)} files, ${num(catalogue.events)} events through the Journal in ${seconds.toFixed(1)} s (${num(catalogue.events / seconds)} events/s)`);
    return catalogue;
  } finally {
    await instance.close();
  }
}

async function measureUploads(dir: string, server: NativeServer, to: Target): Promise<{ upload: NativeUpload; big: BigFile }> {
  const writeStart = process.hrtime.bigint();
  const big = writeBigFile(path.join(dir, 'big.bin'), BIG_BYTES);
  console.log(`upload setup: ${num(BIG_BYTES / MiB)} MiB of random bytes written to a temp file in ${secondsSince(writeStart).toFixed(1)} s`);
  // Untimed warm-up of both paths (JIT, first directories, first session), on a small file.
  const small = writeBigFile(path.join(dir, 'warm-up.bin'), WARM_UP_BYTES);
  const smallDigest = small.stamp(`warm-${process.pid}`);
  await uploadNative(to, small.file, small.size, smallDigest, CHUNK_BYTES, 'native-warm-up');
  await pushMonolithic(to, OCI_REPO, { size: small.size, digest: smallDigest, chunks: () => fileRange(small.file, 0, small.size - 1) });

  type Kind = 'native' | 'oci';
  const seconds: Record<Kind, number[]> = { native: [], oci: [] };
  const cpu: Record<Kind, number[]> = { native: [], oci: [] };
  /** Server work after the last byte: Σ PATCH tails + complete (native; with two PATCHes in flight a tail includes waiting for the previous chunk); the PUT's tail (OCI). */
  const after: Record<Kind, number[]> = { native: [], oci: [] };
  let last: NativeUpload | undefined;
  let dropped = false;
  for (let round = 0; round < UPLOAD_ROUNDS; round += 1) {
    const order: Kind[] = round % 2 === 0 ? ['native', 'oci'] : ['oci', 'native'];
    for (const kind of order) {
      const digest = big.stamp(`${kind}-${round}-${process.pid}`);
      dropped = await settle(big.file);
      const cpuBefore = cpuSeconds(server.pid);
      const start = process.hrtime.bigint();
      if (kind === 'native') {
        last = await uploadNative(to, big.file, big.size, digest, CHUNK_BYTES, `native-upload-${round}`);
        after.native.push(last.patchTailSeconds + last.completeSeconds);
      } else {
        after.oci.push(await pushMonolithic(to, OCI_REPO, { size: big.size, digest, chunks: () => fileRange(big.file, 0, big.size - 1) }));
      }
      seconds[kind].push(secondsSince(start));
      cpu[kind].push(cpuSeconds(server.pid) - cpuBefore);
      console.log(`  upload round ${round + 1}/${UPLOAD_ROUNDS} ${kind}: ${rate(big.size, seconds[kind].at(-1)!)}`);
    }
  }
  const ours = median(seconds.native);
  const theirs = median(seconds.oci);
  const ratio = theirs / ours; // native throughput over OCI's
  const secs = (values: number[]): string => `${median(values).toFixed(2)} s`;
  const memory = dropped ? 'page cache dropped and the source re-read before each run' : 'page cache NOT dropped between runs (needs root): later rounds may read low';
  printTable(`native upload: ${num(BIG_BYTES / MiB)} MiB file, native session in ${CHUNK_BYTES / MiB} MiB chunks vs OCI monolithic PUT, same server, interleaved, median of ${UPLOAD_ROUNDS} rounds (after an untimed ${WARM_UP_BYTES / MiB} MiB warm-up of each; ${memory})`, [
    { measure: `native session: POST package, POST upload, ${Math.ceil(BIG_BYTES / CHUNK_BYTES)} × PATCH, complete`, figure: rate(big.size, ours), baseline: `${rate(big.size, theirs)} OCI POST + PUT ?digest=`, ratio: times(ratio), target: `≥ ${times(UPLOAD_TARGET)}`, pass: ratio >= UPLOAD_TARGET },
    { measure: '  server CPU per run, user+sys (info; ratio native/OCI)', figure: secs(cpu.native), baseline: secs(cpu.oci), ratio: times(median(cpu.native) / median(cpu.oci)) },
    { measure: '  Σ PATCH tails (incl. waiting behind the chunk before) + complete (info)', figure: secs(after.native), baseline: `${secs(after.oci)} PUT tail` },
  ]);
  return { upload: last!, big };
}

async function measureDownloads(server: NativeServer, to: Target, upload: NativeUpload, big: BigFile): Promise<void> {
  const baseline = await startBaselineServer(big.file, big.size);
  const base = target('baseline', baseline.url);
  try {
    // Untimed first reads: both files into the page cache, ours checked byte for byte.
    const check = await hashedGet(server.url, `/files/${upload.fileId}/download`);
    if (check.status !== 200 || check.bytes !== upload.size || check.digest !== upload.digestSha256) {
      throw new Error(`download of ${upload.fileId}: ${check.status}, ${check.bytes} bytes ${check.digest}; expected ${upload.size} bytes ${upload.digestSha256}`);
    }
    expectStatus(base, 'GET baseline', await send(base, 'GET', '/big.bin'), 200);
    const seconds: Record<'ours' | 'baseline', number[]> = { ours: [], baseline: [] };
    const cpu: number[] = [];
    for (let round = 0; round < DOWNLOAD_ROUNDS; round += 1) {
      const order: Array<'ours' | 'baseline'> = round % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
      for (const side of order) {
        const cpuBefore = cpuSeconds(server.pid);
        const start = process.hrtime.bigint();
        const reply = side === 'ours'
          ? expectStatus(to, 'GET download', await send(to, 'GET', `/files/${upload.fileId}/download`), 200)
          : expectStatus(base, 'GET baseline', await send(base, 'GET', '/big.bin'), 200);
        seconds[side].push(secondsSince(start));
        if (side === 'ours') cpu.push(cpuSeconds(server.pid) - cpuBefore);
        if (reply.bytes !== big.size) throw new Error(`${side}: downloaded ${reply.bytes} bytes, expected ${big.size}`);
      }
    }
    const ours = median(seconds.ours);
    const theirs = median(seconds.baseline);
    const ratio = theirs / ours;
    printTable(`native download: ${num(big.size / MiB)} MiB from the page cache, GET /files/{id}/download vs a bare node:http + createReadStream (1 MiB) server, interleaved, median of ${DOWNLOAD_ROUNDS} rounds`, [
      { measure: 'GET /files/{id}/download', figure: rate(big.size, ours), baseline: `${rate(big.size, theirs)} bare file server`, ratio: times(ratio), target: `≥ ${times(DOWNLOAD_TARGET)}`, pass: ratio >= DOWNLOAD_TARGET },
      { measure: '  our server CPU per download, user+sys (info)', figure: `${median(cpu).toFixed(2)} s` },
    ]);
  } finally {
    base.agent.destroy();
    await baseline.stop();
  }
}

interface PackageItem {
  readonly id: string;
  readonly producer: string;
  readonly metadata: Record<string, unknown>;
}
interface PackagePage {
  readonly items: PackageItem[];
  readonly next_cursor: string | null;
}

/** Times `count` sequential GETs (after `LIST_WARMUP` untimed ones) of `where(i)`; checks each page. Milliseconds. */
async function timeListing(to: Target, count: number, where: (i: number) => string, check: (page: PackagePage, i: number) => void): Promise<number[]> {
  const times: number[] = [];
  for (let i = -LIST_WARMUP; i < count; i += 1) {
    const path = where(i + LIST_WARMUP);
    const start = process.hrtime.bigint();
    const reply = await send(to, 'GET', path, { keepBody: true });
    const seconds = secondsSince(start);
    expectStatus(to, `GET ${path}`, reply, 200);
    check(JSON.parse(reply.body.toString('utf8')) as PackagePage, i + LIST_WARMUP);
    if (i >= 0) times.push(seconds * 1000);
  }
  return times;
}

function assertPage(page: PackagePage, what: string, matches: (item: PackageItem) => boolean, expected?: number): void {
  if (page.items.length > 100) throw new Error(`${what}: ${page.items.length} items on a page of 100`);
  if (expected !== undefined && page.items.length !== expected) throw new Error(`${what}: ${page.items.length} items, expected ${expected}`);
  for (let i = 0; i < page.items.length; i += 1) {
    const item = page.items[i]!;
    if (!matches(item)) throw new Error(`${what}: item ${item.id} does not match the filter`);
    if (i > 0 && page.items[i - 1]!.id >= item.id) throw new Error(`${what}: items out of id order`);
  }
}

async function measureListing(to: Target, catalogue: Catalogue, packages: number): Promise<void> {
  const rare = 'sbom-scanner';
  const common = 'ci-main';
  const walked = 'perf-lab';
  const results: Array<{ measure: string; times: number[] }> = [];
  const baseline = await timeListing(to, LIST_REQUESTS, () => '/packages?limit=100', (page) => assertPage(page, 'unfiltered', () => true, 100));
  results.push({
    measure: `producer=${rare} (${num(catalogue.perProducer.get(rare) ?? 0)} packages)`,
    times: await timeListing(to, LIST_REQUESTS, () => `/packages?producer=${rare}&limit=100`, (page) => assertPage(page, rare, (item) => item.producer === rare, Math.min(100, catalogue.perProducer.get(rare) ?? 0))),
  });
  results.push({
    measure: `producer=${common} (${num(catalogue.perProducer.get(common) ?? 0)} packages)`,
    times: await timeListing(to, LIST_REQUESTS, () => `/packages?producer=${common}&limit=100`, (page) => assertPage(page, common, (item) => item.producer === common, Math.min(100, catalogue.perProducer.get(common) ?? 0))),
  });
  const runs = catalogue.runs;
  results.push({
    measure: `metadata.run=<one of ${runs.length} runs> (1–6 packages each)`,
    times: await timeListing(to, LIST_REQUESTS, (i) => `/packages?metadata.run=${runs[i % runs.length]}&limit=100`, (page, i) => {
      assertPage(page, 'metadata.run', (item) => item.metadata.run === runs[i % runs.length]);
      if (page.items.length === 0) throw new Error(`metadata.run=${runs[i % runs.length]} found nothing`);
    }),
  });
  results.push({
    measure: `metadata.branch=main (${num(catalogue.onMain)} packages)`,
    times: await timeListing(to, LIST_REQUESTS, () => '/packages?metadata.branch=main&limit=100', (page) => assertPage(page, 'branch', (item) => item.metadata.branch === 'main', Math.min(100, catalogue.onMain))),
  });
  // Cursor paging: walk every page of one producer, again and again; every page request is timed.
  const expectedWalk = catalogue.perProducer.get(walked) ?? 0;
  const pageTimes: number[] = [];
  let walks = 0;
  while (pageTimes.length < LIST_REQUESTS) {
    let cursor: string | null = null;
    let seen = 0;
    let lastId = '';
    do {
      const where: string = `/packages?producer=${walked}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const start = process.hrtime.bigint();
      const reply = await send(to, 'GET', where, { keepBody: true });
      const seconds = secondsSince(start);
      expectStatus(to, `GET ${where}`, reply, 200);
      const page = JSON.parse(reply.body.toString('utf8')) as PackagePage;
      assertPage(page, `${walked} walk`, (item) => item.producer === walked);
      if (page.items.length > 0 && page.items[0]!.id <= lastId) throw new Error(`${walked} walk: page starts at or before the previous page's end`);
      lastId = page.items.at(-1)?.id ?? lastId;
      seen += page.items.length;
      cursor = page.next_cursor;
      if (walks > 0 || seen > 100) pageTimes.push(seconds * 1000); // the first page of the first walk warms up
    } while (cursor !== null);
    if (seen !== expectedWalk) throw new Error(`${walked} walk: saw ${seen} packages, expected ${expectedWalk}`);
    walks += 1;
  }
  results.push({ measure: `cursor paging: producer=${walked}, ${num(expectedWalk)} packages, ${walks} full walks`, times: pageTimes });

  const base50 = percentile(baseline, 50);
  const rows: ResultRow[] = results.map(({ measure, times: values }) => {
    const p50 = percentile(values, 50);
    return { measure, figure: spread(values), baseline: `p50 ${num(base50, 2)} ms unfiltered`, ratio: times(p50 / base50), target: `p50 < ${LIST_TARGET_MS} ms`, pass: p50 < LIST_TARGET_MS };
  });
  rows.unshift({ measure: 'unfiltered first page (the baseline)', figure: spread(baseline), target: `p50 < ${LIST_TARGET_MS} ms`, pass: base50 < LIST_TARGET_MS });
  const note = packages === PACKAGES ? '' : ` (NATIVE_BENCH_PACKAGES=${packages}, not the specified ${num(PACKAGES)})`;
  printTable(`native listing [sqlite]: GET /packages …&limit=100 over HTTP at ${num(catalogue.packages)} packages${note}, ${LIST_REQUESTS} sequential requests each after ${LIST_WARMUP} warm-ups; ratio = p50 / unfiltered p50`, rows);
}

function latencyRows(result: Latencies, baselineLabel: string | undefined, informational: boolean): ResultRow[] {
  const baseline = baselineLabel ? result.readers.get(baselineLabel) : undefined;
  const rows: ResultRow[] = [];
  for (const [label, values] of result.readers) {
    if (label === baselineLabel) continue;
    const p99 = percentile(values, 99);
    rows.push({
      measure: `${label === 'sse' ? 'SSE GET /events/stream' : 'long poll GET /events?wait=30'}: commit → parsed`,
      figure: `${spread(values)}, max ${num(Math.max(...values), 1)} ms`,
      ...(baseline ? { baseline: `p50 ${num(percentile(baseline, 50), 2)} ms, p99 ${num(percentile(baseline, 99), 2)} ms in-process tail`, ratio: times(p99 / percentile(baseline, 99)) } : {}),
      ...(informational ? {} : { target: `p99 < ${EVENT_TARGET_MS} ms`, pass: p99 < EVENT_TARGET_MS }),
    });
  }
  return rows;
}

/** Writer in this process on the CLI server's SQLite database; readers over HTTP (info). */
async function measureCrossProcessEvents(home: string, server: NativeServer): Promise<void> {
  const { databasePath, storageRoot } = serverPaths(home);
  const settings = loadSettings({ ARTIFACTSTORE_DATABASE_URL: databasePath, ARTIFACTSTORE_STORAGE_LOCAL_ROOT: storageRoot, ARTIFACTSTORE_LOG_LEVEL: 'warn' }, home);
  const instance = await openRegistry(settings, { migrate: false });
  try {
    const since = await instance.log.lastSequence();
    const result = await measureLatency({
      base: new URL(server.url),
      since,
      write: packageWriter(instance.registry.context.journal),
      transactions: CROSS_PROCESS_TRANSACTIONS,
      pauseMs: EVENT_PAUSE_MS,
    });
    printTable(`native events, writer in another process (info): ${result.events} events committed by this process on the CLI server's SQLite database, ${EVENT_PAUSE_MS[0]}–${EVENT_PAUSE_MS[1]} ms apart`, latencyRows(result, undefined, true));
  } finally {
    await instance.close();
  }
}

/** Writer, server and readers in this process, on a fresh SQLite registry. */
async function measureInProcessEvents(home: string): Promise<void> {
  const { databasePath, storageRoot } = serverPaths(home);
  const settings = loadSettings({ ARTIFACTSTORE_DATABASE_URL: databasePath, ARTIFACTSTORE_STORAGE_LOCAL_ROOT: storageRoot, ARTIFACTSTORE_LOG_LEVEL: 'warn' }, home);
  const instance = await openRegistry(settings);
  const running = await startServer(instance.registry, { host: '127.0.0.1', port: 0 }, pino({ level: 'silent' }));
  try {
    const result = await measureLatency({
      base: new URL(`http://127.0.0.1:${running.address.port}`),
      since: await instance.log.lastSequence(),
      write: packageWriter(instance.registry.context.journal),
      transactions: EVENT_TRANSACTIONS,
      pauseMs: EVENT_PAUSE_MS,
      extraReaders: [['in-process', inProcessTail(instance)]],
    });
    printTable(`native events [sqlite]: ${result.events} events (${EVENT_TRANSACTIONS} transactions of createPackage's 2 events, ${EVENT_PAUSE_MS[0]}–${EVENT_PAUSE_MS[1]} ms apart), writer, server and readers in one process; ratio = p99 / in-process tail p99`, latencyRows(result, 'in-process', false));
  } finally {
    await running.close();
    await instance.close();
  }
}

