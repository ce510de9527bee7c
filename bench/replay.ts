/**
 * `replay`: `replayViews` (clear every view, re-project the whole log in one
 * transaction) over a realistic 200,000-event SQLite log, then
 * `verifyViews` (replay into memory and compare with the tables).
 *
 * The log is built through the live write path (`Journal.transact` →
 * `record`, ~1000 events per transaction) with synthetic but valid events:
 * packages (created + retention default), 40 files each (every 20th reuses
 * an earlier object, so `insertIfAbsent` is exercised), and a real manifest
 * (`buildManifest`) finalizing 9 packages out of 10.
 *
 * The target is absolute (≥ 50,000 events/s). The ratio is against a bare
 * scan of the same log (`forEachEvent` with a no-op visitor: paging, digest
 * checks), i.e. the share of replay that is reading rather than projecting
 * and writing. A second line measures the floor: SQLite inserting the same
 * view rows with nothing else to do (`bench/replay-floor.ts`), which bounds
 * what any replay of this log can reach on this machine.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { openRegistry } from '../src/app.js';
import { DEFAULT_RETENTION_DURATIONS, loadSettings } from '../src/config.js';
import { buildManifest, type CanonicalValue, type ManifestFile, type StorageReceipt } from '../src/manifest/index.js';
import { newId } from '../src/registry/index.js';
import { retentionDefault } from '../src/retention/index.js';
import { objectKeyFor } from '../src/storage/object-key.js';
import { forEachEvent, replayViews, verifyViews, type Journal, type JournalTransaction } from '../src/views/index.js';
import { measureInsertFloor } from './replay-floor.js';
import { num, printTable, timed, times, withTempDir, type Benchmark } from './lib.js';

const TOTAL_EVENTS = 200_000;
const EVENTS_PER_TRANSACTION = 1_000;
const FILES_PER_PACKAGE = 40;
const REUSE_EVERY = 20;
const TARGET = 50_000;
const ACTOR = 'bench';

interface SyntheticObject {
  readonly address: string;
  readonly sha256: string;
  readonly size: number;
  createdAt?: string;
}

/** A package being built: what its manifest will need. */
interface OpenPackage {
  readonly id: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly files: ManifestFile[];
  readonly receipts: StorageReceipt[];
  readonly finalize: boolean;
  retentionApplied: boolean;
  lastSequence: number;
}

/** Records the log one event per `step`, so transactions can cut anywhere. */
class LogBuilder {
  private readonly objects: SyntheticObject[] = [];
  private current: OpenPackage | undefined;
  private packages = 0;
  private files = 0;

  async step(tx: JournalTransaction): Promise<void> {
    const pkg = this.current;
    if (!pkg) {
      const id = newId();
      const at = new Date();
      const stored = await tx.record({
        type: 'v1.package.created', subjectId: id, actor: ACTOR, at,
        payload: { package_id: id, name: `bench-${this.packages}`, producer: 'bench', subject: null, retention_class: 'transient', metadata: { build: String(this.packages) } },
      });
      const retention = retentionDefault('transient', DEFAULT_RETENTION_DURATIONS, at);
      this.current = {
        id, createdAt: stored.createdAt, expiresAt: retention.expiresAt, files: [], receipts: [],
        finalize: this.packages % 10 !== 9, retentionApplied: false, lastSequence: stored.sequence,
      };
      this.packages += 1;
    } else if (!pkg.retentionApplied) {
      const retention = retentionDefault('transient', DEFAULT_RETENTION_DURATIONS, new Date(pkg.createdAt));
      const stored = await tx.record({
        type: 'v1.retention.default_applied', subjectId: pkg.id, actor: ACTOR, at: new Date(pkg.createdAt),
        payload: { package_id: pkg.id, retention_class: 'transient', duration_seconds: retention.durationSeconds, expires_at: retention.expiresAt },
      });
      pkg.retentionApplied = true;
      pkg.lastSequence = stored.sequence;
    } else if (pkg.files.length < FILES_PER_PACKAGE) {
      const object = this.nextObject();
      const file: ManifestFile = {
        relative_path: `dir-${pkg.files.length % 4}/file-${pkg.files.length}.bin`,
        media_type: 'application/octet-stream',
        size: object.size,
        content_address: object.address,
        digest_sha256: object.sha256,
      };
      const fileId = newId();
      const storage = { backend_id: 'local', object_key: objectKeyFor(object.address), retrieval_tier: 'hot' };
      const stored = await tx.record({
        type: 'v1.file.ingested', subjectId: fileId, actor: ACTOR,
        payload: { file_id: fileId, package_id: pkg.id, ...file, storage },
      });
      object.createdAt ??= stored.createdAt;
      pkg.files.push(file);
      pkg.receipts.push({ content_address: object.address, backend: 'local', object_key: storage.object_key, retrieval_tier: 'hot', stored_at: object.createdAt });
      pkg.lastSequence = stored.sequence;
    } else {
      this.current = undefined;
      if (!pkg.finalize) return this.step(tx);
      const at = new Date();
      const manifest = buildManifest({
        package: { id: pkg.id, name: `bench-${this.packages - 1}`, producer: 'bench', subject: null, retention_class: 'transient', metadata: { build: String(this.packages - 1) }, created_at: pkg.createdAt },
        files: pkg.files,
        storage_receipts: pkg.receipts,
        retention_summary: { retention_class: 'transient', expires_at: pkg.expiresAt },
        provenance: { actor: ACTOR, finalized_at: at.toISOString(), event_sequence: pkg.lastSequence },
      });
      await tx.record({ type: 'v1.package.finalized', subjectId: pkg.id, actor: ACTOR, at, payload: manifest as unknown as CanonicalValue });
    }
  }

  /** A new object, or every REUSE_EVERY-th file an earlier one. */
  private nextObject(): SyntheticObject {
    this.files += 1;
    if (this.files % REUSE_EVERY === 0 && this.objects.length > 0) return this.objects[(this.files * 7919) % this.objects.length]!;
    const n = this.objects.length;
    const object: SyntheticObject = {
      address: `blake3:${createHash('sha256').update(`b3-${n}`).digest('hex')}`,
      sha256: `sha256:${createHash('sha256').update(`sha-${n}`).digest('hex')}`,
      size: 1024 + (n % 4096) * 512,
    };
    this.objects.push(object);
    return object;
  }

  get counts(): { packages: number; objects: number } {
    return { packages: this.packages, objects: this.objects.length };
  }
}

/** Records `total` events through `journal`, ~1000 per transaction. */
export async function buildLog(journal: Journal, total: number): Promise<{ packages: number; objects: number }> {
  const builder = new LogBuilder();
  for (let recorded = 0; recorded < total;) {
    const batch = Math.min(EVENTS_PER_TRANSACTION, total - recorded);
    await journal.transact(async (tx) => {
      for (let i = 0; i < batch; i += 1) await builder.step(tx);
    });
    recorded += batch;
  }
  return builder.counts;
}

export const replay: Benchmark = {
  name: 'replay',
  summary: 'replayViews + verifyViews over a 200,000-event SQLite log',
  async run() {
    await withTempDir('replay', async (dir) => {
      const settings = loadSettings({ ARTIFACTSTORE_DATABASE_URL: 'db/bench.db', ARTIFACTSTORE_STORAGE_LOCAL_ROOT: 'storage', ARTIFACTSTORE_LOG_LEVEL: 'warn' }, dir);
      const instance = await openRegistry(settings);
      try {
        const { journal } = instance.registry.context;
        const build = await timed(() => buildLog(journal, TOTAL_EVENTS));
        const events = await instance.log.count();
        if (events !== TOTAL_EVENTS) throw new Error(`built ${events} events, expected ${TOTAL_EVENTS}`);

        const scan = await timed(() => forEachEvent(instance.db.knex, async () => undefined));
        const replayed = await timed(() => replayViews(instance.db));
        const verified = await timed(() => verifyViews(instance.db));
        if (!verified.result.ok) throw new Error(`verifyViews after replay found differences: ${JSON.stringify(verified.result.differences.slice(0, 3))}`);
        const floor = measureInsertFloor(path.join(dir, 'db', 'bench.db'), dir);

        const perSecond = (seconds: number): number => events / seconds;
        const { packages, objects } = build.result;
        printTable(`replay [sqlite]: ${num(events)} events (${num(packages)} packages, ${num(objects)} distinct objects)`, [
          { measure: 'replayViews events/s', figure: `${num(perSecond(replayed.seconds))} (${replayed.seconds.toFixed(2)} s)`, baseline: `${num(perSecond(scan.seconds))} (bare log scan)`, ratio: times(scan.seconds / replayed.seconds), target: `≥ ${num(TARGET)}/s`, pass: perSecond(replayed.seconds) >= TARGET },
          { measure: `  SQLite alone: the ${num(floor.rows)} view rows inserted + COMMIT, nothing decoded (floor)`, figure: `${floor.seconds.toFixed(2)} s → ceiling ${num(perSecond(floor.seconds))} events/s`, baseline: `${replayed.seconds.toFixed(2)} s replayViews`, ratio: times(floor.seconds / replayed.seconds) },
          { measure: 'verifyViews events/s', figure: `${num(perSecond(verified.seconds))} (${verified.seconds.toFixed(2)} s, ${num(verified.result.rowsCompared)} rows, ok)`, baseline: `${num(perSecond(scan.seconds))} (bare log scan)`, ratio: times(scan.seconds / verified.seconds) },
          { measure: 'building the log (Journal, 1000/tx) events/s', figure: `${num(perSecond(build.seconds))} (${build.seconds.toFixed(1)} s)` },
        ]);
      } finally {
        await instance.close();
      }
    });
  },
};
