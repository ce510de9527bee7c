/**
 * The 100,000-package catalogue of the `native` benchmark's listing
 * scenario, recorded in-process through the live write path
 * (`Journal.transact` → `record`, as `createPackage` and `ingestFile` do),
 * ~1000 events per transaction, before the server is started on the same
 * database.
 *
 * The shape imitates a CI fleet: eight producers with skewed shares (the
 * busiest makes 40 % of the packages, the quietest 3 %), each CI run making
 * 1–6 packages that share a `run` metadata value, a branch (70 % `main`),
 * a commit, a build number and a platform; one package in four names a
 * subject; retention classes mixed. One package in three gets 0–4 files
 * (synthetic objects, every 10th file reusing an earlier one), so the
 * listing's per-package file counts and sizes are not trivially empty
 * (fewer files would be less realistic; more make the build, ~1,000–1,500
 * events/s on two cores, take minutes). No bytes are stored for these
 * files: the scenario only reads views.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_RETENTION_DURATIONS } from '../src/config.js';
import { newId } from '../src/registry/index.js';
import { retentionDefault } from '../src/retention/index.js';
import { objectKeyFor } from '../src/storage/object-key.js';
import type { Journal, JournalTransaction } from '../src/views/index.js';

/** Producers and their share of packages (sums to 1). */
export const PRODUCERS: ReadonlyArray<readonly [name: string, share: number]> = [
  ['ci-main', 0.4],
  ['ci-nightly', 0.2],
  ['release', 0.1],
  ['perf-lab', 0.1],
  ['fuzz-farm', 0.08],
  ['docs-site', 0.05],
  ['mobile', 0.04],
  ['sbom-scanner', 0.03],
];
const RETENTION_CLASSES = ['transient', 'transient', 'transient', 'raw-evidence', 'raw-evidence', 'summary-evidence', 'release-evidence'] as const;
const BRANCHES = ['main', 'main', 'main', 'main', 'main', 'main', 'main', 'release/2.x', 'feature/login', 'feature/cache'];
const PLATFORMS = ['linux-amd64', 'linux-arm64', 'darwin-arm64', 'windows-amd64'];
const EVENTS_PER_TRANSACTION = 1_000;
const ACTOR = 'bench';

/** What the listing scenario queries for, known once the catalogue is built. */
export interface Catalogue {
  readonly packages: number;
  readonly events: number;
  readonly files: number;
  /** Packages per producer. */
  readonly perProducer: ReadonlyMap<string, number>;
  /** Some `run` values (each a CI run of 1–6 packages), spread over the catalogue. */
  readonly runs: readonly string[];
  /** Packages whose branch is `main`. */
  readonly onMain: number;
}

/** A small deterministic generator (xorshift32), so every run builds the same catalogue. */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

function pickProducer(random: number): string {
  let sum = 0;
  for (const [name, share] of PRODUCERS) {
    sum += share;
    if (random < sum) return name;
  }
  return PRODUCERS[PRODUCERS.length - 1]![0];
}

interface SyntheticObject {
  readonly address: string;
  readonly sha256: string;
  readonly size: number;
}

/** Records `count` packages (with their files) through `journal`. */
export async function buildCatalogue(journal: Journal, count: number): Promise<Catalogue> {
  const random = generator(0x5eed);
  const perProducer = new Map<string, number>();
  const runs: string[] = [];
  const objects: SyntheticObject[] = [];
  let onMain = 0;
  let files = 0;
  let events = 0;

  // One work item per event, so a transaction can cut between any two.
  type Step = (tx: JournalTransaction) => Promise<unknown>;
  const pending: Step[] = [];
  let made = 0;
  let runIndex = 0;

  const nextObject = (): SyntheticObject => {
    files += 1;
    if (files % 10 === 0 && objects.length > 0) return objects[Math.floor(random() * objects.length)]!;
    const n = objects.length;
    const object = {
      address: `blake3:${createHash('sha256').update(`native-b3-${n}`).digest('hex')}`,
      sha256: `sha256:${createHash('sha256').update(`native-sha-${n}`).digest('hex')}`,
      size: 512 + Math.floor(random() * 8 * 1024 * 1024),
    };
    objects.push(object);
    return object;
  };

  /** Queues the events of one CI run: 1–6 packages of one producer sharing a run id. */
  const queueRun = (): void => {
    const producer = pickProducer(random());
    const run = `run-${String(runIndex).padStart(6, '0')}`;
    runIndex += 1;
    if (runIndex % 97 === 0) runs.push(run);
    const branch = BRANCHES[Math.floor(random() * BRANCHES.length)]!;
    const commit = createHash('sha1').update(run).digest('hex');
    const size = Math.min(1 + Math.floor(random() * 6), count - made);
    for (let i = 0; i < size; i += 1) {
      const id = newId();
      const platform = PLATFORMS[i % PLATFORMS.length]!;
      const retentionClass = RETENTION_CLASSES[Math.floor(random() * RETENTION_CLASSES.length)]!;
      const subject = random() < 0.25 ? `svc-${Math.floor(random() * 200)}` : null;
      const metadata = { run, branch, commit, build: runIndex, platform, ...(i === 0 ? { primary: true } : {}) };
      perProducer.set(producer, (perProducer.get(producer) ?? 0) + 1);
      if (branch === 'main') onMain += 1;
      made += 1;
      const name = `${producer}-${run}-${platform}`;
      pending.push(async (tx) => {
        const at = new Date();
        await tx.record({
          type: 'v1.package.created', subjectId: id, actor: ACTOR, at,
          payload: { package_id: id, name, producer, subject, retention_class: retentionClass, metadata },
        });
      });
      pending.push(async (tx) => {
        const at = new Date();
        const retention = retentionDefault(retentionClass, DEFAULT_RETENTION_DURATIONS, at);
        await tx.record({
          type: 'v1.retention.default_applied', subjectId: id, actor: ACTOR, at,
          payload: { package_id: id, retention_class: retentionClass, duration_seconds: retention.durationSeconds, expires_at: retention.expiresAt },
        });
      });
      const fileCount = random() < 1 / 3 ? Math.floor(random() * 5) : 0;
      for (let f = 0; f < fileCount; f += 1) {
        const object = nextObject();
        pending.push(async (tx) => {
          const fileId = newId();
          await tx.record({
            type: 'v1.file.ingested', subjectId: fileId, actor: ACTOR,
            payload: {
              file_id: fileId, package_id: id, relative_path: `out/${platform}/part-${f}.tar.zst`, media_type: 'application/zstd',
              size: object.size, content_address: object.address, digest_sha256: object.sha256,
              storage: { backend_id: 'local', object_key: objectKeyFor(object.address), retrieval_tier: 'hot' },
            },
          });
        });
      }
    }
  };

  while (made < count || pending.length > 0) {
    while (made < count && pending.length < EVENTS_PER_TRANSACTION) queueRun();
    const batch = pending.splice(0, EVENTS_PER_TRANSACTION);
    await journal.transact(async (tx) => {
      for (const step of batch) await step(tx);
    });
    events += batch.length;
  }
  return { packages: made, events, files, perProducer, runs, onMain };
}
