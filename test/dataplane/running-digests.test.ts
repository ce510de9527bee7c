import { strict as assert } from 'node:assert';
import { DualDigestHasher } from '../../src/identity/index.js';
import { RunningDigests, type RunningDigest } from '../../src/dataplane/running-digests.js';

function entry(size = 0): RunningDigest {
  return { hasher: new DualDigestHasher(), size };
}

describe('RunningDigests', function () {
  it('take removes and returns an entry', function () {
    const cache = new RunningDigests(3);
    const a = entry();
    cache.put('a', a);
    assert.equal(cache.take('a'), a);
    assert.equal(cache.take('a'), undefined);
    assert.equal(cache.size, 0);
  });

  it('evicts the least recently put entry beyond its capacity', function () {
    const cache = new RunningDigests(2);
    cache.put('a', entry());
    cache.put('b', entry());
    cache.put('a', entry(1)); // a is now the most recent
    cache.put('c', entry());
    assert.equal(cache.size, 2);
    assert.equal(cache.take('b'), undefined, 'b was the least recently used');
    assert.equal(cache.take('a')?.size, 1);
    assert.ok(cache.take('c'));
  });

  it('keeps nothing with capacity 0', function () {
    const cache = new RunningDigests(0);
    cache.put('a', entry());
    assert.equal(cache.size, 0);
    assert.equal(cache.take('a'), undefined);
  });

  it('delete and clear forget entries', function () {
    const cache = new RunningDigests(5);
    for (const id of ['a', 'b', 'c']) cache.put(id, entry());
    cache.delete('b');
    assert.equal(cache.take('b'), undefined);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});
