import { strict as assert } from 'node:assert';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EarlyWriteback } from '../../src/storage/backends/local/writeback.js';

describe('storage/local writeback', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'writeback-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs in the background once enough bytes were handed on, one sync at a time, and settles before close', async () => {
    const handle = await open(path.join(dir, 'file'), 'w');
    let asked = 0;
    const writeback = new EarlyWriteback(() => {
      asked += 1;
      return handle.fd;
    }, 1024);
    await handle.write(Buffer.alloc(600, 1));
    writeback.wrote(600);
    assert.equal(asked, 0, 'below the threshold nothing is synced');
    await handle.write(Buffer.alloc(600, 2));
    writeback.wrote(600);
    assert.equal(asked, 1, 'the threshold starts a sync');
    writeback.wrote(5000);
    assert.ok(asked <= 2);
    await writeback.settle();
    writeback.wrote(2048);
    await writeback.settle();
    await handle.close();
    const bytes = await readFile(path.join(dir, 'file'));
    assert.equal(bytes.length, 1200);
    assert.equal(bytes[0], 1);
    assert.equal(bytes[1199], 2);
  });

  it('retries on the next write while the stream has no descriptor yet, and skips a closed one', async () => {
    let asked = 0;
    const writeback = new EarlyWriteback(() => {
      asked += 1;
      return null;
    }, 10);
    writeback.wrote(100);
    writeback.wrote(1);
    assert.equal(asked, 2, 'no descriptor: the bytes stay counted and the next write asks again');
    await writeback.settle();
    const closed = new EarlyWriteback(() => -1, 10);
    closed.wrote(100);
    await closed.settle();
  });
});
