/**
 * `gc`: online garbage-collection throughput (docs/adr/0020) on SQLite and
 * the local backend. 2,000 objects of 32 KiB are ingested into packages;
 * the packages holding half of them are deleted, and one `collectGarbage`
 * pass with a zero grace period scans, claims, re-checks and removes those
 * 1,000 objects (one `v1.object.deleted` each). The baseline is the same
 * number of raw `deleteObject` calls on the data plane in the same run —
 * the floor for removing the bytes alone — so the ratio is the share of the
 * raw delete rate GC keeps after its scan, claims, re-checks and events.
 */
import { randomBytes } from 'node:crypto';
import { openRegistry } from '../src/app.js';
import { loadSettings } from '../src/config.js';
import { MiB, num, printTable, timed, times, withTempDir, type Benchmark } from './lib.js';

const OBJECTS = 2_000;
const SIZE = 32 * 1024;
const PER_PACKAGE = 100;
const ACTOR = 'bench';

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export const gc: Benchmark = {
  name: 'gc',
  summary: 'online GC: objects/s and MiB/s reclaimed by one pass, against raw backend deletes',
  run: async () => {
    await withTempDir('gc', async (dir) => {
      const settings = loadSettings({ ARTIFACTSTORE_DATABASE_URL: 'db/bench.db', ARTIFACTSTORE_STORAGE_LOCAL_ROOT: 'storage', ARTIFACTSTORE_LOG_LEVEL: 'warn' }, dir);
      const instance = await openRegistry(settings);
      try {
        const registry = instance.registry;
        const doomed: string[] = [];
        for (let p = 0; p < OBJECTS / PER_PACKAGE; p++) {
          const pkg = await registry.createPackage({ name: `bench-${p}`, producer: 'bench', retentionClass: 'transient', metadata: {} }, ACTOR);
          for (let f = 0; f < PER_PACKAGE; f++) {
            await registry.ingestFile(pkg.id, { relativePath: `f${f}.bin`, mediaType: 'application/octet-stream' }, once(randomBytes(SIZE)), ACTOR);
          }
          if (p % 2 === 0) doomed.push(pkg.id);
        }
        await registry.sweepRetention(new Date(Date.now() + 8 * 86_400_000));
        for (const id of doomed) await registry.deletePackage(id, 'bench', ACTOR);
        const pass = await timed(() => registry.collectGarbage({ graceSeconds: 0 }));
        const report = pass.result;
        if (report.deleted !== OBJECTS / 2) throw new Error(`GC removed ${report.deleted} objects, expected ${OBJECTS / 2}`);
        const verified = await registry.verify({ objects: true });
        if (!verified.ok || (verified.objects?.unreferenced.length ?? 0) > 0) throw new Error('the store does not verify after GC');

        // Baseline: the same number of raw deletes through the data plane.
        const raw: string[] = [];
        for (let i = 0; i < OBJECTS / 2; i++) raw.push((await instance.dataPlane.ingestStream(once(randomBytes(SIZE)))).contentAddress);
        const deletes = await timed(async () => {
          for (const address of raw) await instance.dataPlane.deleteObject(address);
        });
        const scan = await timed(() => registry.collectGarbage({ graceSeconds: 0 }));

        const gcRate = report.deleted / pass.seconds;
        const rawRate = raw.length / deletes.seconds;
        printTable(`gc: ${num(report.deleted)} of ${num(OBJECTS)} objects (${SIZE / 1024} KiB) unreferenced, SQLite + local`, [
          { measure: 'objects reclaimed/s (one pass)', figure: num(gcRate), baseline: `${num(rawRate)} raw deletes/s`, ratio: times(gcRate / rawRate) },
          { measure: 'MiB reclaimed/s', figure: num(report.bytes / MiB / pass.seconds, 1), baseline: num((raw.length * SIZE) / MiB / deletes.seconds, 1), ratio: times(gcRate / rawRate) },
          { measure: 'pass duration', figure: `${num(pass.seconds * 1000)} ms` },
          { measure: `idle pass over ${num(OBJECTS / 2)} referenced objects`, figure: `${num(scan.seconds * 1000, 1)} ms` },
        ]);
      } finally {
        await instance.close();
      }
    });
  },
};
