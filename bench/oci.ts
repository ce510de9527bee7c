/**
 * `oci`: our OCI Distribution API (`/v2/`, the real CLI `serve` on a fresh
 * SQLite database and storage root) against CNCF distribution 2.8 (Debian's
 * `docker-registry`, filesystem storage, delete enabled) on the same machine,
 * driven by the same client code (`bench/oci-client.ts`: Node `http`,
 * keep-alive agent, bodies streamed from pre-generated buffers or from a
 * file — the 1 GiB blob is never held in memory).
 *
 * Fair baseline: distribution is the reference implementation of the API
 * and what operators would run instead. Each scenario runs interleaved —
 * ours, theirs, ours, theirs … — for ROUNDS rounds and each figure is the
 * median round; the ratio is our throughput over theirs. Every push is of
 * content neither registry holds yet (each run stamps its own 16 bytes into
 * the blob), and `sync` runs (untimed) before every timed push or pull, so
 * neither side pays for the other's dirty pages. Both fsync what they store
 * before acknowledging it (distribution's filesystem driver syncs every file
 * it commits); ours also fsyncs directories and commits to SQLite.
 *
 * Info rows under each scenario: the server's CPU time per run (user +
 * system, all threads, from /proc/<pid>/stat; the ratio there is ours over
 * theirs, lower is better) — on this 2-core machine, shared with the client,
 * CPU per byte or per request is what bounds throughput — and how long its
 * threads sat runnable waiting for a CPU (schedstat; large when other work
 * shares the machine); for pushes, also how long each registry took after
 * the last byte was sent.
 *
 * The listing scenarios run first, on 500 repositories (one with 2,000
 * tags), so the catalog holds exactly 500. Distribution 2.8 ignores `n` and
 * `last` on tag lists and returns all tags in one page; the tag walk
 * measures the time to get all 2,000 tags either way (following `Link`
 * until there is none) and says how many pages each took; since the page
 * sizes differ (20 pages of 100 against one of 2,000) it is informational,
 * and the targeted tag-list row compares the same page on both sides: all
 * 2,000 tags in one GET.
 *
 * Our server's peak RSS is measured during the 1 GiB push (VmHWM reset
 * through /proc/<pid>/clear_refs just before, plus VmRSS polled every 20 ms).
 *
 * Environment (optional): `OCI_BENCH_ONLY=push-1m,get,…` runs only the named
 * scenarios (names in SCENARIOS below; the 500-repository setup only when a
 * listing scenario is among them);
 * `OCI_BENCH_CPU_PROF=<dir>` starts our server under `node --cpu-prof` and
 * leaves the profile in <dir>.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  MANIFEST_ACCEPT,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_MANIFEST,
  StampedBuffer,
  expectStatus,
  mountBlob,
  parallel,
  pullBlob,
  pushChunked,
  pushMonolithic,
  putManifest,
  send,
  stampedFile,
  target,
  walkPages,
  type Target,
} from './oci-client.js';
import { cpuSeconds, ensureDistribution, peakRssDuring, runChecked, runQueueSeconds, startDistribution, startOurs, type Server } from './oci-servers.js';
import { MiB, median, num, printTable, secondsSince, times, withTempDir, type Benchmark, type ResultRow } from './lib.js';

const ROUNDS = 3;
/** Rounds of the scenarios whose runs take a second or less (more rounds, steadier medians). */
const SHORT_ROUNDS = 5;
const SMALL_COUNT = 50; // 1 MiB blobs
const BIG_MIB = 64;
const HUGE_MIB = 1024; // the 1 GiB blob
const CHUNKED_MIB = 256;
const CHUNK_MIB = 8;
const MANIFEST_PUTS = 200;
const MANIFEST_READS = 5_000;
const READ_CLIENTS = 16;
const TAGS = 2_000;
const REPOSITORIES = 500;
const PAGE = 100;
const WALKS_PER_RUN = 10;
const SETUP_CLIENTS = 16;
const TARGET_RSS_MB = 200; // 10^6 bytes

const LIST_REPO = 'bench/tags';
const SMALL_REPO = 'bench/small';
const BIG_REPO = 'bench/big';
const CHUNKED_REPO = 'bench/chunked';
const MANIFEST_REPO = (round: number): string => `bench/manifests-r${round}`;

/** Scenario names for OCI_BENCH_ONLY. */
const SCENARIOS = ['tags', 'tags-all', 'catalog', 'push-1m', 'push-64m', 'push-1g', 'chunked', 'pull-64m', 'pull-1g', 'manifest-put', 'get', 'head'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

type SideKey = 'ours' | 'theirs';
interface Side {
  readonly key: SideKey;
  readonly server: Server;
  readonly target: Target;
}

/** What setup leaves behind for the scenarios, per side. */
interface Fixture {
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
  bigDigest?: string;
  hugeDigest?: string;
  manifests: { tag: string; digest: string; size: number }[];
}

interface Measured {
  readonly name: ScenarioName;
  readonly measure: string;
  /** Work per run in `unit` (MiB, requests, tags …). */
  readonly work: number;
  readonly unit: string;
  /** Least ratio that passes; undefined for an informational row. */
  readonly target?: number;
  /** Rounds of the scenario (ROUNDS unless the runs are short). */
  readonly rounds?: number;
  /** Times a run repeats the work: its time and CPU are divided by it (default 1). */
  readonly repeats?: number;
  readonly ours: number[];
  readonly theirs: number[];
  /** CPU seconds (user + system) the server used per run. */
  readonly cpu: Record<SideKey, number[]>;
  /** Seconds the server's threads waited for a CPU per run. */
  readonly runq: Record<SideKey, number[]>;
}

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function imageManifest(fixture: Fixture, annotations: Record<string, string>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: fixture.config.digest, size: fixture.config.size },
      layers: fixture.layers.map((layer) => ({ mediaType: OCI_LAYER, digest: layer.digest, size: layer.size })),
      annotations,
    }),
  );
}

/** Pushes a small blob whole (setup only). */
async function pushSmall(to: Target, repo: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  await pushMonolithic(to, repo, { size: bytes.length, digest, chunks: async function* () { yield bytes; } });
  return { digest, size: bytes.length };
}

/**
 * A config and four layers in LIST_REPO; with `listings`, also 500
 * repositories: LIST_REPO holding 2,000 tags of one manifest over them, the
 * 499 others one small manifest each (a repository exists for both
 * registries once it holds a manifest).
 */
async function setup(side: Side, listings: boolean): Promise<Fixture> {
  const to = side.target;
  const config = await pushSmall(to, LIST_REPO, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
  const layers = [];
  for (let i = 0; i < 4; i += 1) layers.push(await pushSmall(to, LIST_REPO, randomBytes(4096)));
  const fixture: Fixture = { config, layers, manifests: [] };
  if (!listings) return fixture;
  const base = imageManifest(fixture, { 'org.example.bench': 'listing' });
  await parallel(TAGS, SETUP_CLIENTS, async (i) => {
    await putManifest(to, LIST_REPO, `t${String(i).padStart(4, '0')}`, base);
  });
  const minimal: Fixture = { config, layers: layers.slice(0, 1), manifests: [] };
  const small = imageManifest(minimal, { 'org.example.bench': 'catalog' });
  await parallel(REPOSITORIES - 1, SETUP_CLIENTS, async (i) => {
    const repo = `bench/catalog/r${String(i).padStart(3, '0')}`;
    await mountAll(to, minimal, repo);
    await putManifest(to, repo, 'latest', small);
  });
  return fixture;
}

async function mountAll(to: Target, fixture: Fixture, repo: string): Promise<void> {
  for (const blob of [fixture.config, ...fixture.layers]) await mountBlob(to, repo, blob.digest, LIST_REPO);
}

/** Flushes dirty pages, so a timed run does not pay for the previous run's writeback. */
const settle = (): Promise<void> => runChecked('sync', []);

async function timedRun(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return secondsSince(start);
}

/** Writes `bytes` of random data to `file` in 4 MiB pieces, returning the SHA-256 state of its content. */
function writeRandomFile(file: string, bytes: number): ReturnType<typeof createHash> {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(4 * MiB);
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < bytes; ) {
      const piece = randomFillSync(chunk).subarray(0, Math.min(chunk.length, bytes - written));
      hash.update(piece);
      writeSync(fd, piece);
      written += piece.length;
    }
  } finally {
    closeSync(fd);
  }
  return hash;
}

function formatRate(work: number, unit: string, seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const rate = work / seconds;
  const time = seconds < 1 ? `${num(seconds * 1000, 1)} ms` : `${seconds.toFixed(2)} s`;
  return `${num(rate, rate < 100 ? 1 : 0)} ${unit}/s (${time})`;
}

export const oci: Benchmark = {
  name: 'oci',
  summary: 'OCI /v2/ push, pull, manifests and listings vs CNCF distribution 2.8',
  async run() {
    const only = (process.env.OCI_BENCH_ONLY ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = only.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`OCI_BENCH_ONLY names unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
    const wanted = (name: ScenarioName): boolean => only.length === 0 || only.includes(name);
    const profileDir = process.env.OCI_BENCH_CPU_PROF;

    console.log(`building dist/ (npx tsc -p tsconfig.build.json) … (load average ${os.loadavg().map((value) => value.toFixed(1)).join(' ')} on ${os.availableParallelism()} CPUs)`);
    await runChecked('npx', ['tsc', '-p', 'tsconfig.build.json']);
    const unavailable = await ensureDistribution();
    if (unavailable) console.log(`${unavailable}: skipping the comparison, measuring ours only`);

    await withTempDir('oci', async (dir) => {
      const sides: Side[] = [];
      try {
        const ours = await startOurs(path.join(dir, 'ours'), profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : []);
        sides.push({ key: 'ours', server: ours, target: target('artifactstore', ours.url) });
        if (!unavailable) {
          const theirs = await startDistribution(path.join(dir, 'theirs'));
          sides.push({ key: 'theirs', server: theirs, target: target('distribution', theirs.url) });
        }
        await measureAll(dir, sides, wanted, unavailable);
      } finally {
        for (const side of sides) side.target.agent.destroy();
        for (const side of sides) await side.server.stop();
      }
    });
    if (profileDir) console.log(`CPU profile of our server written to ${path.resolve(profileDir)}`);
  },
};

async function measureAll(dir: string, sides: Side[], wanted: (name: ScenarioName) => boolean, unavailable: string | null): Promise<void> {
  const fixtures = new Map<SideKey, Fixture>();
  const setupStart = process.hrtime.bigint();
  const listings = wanted('tags') || wanted('tags-all') || wanted('catalog');
  const setupTimes: string[] = [];
  for (const side of sides) {
    const start = process.hrtime.bigint();
    fixtures.set(side.key, await setup(side, listings));
    setupTimes.push(`${side.key} ${secondsSince(start).toFixed(1)} s`);
  }
  console.log(`setup: ${listings ? `${REPOSITORIES} repositories, ${TAGS} tags` : 'a config and 4 layers'} on each registry in ${secondsSince(setupStart).toFixed(1)} s (${setupTimes.join(', ')})`);

  const results: Measured[] = [];
  let rss: { peak: number[]; idle: number[]; theirsPeak: number[] } = { peak: [], idle: [], theirsPeak: [] };
  const pages: Partial<Record<'tags' | 'catalog', Record<SideKey, number>>> = {};
  /** Client-side breakdowns of the timed runs (info rows under their scenario): label → seconds per run, per side. */
  const parts = new Map<string, { scenario: ScenarioName } & Record<SideKey, number[]>>();
  const part = (scenario: ScenarioName, label: string, side: Side, seconds: number): void => {
    const entry = parts.get(label) ?? { scenario, ours: [], theirs: [] };
    entry[side.key].push(seconds);
    parts.set(label, entry);
  };

  /** Runs `run` (which returns its timed seconds) interleaved — ours, theirs, ours, theirs … — for the spec's rounds. */
  async function interleaved(spec: Omit<Measured, 'ours' | 'theirs' | 'cpu' | 'runq'>, run: (side: Side, round: number) => Promise<number>): Promise<void> {
    if (!wanted(spec.name)) return;
    const seconds: Record<SideKey, number[]> = { ours: [], theirs: [] };
    const cpu: Record<SideKey, number[]> = { ours: [], theirs: [] };
    const runq: Record<SideKey, number[]> = { ours: [], theirs: [] };
    const repeats = spec.repeats ?? 1;
    for (let round = 0; round < (spec.rounds ?? ROUNDS); round += 1) {
      for (const side of sides) {
        const cpuBefore = cpuSeconds(side.server.pid);
        const runqBefore = runQueueSeconds(side.server.pid);
        seconds[side.key].push((await run(side, round)) / repeats);
        cpu[side.key].push((cpuSeconds(side.server.pid) - cpuBefore) / repeats);
        runq[side.key].push((runQueueSeconds(side.server.pid) - runqBefore) / repeats);
      }
    }
    const show = (values: number[]): string => values.map((s) => (s < 1 ? `${(s * 1000).toFixed(1)}ms` : `${s.toFixed(2)}s`)).join(' ');
    console.log(`  ${spec.measure}: ours ${show(seconds.ours)}${seconds.theirs.length > 0 ? ` | distribution ${show(seconds.theirs)}` : ''}`);
    results.push({ ...spec, ours: seconds.ours, theirs: seconds.theirs, cpu, runq });
  }

  // Listings (first, so the catalog holds exactly the setup's repositories).
  // Distribution 2.8 ignores `n` on tag lists: its "walk" is one page of
  // 2,000 while ours is 20 pages of 100, so that row is informational. The
  // targeted comparison is the same page size on both sides: all 2,000 tags
  // in one GET.
  await interleaved({ rounds: SHORT_ROUNDS, name: 'tags', measure: `tag list walk, ${num(TAGS)} tags, n=${PAGE} + Link (per walk; info: distribution ignores n)`, work: TAGS, unit: 'tags', repeats: WALKS_PER_RUN }, async (side) => {
    let walk = { items: [] as string[], pages: 0 };
    const seconds = await timedRun(async () => {
      for (let i = 0; i < WALKS_PER_RUN; i += 1) walk = await walkPages(side.target, `/v2/${LIST_REPO}/tags/list?n=${PAGE}`, 'tags');
    });
    if (walk.items.length !== TAGS || new Set(walk.items).size !== TAGS) throw new Error(`${side.target.label}: tag walk gave ${walk.items.length} tags (${new Set(walk.items).size} distinct), expected ${TAGS}`);
    pages.tags = { ...(pages.tags ?? { ours: 0, theirs: 0 }), [side.key]: walk.pages };
    return seconds;
  });
  await interleaved({ rounds: SHORT_ROUNDS, name: 'tags-all', measure: `tag list, all ${num(TAGS)} tags in one GET (same page on both sides)`, work: TAGS, unit: 'tags', target: 1.0, repeats: WALKS_PER_RUN }, async (side) => {
    let walk = { items: [] as string[], pages: 0 };
    const seconds = await timedRun(async () => {
      for (let i = 0; i < WALKS_PER_RUN; i += 1) walk = await walkPages(side.target, `/v2/${LIST_REPO}/tags/list`, 'tags');
    });
    if (walk.items.length !== TAGS || walk.pages !== 1) throw new Error(`${side.target.label}: unpaged tag list gave ${walk.items.length} tags in ${walk.pages} pages`);
    return seconds;
  });
  await interleaved({ rounds: SHORT_ROUNDS, name: 'catalog', measure: `catalog walk, ${REPOSITORIES} repos, n=${PAGE} + Link (per walk)`, work: REPOSITORIES, unit: 'repos', target: 1.0, repeats: WALKS_PER_RUN }, async (side) => {
    let walk = { items: [] as string[], pages: 0 };
    const seconds = await timedRun(async () => {
      for (let i = 0; i < WALKS_PER_RUN; i += 1) walk = await walkPages(side.target, `/v2/_catalog?n=${PAGE}`, 'repositories');
    });
    if (walk.items.length !== REPOSITORIES || new Set(walk.items).size !== REPOSITORIES) throw new Error(`${side.target.label}: catalog walk gave ${walk.items.length} repositories, expected ${REPOSITORIES}`);
    pages.catalog = { ...(pages.catalog ?? { ours: 0, theirs: 0 }), [side.key]: walk.pages };
    return seconds;
  });

  // Monolithic pushes.
  const smallPool = randomFillSync(Buffer.allocUnsafe(SMALL_COUNT * MiB));
  const smalls = Array.from({ length: SMALL_COUNT }, (_, i) => new StampedBuffer(smallPool.subarray(i * MiB, (i + 1) * MiB)));
  await interleaved({ rounds: SHORT_ROUNDS, name: 'push-1m', measure: `monolithic push 1 MiB ×${SMALL_COUNT} (POST + PUT ?digest=)`, work: SMALL_COUNT, unit: 'MiB', target: 1.0 }, async (side, round) => {
    await settle();
    return timedRun(async () => {
      for (let i = 0; i < smalls.length; i += 1) await pushMonolithic(side.target, SMALL_REPO, smalls[i]!.stamp(`${side.key}${round}-${i}`));
    });
  });

  const big = new StampedBuffer(randomFillSync(Buffer.allocUnsafe(BIG_MIB * MiB)));
  await interleaved({ rounds: SHORT_ROUNDS, name: 'push-64m', measure: `monolithic push ${BIG_MIB} MiB`, work: BIG_MIB, unit: 'MiB', target: 1.5 }, async (side, round) => {
    const blob = big.stamp(`${side.key}${round}`);
    await settle();
    let tail = 0;
    const seconds = await timedRun(async () => (tail = await pushMonolithic(side.target, BIG_REPO, blob)));
    part('push-64m', `  ${BIG_MIB} MiB push: last byte sent → 201 (info)`, side, tail);
    fixtures.get(side.key)!.bigDigest = blob.digest;
    return seconds;
  });

  const hugeFile = path.join(dir, 'huge.bin');
  const hugeFileSize = HUGE_MIB * MiB - 16; // + the 16-byte stamp = 1 GiB
  if (wanted('push-1g') || wanted('pull-1g')) {
    const hugeStart = process.hrtime.bigint();
    const hugePrefix = writeRandomFile(hugeFile, hugeFileSize);
    console.log(`  (wrote and hashed the ${HUGE_MIB} MiB source file in ${secondsSince(hugeStart).toFixed(1)} s)`);
    const pushHuge = async (side: Side, round: number): Promise<number> => {
      const blob = stampedFile(hugeFile, hugeFileSize, hugePrefix, `${side.key}${round}`);
      await settle();
      let tail = 0;
      const measured = await peakRssDuring(side.server.pid, () => timedRun(async () => (tail = await pushMonolithic(side.target, BIG_REPO, blob))));
      part('push-1g', `  1 GiB push: last byte sent → 201 (info)`, side, tail);
      if (side.key === 'ours') {
        rss.peak.push(measured.peakBytes);
        rss.idle.push(measured.idleBytes);
      } else {
        rss.theirsPeak.push(measured.peakBytes);
      }
      fixtures.get(side.key)!.hugeDigest = blob.digest;
      return measured.result;
    };
    if (wanted('push-1g')) {
      await interleaved({ name: 'push-1g', measure: `monolithic push 1 GiB (streamed from a file)`, work: HUGE_MIB, unit: 'MiB', target: 1.5 }, pushHuge);
    } else {
      for (const side of sides) await pushHuge(side, 0); // something to pull
      rss = { peak: [], idle: [], theirsPeak: [] };
    }
  }

  const chunked = new StampedBuffer(randomFillSync(Buffer.allocUnsafe(CHUNKED_MIB * MiB)));
  await interleaved({ name: 'chunked', measure: `chunked push ${CHUNKED_MIB} MiB, ${CHUNK_MIB} MiB PATCHes + Content-Range`, work: CHUNKED_MIB, unit: 'MiB', target: 1.5 }, async (side, round) => {
    const blob = { ...chunked.stamp(`${side.key}${round}`), bytes: chunked.bytes };
    await settle();
    let breakdown = { patchTail: 0, closeSeconds: 0 };
    const seconds = await timedRun(async () => (breakdown = await pushChunked(side.target, CHUNKED_REPO, blob, CHUNK_MIB * MiB)));
    part('chunked', `  chunked: sum of PATCH last byte → 202 (info)`, side, breakdown.patchTail);
    part('chunked', `  chunked: closing PUT ?digest= (info)`, side, breakdown.closeSeconds);
    return seconds;
  });

  // Pulls of what each side stored.
  if (wanted('pull-64m') && !wanted('push-64m')) {
    for (const side of sides) {
      const blob = big.stamp(`${side.key}pull`);
      await pushMonolithic(side.target, BIG_REPO, blob);
      fixtures.get(side.key)!.bigDigest = blob.digest;
    }
  }
  await interleaved({ rounds: SHORT_ROUNDS, name: 'pull-64m', measure: `pull ${BIG_MIB} MiB`, work: BIG_MIB, unit: 'MiB', target: 1.0 }, async (side) => {
    await settle();
    return timedRun(() => pullBlob(side.target, BIG_REPO, fixtures.get(side.key)!.bigDigest!, BIG_MIB * MiB));
  });
  await interleaved({ name: 'pull-1g', measure: `pull 1 GiB`, work: HUGE_MIB, unit: 'MiB', target: 1.0 }, async (side) => {
    await settle();
    return timedRun(() => pullBlob(side.target, BIG_REPO, fixtures.get(side.key)!.hugeDigest!, HUGE_MIB * MiB));
  });

  // Manifests: PUTs into a fresh repository per round, then reads of round 0's.
  const needManifests = wanted('manifest-put') || wanted('get') || wanted('head');
  const putManifests = async (side: Side, round: number): Promise<number> => {
    const fixture = fixtures.get(side.key)!;
    const repo = MANIFEST_REPO(round);
    await mountAll(side.target, fixture, repo);
    const bodies = Array.from({ length: MANIFEST_PUTS }, (_, i) => imageManifest(fixture, { 'org.example.bench': `${side.key}-${round}-${i}` }));
    const tags = bodies.map((_, i) => `m${String(i).padStart(3, '0')}`);
    const digests: string[] = [];
    const seconds = await timedRun(async () => {
      for (let i = 0; i < bodies.length; i += 1) digests.push(await putManifest(side.target, repo, tags[i]!, bodies[i]!));
    });
    digests.forEach((digest, i) => {
      if (digest !== sha256(bodies[i]!)) throw new Error(`${side.target.label}: manifest ${i} stored as ${digest}, expected ${sha256(bodies[i]!)}`);
    });
    if (round === 0) fixture.manifests = digests.map((digest, i) => ({ tag: tags[i]!, digest, size: bodies[i]!.length }));
    return seconds;
  };
  if (wanted('manifest-put')) {
    await interleaved({ rounds: SHORT_ROUNDS, name: 'manifest-put', measure: `manifest PUT ×${MANIFEST_PUTS} (distinct, by tag, sequential)`, work: MANIFEST_PUTS, unit: 'req', target: 1.0 }, putManifests);
  } else if (needManifests) {
    for (const side of sides) await putManifests(side, 0);
  }

  await interleaved({ name: 'get', measure: `manifest GET by tag ×${num(MANIFEST_READS)}, ${READ_CLIENTS} clients`, work: MANIFEST_READS, unit: 'req', target: 1.5 }, async (side) => {
    const manifests = fixtures.get(side.key)!.manifests;
    return timedRun(() =>
      parallel(MANIFEST_READS, READ_CLIENTS, async (i) => {
        const manifest = manifests[i % manifests.length]!;
        const reply = expectStatus(side.target, 'GET manifest', await send(side.target, 'GET', `/v2/${MANIFEST_REPO(0)}/manifests/${manifest.tag}`, { headers: { accept: MANIFEST_ACCEPT } }), 200);
        if (reply.bytes !== manifest.size) throw new Error(`${side.target.label}: manifest ${manifest.tag} came back with ${reply.bytes} bytes, expected ${manifest.size}`);
      }),
    );
  });
  await interleaved({ name: 'head', measure: `manifest HEAD by digest ×${num(MANIFEST_READS)}, ${READ_CLIENTS} clients`, work: MANIFEST_READS, unit: 'req', target: 1.5 }, async (side) => {
    const manifests = fixtures.get(side.key)!.manifests;
    return timedRun(() =>
      parallel(MANIFEST_READS, READ_CLIENTS, async (i) => {
        const manifest = manifests[i % manifests.length]!;
        const reply = expectStatus(side.target, 'HEAD manifest', await send(side.target, 'HEAD', `/v2/${MANIFEST_REPO(0)}/manifests/${manifest.digest}`, { headers: { accept: MANIFEST_ACCEPT } }), 200);
        if (reply.headers['docker-content-digest'] !== manifest.digest) throw new Error(`${side.target.label}: HEAD ${manifest.digest} answered ${String(reply.headers['docker-content-digest'])}`);
      }),
    );
  });

  // The table.
  const compared = unavailable === null;
  const seconds = (values: number[]): string => (values.length === 0 ? '—' : `${(median(values) * 1000).toFixed(1)} ms`);
  const rows: ResultRow[] = results.flatMap((result) => [scenarioRow(result), ...partRows(result)]);
  function partRows(result: Measured): ResultRow[] {
    const duration = (value: number): string => (value < 1 ? `${num(value * 1000, 1)} ms` : `${value.toFixed(2)} s`);
    const perUnit = (cpuValues: number[], runqValues: number[]): string => {
      if (cpuValues.length === 0) return '—';
      const cpu = median(cpuValues);
      const each = (1000 * cpu) / result.work;
      return `${duration(cpu)} = ${num(each, each < 0.1 ? 4 : each < 10 ? 2 : 1)} ms/${result.unit.replace(/s$/, '')}; runq ${duration(median(runqValues))}`;
    };
    const cpu: ResultRow = {
      measure: '  server CPU per run; runq = waiting for a CPU (info)',
      figure: perUnit(result.cpu.ours, result.runq.ours),
      ...(compared ? { baseline: perUnit(result.cpu.theirs, result.runq.theirs), ratio: `CPU ${times(median(result.cpu.ours) / median(result.cpu.theirs))}` } : {}),
    };
    const scenario = result.name;
    return [cpu, ...[...parts]
      .filter(([, values]) => values.scenario === scenario)
      .map(([label, values]) => ({ measure: label, figure: seconds(values.ours), ...(compared ? { baseline: seconds(values.theirs) } : {}) }))];
  }
  function scenarioRow(result: Measured): ResultRow {
    const ours = median(result.ours);
    const figure = formatRate(result.work, result.unit, ours);
    const goal = result.target === undefined ? {} : { target: `≥ ${times(result.target)}` };
    if (!compared) return { measure: result.measure, figure, ...goal };
    const theirs = median(result.theirs);
    const ratio = theirs / ours; // our throughput over theirs
    const pass = result.target === undefined ? undefined : ratio >= result.target;
    // Three decimals where two would show a failing ratio as the target itself.
    const shown = pass === false && times(ratio) === times(result.target!) ? `${ratio.toFixed(3)}×` : times(ratio);
    return { measure: result.measure, figure, baseline: formatRate(result.work, result.unit, theirs), ratio: shown, ...goal, ...(pass === undefined ? {} : { pass }) };
  }
  if (rss.peak.length > 0) {
    const peakMB = Math.max(...rss.peak) / 1e6;
    rows.push({
      measure: `our peak RSS during the 1 GiB push (max of ${rss.peak.length} runs)`,
      figure: `${num(peakMB)} MB (idle before: ${num(Math.max(...rss.idle) / 1e6)} MB)`,
      ...(rss.theirsPeak.length > 0 ? { baseline: `${num(Math.max(...rss.theirsPeak) / 1e6)} MB distribution` } : {}),
      target: `< ${TARGET_RSS_MB} MB`,
      pass: peakMB < TARGET_RSS_MB,
    });
  }
  if (pages.tags) rows.push({ measure: 'tag walk pages (ours / distribution)', figure: `${pages.tags.ours} / ${compared ? pages.tags.theirs : '—'}`, ratio: 'distribution 2.8 ignores n/last on tags' });
  if (pages.catalog) rows.push({ measure: 'catalog walk pages (ours / distribution)', figure: `${pages.catalog.ours} / ${compared ? pages.catalog.theirs : '—'}` });
  const title = compared
    ? `oci: artifactstore vs distribution 2.8 (docker-registry), interleaved, median of ${SHORT_ROUNDS} rounds (${ROUNDS} for the long scenarios); ratio = our throughput / theirs`
    : `oci: artifactstore only (${unavailable}), median of ${SHORT_ROUNDS} rounds (${ROUNDS} for the long scenarios)`;
  printTable(title, rows);
  const load = os.loadavg().map((value) => value.toFixed(1)).join(' ');
  console.log(`load average at the end: ${load} on ${os.availableParallelism()} CPUs${os.loadavg()[0]! > os.availableParallelism() ? ' — the machine was busy with other work; runq rows show how much it slowed each server' : ''}`);
}
