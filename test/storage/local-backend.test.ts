import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, realpath, rm, stat, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openLocalBackend, STAGING_DIRECTORY, UPLOADS_DIRECTORY, type LocalBackend, type PublishMode } from '../../src/storage/backends/local/index.js';
import { confinedPath } from '../../src/storage/backends/local/paths.js';
import { createBackend } from '../../src/storage/index.js';
import { runBackendSuite, MALFORMED_ADDRESSES } from './backend-suite.js';
import { addressOf, chunked, failingAfter, patternBytes, pausedAfter, rejectsWithCode, throwsWithCode, toArray, watchWaitsFor } from './support.js';
import { MALFORMED_UPLOAD_IDS } from './upload-suite.js';
import { latch } from '../support/latch.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'artifactstore-local-'));
}

function localFactory(publish: PublishMode | 'auto') {
  return async () => {
    const dir = await tempDir();
    const root = path.join(dir, 'storage');
    const backend = await openLocalBackend({ root, publish });
    return {
      backend,
      cleanup: () => rm(dir, { recursive: true, force: true }),
      openAnother: () => openLocalBackend({ root, publish }),
    };
  };
}

runBackendSuite('local (auto publish)', localFactory('auto'));
runBackendSuite('local (rename publish)', localFactory('rename'));

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe('local backend', function () {
  let dir: string;
  let backend: LocalBackend;

  beforeEach(async function () {
    dir = await tempDir();
    backend = await openLocalBackend({ root: path.join(dir, 'storage') });
  });

  afterEach(async function () {
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function store(bytes: Uint8Array): Promise<string> {
    const address = addressOf(bytes);
    await backend.put(await backend.stage(chunked(bytes)), address);
    return address;
  }

  describe('opening', function () {
    it('creates the root and its staging and uploads directories, ids itself local by default', async function () {
      assert.equal(backend.id, 'local');
      assert.equal(backend.root, await realpath(path.join(dir, 'storage')));
      assert.ok((await stat(path.join(backend.root, STAGING_DIRECTORY))).isDirectory());
      assert.ok((await stat(path.join(backend.root, UPLOADS_DIRECTORY))).isDirectory());
    });

    it('uses hard links on a filesystem that has them', function () {
      assert.equal(backend.publishMode, 'link');
    });

    it('takes a configured id', async function () {
      const other = await openLocalBackend({ root: path.join(dir, 'other'), id: 'local-ssd' });
      assert.equal(other.id, 'local-ssd');
      assert.equal((await other.health()).backend, 'local-ssd');
    });

    it('fails with STORAGE_FAILURE when the root cannot be created', async function () {
      const file = path.join(dir, 'a-file');
      await writeFile(file, 'x');
      await rejectsWithCode(openLocalBackend({ root: path.join(file, 'storage') }), 'STORAGE_FAILURE');
    });
  });

  describe('layout on disk', function () {
    it('stores each object at <root>/blake3/ab/cd/<hex> with exactly its bytes', async function () {
      const bytes = patternBytes(70_000, 9);
      const address = await store(bytes);
      const hex = address.slice('blake3:'.length);
      const file = path.join(backend.root, 'blake3', hex.slice(0, 2), hex.slice(2, 4), hex);
      assert.deepEqual(await readFile(file), bytes);
      assert.deepEqual(await filesUnder(backend.root), [path.relative(backend.root, file)]);
    });

    it('keeps staged bytes under .staging until put', async function () {
      const staged = await backend.stage(chunked(patternBytes(500)));
      const files = await filesUnder(backend.root);
      assert.equal(files.length, 1);
      assert.equal(path.dirname(files[0]!), STAGING_DIRECTORY);
      assert.equal((await stat(path.join(backend.root, files[0]!))).size, 500);
      await backend.discard(staged);
      assert.deepEqual(await filesUnder(backend.root), []);
    });

    it('ignores stray files when listing', async function () {
      const address = await store(patternBytes(100));
      const hex = address.slice('blake3:'.length);
      const misplaced = 'ff'.repeat(32);
      await writeFile(path.join(backend.root, 'blake3', 'README'), 'not an object');
      await writeFile(path.join(backend.root, 'blake3', hex.slice(0, 2), hex.slice(2, 4), 'notes.txt'), 'x');
      await mkdir(path.join(backend.root, 'blake3', '00', '00'), { recursive: true });
      await writeFile(path.join(backend.root, 'blake3', '00', '00', misplaced), 'wrong fan-out');
      await mkdir(path.join(backend.root, 'blake3', 'zz'), { recursive: true });
      assert.deepEqual(await toArray(backend.list()), [address]);
    });
  });

  describe('publishing', function () {
    it('with hard links, exactly one of several concurrent puts reports created', async function () {
      const bytes = patternBytes(200_000, 4);
      const address = addressOf(bytes);
      const staged = await Promise.all(Array.from({ length: 8 }, () => backend.stage(chunked(bytes, [40_000]))));
      const outcomes = await Promise.all(staged.map((handle) => backend.put(handle, address)));
      assert.equal(outcomes.filter((outcome) => outcome.created).length, 1);
      assert.deepEqual(await readdir(path.join(backend.root, STAGING_DIRECTORY)), []);
    });

    it('a re-put does not replace the stored file', async function () {
      const bytes = patternBytes(100, 8);
      const address = await store(bytes);
      const hex = address.slice('blake3:'.length);
      const file = path.join(backend.root, 'blake3', hex.slice(0, 2), hex.slice(2, 4), hex);
      const before = await stat(file);
      const again = await backend.put(await backend.stage(chunked(bytes)), address);
      assert.equal(again.created, false);
      assert.equal((await stat(file)).ino, before.ino);
    });
  });

  describe('path confinement', function () {
    const root = path.resolve('/srv/artifactstore/storage');

    it('resolves a well-formed key under the root', function () {
      const key = `blake3/ab/cd/${'ab'.repeat(32)}`;
      assert.equal(confinedPath(root, key), path.join(root, key));
    });

    it('refuses keys that climb out, are absolute, empty, the root itself or contain NUL', function () {
      const escapes = [
        '../outside',
        'blake3/../../outside',
        'blake3/ab/../../../etc/passwd',
        '/etc/passwd',
        '',
        '.',
        'blake3/..',
        'blake3/ab\0/cd',
        '../storage-evil/x',
      ];
      for (const key of escapes) throwsWithCode(() => confinedPath(root, key), 'STORAGE_PATH_INVALID');
    });

    it('accepts a root given with a trailing separator', function () {
      assert.equal(confinedPath(root + path.sep, 'blake3/x'), path.join(root, 'blake3', 'x'));
    });

    it('crafted upload ids never touch anything outside the uploads directory', async function () {
      const victim = path.join(dir, 'victim');
      await writeFile(victim, 'keep me');
      const crafted = [...MALFORMED_UPLOAD_IDS, '../../victim', `../${path.basename(dir)}/victim`];
      for (const id of crafted) {
        await rejectsWithCode(backend.createUpload(id), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(backend.appendUpload(id, 7, chunked(patternBytes(5))), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(backend.deleteUpload(id), 'UPLOAD_ID_INVALID');
        await rejectsWithCode(backend.publishUpload(id, addressOf(Buffer.from('keep me'))), 'UPLOAD_ID_INVALID');
      }
      assert.equal(await readFile(victim, 'utf8'), 'keep me');
      assert.deepEqual(await filesUnder(backend.root), []);
    });

    it('crafted addresses never touch anything outside the root', async function () {
      const outside = path.join(dir, 'outside');
      await mkdir(outside);
      await writeFile(path.join(outside, 'victim'), 'keep me');
      const crafted = [...MALFORMED_ADDRESSES, 'blake3:../outside/victim', `blake3:../../${'0'.repeat(58)}`];
      for (const address of crafted) {
        await rejectsWithCode(backend.delete(address), 'CONTENT_ADDRESS_INVALID');
        await rejectsWithCode(backend.get(address), 'CONTENT_ADDRESS_INVALID');
        const staged = await backend.stage(chunked(patternBytes(5)));
        await rejectsWithCode(backend.put(staged, address), 'CONTENT_ADDRESS_INVALID');
      }
      assert.equal(await readFile(path.join(outside, 'victim'), 'utf8'), 'keep me');
      assert.deepEqual(await readdir(outside), ['victim']);
      assert.deepEqual(await filesUnder(backend.root), []);
    });
  });

  describe('removeStaleStaging', function () {
    it('removes leftover temp files and directories and reports how many', async function () {
      const staging = path.join(backend.root, STAGING_DIRECTORY);
      await writeFile(path.join(staging, 'crashed-1.partial'), patternBytes(1000));
      await writeFile(path.join(staging, 'crashed-2.partial'), '');
      await mkdir(path.join(staging, 'odd-dir', 'nested'), { recursive: true });
      const kept = await store(patternBytes(64, 3));
      assert.equal(await backend.removeStaleStaging(), 3);
      assert.deepEqual(await readdir(staging), []);
      assert.deepEqual(await toArray(backend.list()), [kept]);
    });

    it('spares staging files of other live processes', async function () {
      const staging = path.join(backend.root, STAGING_DIRECTORY);
      const parentAlive = `${process.ppid}-abc.partial`;
      await writeFile(path.join(staging, parentAlive), 'in flight');
      await writeFile(path.join(staging, `${process.pid}-old.partial`), 'ours, from before a restart');
      await writeFile(path.join(staging, '2147483646-dead.partial'), 'no such process');
      assert.equal(await backend.removeStaleStaging(), 2);
      assert.deepEqual(await readdir(staging), [parentAlive]);
    });

    it('recreates a missing staging directory', async function () {
      await rm(path.join(backend.root, STAGING_DIRECTORY), { recursive: true });
      assert.equal(await backend.removeStaleStaging(), 0);
      const staged = await backend.stage(chunked(patternBytes(10)));
      assert.equal(staged.size, 10);
    });
  });

  describe('staged uploads on disk', function () {
    it('keeps an upload at <root>/.uploads/<id> with exactly its bytes, and nothing there once published', async function () {
      const id = randomUUID();
      const bytes = patternBytes(70_000, 90);
      await backend.createUpload(id);
      await backend.appendUpload(id, 0, chunked(bytes, [4096]));
      const file = path.join(backend.root, UPLOADS_DIRECTORY, id);
      assert.deepEqual(await readFile(file), bytes);
      assert.deepEqual(await filesUnder(backend.root), [path.join(UPLOADS_DIRECTORY, id)]);
      const address = addressOf(bytes);
      await backend.publishUpload(id, address);
      assert.deepEqual(await filesUnder(backend.root), [backend.keyFor(address)]);
      assert.deepEqual(await readFile(path.join(backend.root, backend.keyFor(address))), bytes);
    });

    it('keeps every byte a failing source yielded before it failed', async function () {
      const id = randomUUID();
      const bytes = patternBytes(80_000, 91);
      await backend.createUpload(id);
      await backend.appendUpload(id, 0, chunked(bytes.subarray(0, 10)));
      const boom = new Error('connection reset');
      const sent = [bytes.subarray(10, 60_010), bytes.subarray(60_010, 60_020), bytes.subarray(60_020, 80_000)];
      await assert.rejects(backend.appendUpload(id, 10, failingAfter(sent, boom)), (error) => error === boom);
      assert.equal(await backend.uploadSize(id), 80_000);
      assert.deepEqual(await readFile(path.join(backend.root, UPLOADS_DIRECTORY, id)), bytes);
    });

    it('closes every descriptor of an upload once each append settles, whether it succeeded or failed', async function () {
      const id = randomUUID();
      await backend.createUpload(id);
      const file = await realpath(path.join(backend.root, UPLOADS_DIRECTORY, id));
      // Linux lists every open descriptor under /proc/self/fd.
      const openOnFile = async (): Promise<number> => {
        let count = 0;
        for (const fd of await readdir('/proc/self/fd')) {
          try {
            if (readlinkSync(`/proc/self/fd/${fd}`) === file) count += 1;
          } catch {
            // closed between listing and reading
          }
        }
        return count;
      };
      await backend.appendUpload(id, 0, chunked(patternBytes(100_000), [10_000]));
      assert.equal(await openOnFile(), 0, 'after a successful append');
      await rejectsWithCode(backend.appendUpload(id, 5, chunked(patternBytes(10))), 'UPLOAD_OFFSET_MISMATCH');
      assert.equal(await openOnFile(), 0, 'after a refused offset');
      const boom = new Error('connection reset');
      await assert.rejects(backend.appendUpload(id, 100_000, failingAfter([patternBytes(20_000)], boom)), (error) => error === boom);
      assert.equal(await openOnFile(), 0, 'after a failing source');
      // Aborted in the middle of its write.
      const aborted = new AbortController();
      const [reached, resume] = [latch(), latch()];
      const append = backend.appendUpload(id, 120_000, pausedAfter(patternBytes(10), patternBytes(10), reached, resume), aborted.signal);
      await reached.opened;
      aborted.abort();
      resume.open();
      await assert.rejects(append);
      assert.equal(await openOnFile(), 0, 'after an abort mid-write');
    });

    /** Runs `body` with FileHandle's sync and datasync replaced by `sync` (which gets the original and the synced path). */
    async function withSync<T>(sync: (original: () => Promise<void>, synced: string) => Promise<void>, body: () => Promise<T>): Promise<T> {
      // FileHandle is not exported; its prototype is reachable from any handle.
      const probe = await open(backend.root, 'r');
      const prototype = Object.getPrototypeOf(probe) as { sync(): Promise<void>; datasync(): Promise<void> };
      await probe.close();
      const originals = { sync: prototype.sync, datasync: prototype.datasync };
      // Linux names every open descriptor under /proc/self/fd.
      const pathOf = (handle: { fd: number }): string => readlinkSync(`/proc/self/fd/${handle.fd}`);
      prototype.sync = function (this: { fd: number }) {
        return sync(() => originals.sync.call(this), pathOf(this));
      };
      prototype.datasync = function (this: { fd: number }) {
        return sync(() => originals.datasync.call(this), pathOf(this));
      };
      try {
        return await body();
      } finally {
        Object.assign(prototype, originals);
      }
    }

    it('fsyncs each append before acknowledging it, after its last write', async function () {
      const id = randomUUID();
      await backend.createUpload(id);
      const file = path.join(backend.root, UPLOADS_DIRECTORY, id);
      const synced: number[] = [];
      await withSync(
        async (original) => {
          synced.push((await stat(file)).size);
          await original();
        },
        async () => {
          await backend.appendUpload(id, 0, chunked(patternBytes(100_000), [10_000]));
          assert.deepEqual(synced, [100_000], 'one fsync, after the last write');
          await backend.appendUpload(id, 100_000, chunked(patternBytes(10)));
          assert.deepEqual(synced, [100_000, 100_010]);
        },
      );
    });

    it('syncs every directory a put creates and the new entry, side by side, and answers only once all are synced', async function () {
      const bytes = patternBytes(4_000, 3);
      const address = addressOf(bytes);
      const key = backend.keyFor(address);
      const leaf = path.dirname(confinedPath(backend.root, key));
      const middle = path.dirname(leaf);
      const top = path.dirname(middle);
      // A fresh root: the algorithm directory and both fan-out levels are created by this put.
      await assert.rejects(stat(top));
      const synced: string[] = [];
      const pending: Array<() => void> = [];
      // Opened when four directory syncs are in flight at once: the new
      // directories' parents sync while the link and the leaf's sync go ahead.
      const allInFlight = latch();
      let settled = false;
      await withSync(
        async (original, file) => {
          // Directory syncs are held until the put has started all of them.
          if (file.startsWith(backend.root)) {
            const released = new Promise<void>((resolve) => pending.push(resolve));
            if (pending.length === 4) allInFlight.open();
            await released;
          }
          synced.push(file);
          await original();
        },
        async () => {
          const staged = await backend.stage(chunked(bytes));
          synced.length = 0;
          const put = backend.put(staged, address).finally(() => (settled = true));
          await allInFlight.opened;
          assert.equal(settled, false, 'put waits for the directory syncs');
          for (const resolve of pending.splice(0)) resolve();
          assert.deepEqual(await put, { key, created: true });
        },
      );
      assert.deepEqual(synced.sort(), [backend.root, top, middle, leaf].sort(), 'the parent of each new directory and the object directory');
    });

    it('lets the next append write while one syncs; publish and delete wait for the sync', async function () {
      const bytes = patternBytes(300_000, 17);
      for (const finish of ['publish', 'delete'] as const) {
        const id = randomUUID();
        await backend.createUpload(id);
        const gate = latch();
        let syncsStarted = 0;
        const file = path.join(await realpath(backend.root), UPLOADS_DIRECTORY, id);
        await withSync(
          async (original, synced) => {
            // Only the upload file's syncs are held: publishing syncs directories too.
            if (synced === file) {
              syncsStarted++;
              await gate.opened;
            }
            await original();
          },
          async () => {
            const stored: number[] = [];
            const settled: string[] = [];
            const secondStarted = latch();
            let second: Promise<number> | undefined;
            const first = backend.appendUpload(id, 0, chunked(bytes.subarray(0, 100_000), [10_000]), undefined, (size) => {
              stored.push(size);
              second = backend.appendUpload(id, size, chunked(bytes.subarray(100_000), [10_000]), undefined, (next) => stored.push(next));
              void second.then(() => settled.push('second'));
              secondStarted.open();
            });
            void first.then(() => settled.push('first'));
            await secondStarted.opened;
            // The second append writes all its bytes while the first's sync is held.
            while (stored.length < 2) await new Promise((resolve) => setImmediate(resolve));
            assert.deepEqual(stored, [100_000, 300_000]);
            assert.equal(await backend.uploadSize(id), 300_000);
            const watch = watchWaitsFor(file);
            let finishing: Promise<unknown>;
            try {
              finishing = finish === 'publish' ? backend.publishUpload(id, addressOf(bytes)) : backend.deleteUpload(id);
              void finishing.then(() => settled.push(finish));
              // Either it is waiting for the held syncs, or (had it not waited) it is done.
              await Promise.race([watch.waited.opened, finishing]);
            } finally {
              watch.restore();
            }
            assert.deepEqual(settled, [], 'nothing is acknowledged, published or deleted before its sync');
            assert.equal(await backend.uploadSize(id), 300_000, 'the upload is still in place');
            assert.equal(syncsStarted, 2);
            gate.open();
            assert.equal(await first, 100_000);
            assert.equal(await second, 300_000);
            await finishing;
            assert.equal(settled.at(-1), finish, `${finish} settles after both syncs`);
          },
        );
        if (finish === 'publish') assert.deepEqual(await readFile(path.join(backend.root, backend.keyFor(addressOf(bytes)))), bytes);
        else assert.equal(await backend.uploadSize(id), null);
      }
    });

    it('a publish queued behind an append that is still writing waits for its sync', async function () {
      const id = randomUUID();
      const bytes = patternBytes(200_000, 18);
      await backend.createUpload(id);
      const file = path.join(await realpath(backend.root), UPLOADS_DIRECTORY, id);
      const gate = latch();
      const sourceMayFinish = latch();
      const half = latch();
      await withSync(
        async (original, synced) => {
          if (synced === file) await gate.opened;
          await original();
        },
        async () => {
          const settled: string[] = [];
          const appending = backend.appendUpload(id, 0, pausedAfter(bytes.subarray(0, 100_000), bytes.subarray(100_000), half, sourceMayFinish));
          void appending.then(() => settled.push('append'));
          await half.opened;
          // Queued on the upload's lock while the append still writes.
          const watch = watchWaitsFor(file);
          let publishing: Promise<unknown>;
          try {
            publishing = backend.publishUpload(id, addressOf(bytes));
            void publishing.then(() => settled.push('publish'));
            sourceMayFinish.open();
            // Either it is waiting for the held sync, or (had it missed it) it is done.
            await Promise.race([watch.waited.opened, publishing]);
          } finally {
            watch.restore();
          }
          assert.deepEqual(settled, [], 'neither settles before the sync');
          gate.open();
          assert.equal(await appending, 200_000);
          await publishing;
          assert.deepEqual(settled, ['append', 'publish']);
        },
      );
      assert.deepEqual(await readFile(path.join(backend.root, backend.keyFor(addressOf(bytes)))), bytes);
    });

    it('recreates a missing uploads directory when an upload is created', async function () {
      await rm(path.join(backend.root, UPLOADS_DIRECTORY), { recursive: true });
      assert.deepEqual(await toArray(backend.listUploads()), []);
      const id = randomUUID();
      await backend.createUpload(id);
      assert.equal(await backend.uploadSize(id), 0);
    });

    it('lists only files named like uploads', async function () {
      const id = randomUUID();
      await backend.createUpload(id);
      const uploads = path.join(backend.root, UPLOADS_DIRECTORY);
      await writeFile(path.join(uploads, 'README'), 'not an upload');
      await writeFile(path.join(uploads, id.toUpperCase()), 'not an upload either');
      await mkdir(path.join(uploads, randomUUID()));
      assert.deepEqual(
        (await toArray(backend.listUploads())).map((upload) => upload.id),
        [id],
      );
    });

    it('removeStaleStaging never touches .uploads, even files that look like dead writers', async function () {
      const uploads = path.join(backend.root, UPLOADS_DIRECTORY);
      const id = randomUUID();
      await backend.createUpload(id);
      await writeFile(path.join(uploads, '2147483646-dead.partial'), 'not ours to judge');
      assert.equal(await backend.removeStaleStaging(), 0);
      assert.deepEqual((await readdir(uploads)).sort(), [id, '2147483646-dead.partial'].sort());
    });

    it('publishing by hard link gives the object the upload file itself, without a copy', async function () {
      const id = randomUUID();
      const bytes = patternBytes(1000, 92);
      await backend.createUpload(id);
      await backend.appendUpload(id, 0, chunked(bytes));
      const before = await stat(path.join(backend.root, UPLOADS_DIRECTORY, id));
      const address = addressOf(bytes);
      await backend.publishUpload(id, address);
      const after = await stat(path.join(backend.root, backend.keyFor(address)));
      assert.equal(after.ino, before.ino);
      assert.equal(after.nlink, 1, 'the upload name is gone');
    });
  });

  describe('health', function () {
    it('reports the free and total bytes of the filesystem', async function () {
      const health = await backend.health();
      const fs = await statfs(backend.root);
      assert.equal(health.ok, true);
      assert.equal(health.totalBytes, fs.blocks * fs.bsize);
      assert.ok(health.freeBytes !== null && health.freeBytes > 0);
    });

    it('reports not ok, without throwing, when the root is gone', async function () {
      await rm(backend.root, { recursive: true });
      const health = await backend.health();
      assert.equal(health.ok, false);
      assert.equal(health.freeBytes, null);
      assert.match(health.detail ?? '', /ENOENT/);
    });
  });

  describe('failures', function () {
    it('a write into a vanished staging directory is STORAGE_FAILURE and leaves no object', async function () {
      await rm(path.join(backend.root, STAGING_DIRECTORY), { recursive: true });
      await rejectsWithCode(backend.stage(chunked(patternBytes(10))), 'STORAGE_FAILURE');
      assert.deepEqual(await toArray(backend.list()), []);
    });

    it('a read of an object whose fan-out directory is a file is OBJECT_NOT_FOUND', async function () {
      const address = `blake3:${'cd'.repeat(32)}`;
      await mkdir(path.join(backend.root, 'blake3'), { recursive: true });
      await writeFile(path.join(backend.root, 'blake3', 'cd'), 'not a directory');
      await rejectsWithCode(backend.get(address), 'OBJECT_NOT_FOUND');
      assert.equal(await backend.head(address), null);
      assert.equal(await backend.delete(address), false);
    });
  });
});

describe('storage backend factory', function () {
  it('opens a local backend by kind', async function () {
    const dir = await tempDir();
    try {
      const backend = await createBackend({ kind: 'local', root: path.join(dir, 's'), id: 'disk-1' });
      assert.equal(backend.id, 'disk-1');
      const bytes = patternBytes(10);
      const outcome = await backend.put(await backend.stage(chunked(bytes)), addressOf(bytes));
      assert.equal(outcome.created, true);
      await backend.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown kind with CONFIG_INVALID', async function () {
    await rejectsWithCode(createBackend({ kind: 'tape' } as never), 'CONFIG_INVALID');
    await rejectsWithCode(createBackend({ kind: 'toString' } as never), 'CONFIG_INVALID');
    await rejectsWithCode(createBackend(null as never), 'CONFIG_INVALID');
  });
});
