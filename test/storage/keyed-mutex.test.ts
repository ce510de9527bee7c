import { strict as assert } from 'node:assert';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KeyedMutex } from '../../src/storage/index.js';

describe('KeyedMutex', function () {
  it('runs the tasks of one key one at a time, in call order', async function () {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    let running = 0;
    const task = (name: string) => async () => {
      running++;
      assert.equal(running, 1, `${name} runs alone`);
      events.push(`${name} start`);
      await nextTurn();
      await nextTurn();
      events.push(`${name} end`);
      running--;
      return name;
    };
    const results = await Promise.all(['a', 'b', 'c'].map((name) => mutex.run('k', task(name))));
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(events, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('runs tasks of different keys concurrently', async function () {
    const mutex = new KeyedMutex();
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = mutex.run('a', () => blocker);
    // Would never settle if key b waited for key a.
    assert.equal(await mutex.run('b', async () => 'b done'), 'b done');
    release();
    await first;
  });

  it('a failing task rejects its caller and does not block the next', async function () {
    const mutex = new KeyedMutex();
    const boom = new Error('boom');
    const failing = mutex.run('k', async () => {
      await nextTurn();
      throw boom;
    });
    const next = mutex.run('k', async () => 'next');
    await assert.rejects(failing, (error) => error === boom);
    assert.equal(await next, 'next');
  });

  it('forgets a key once nobody holds or waits for it', async function () {
    const mutex = new KeyedMutex();
    const pending = [mutex.run('a', () => nextTurn()), mutex.run('a', () => nextTurn()), mutex.run('b', () => nextTurn())];
    assert.equal(mutex.activeKeys, 2);
    await Promise.all(pending);
    assert.equal(mutex.activeKeys, 0);
    await mutex.run('c', async () => undefined).catch(() => undefined);
    await mutex.run('c', async () => Promise.reject(new Error('x'))).catch(() => undefined);
    assert.equal(mutex.activeKeys, 0);
  });

  it('acquire: a holder that releases early lets the next one in while it goes on; releasing twice is harmless', async function () {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const releaseFirst = await mutex.acquire('k');
    const second = mutex.acquire('k').then((release) => {
      events.push('second in');
      return release;
    });
    await nextTurn();
    assert.equal(events.length, 0, 'the second waits while the first holds');
    releaseFirst();
    releaseFirst();
    const releaseSecond = await second;
    events.push('first goes on');
    assert.deepEqual(events, ['second in', 'first goes on']);
    const third = mutex.run('k', async () => 'third');
    await nextTurn();
    releaseSecond();
    assert.equal(await third, 'third');
    assert.equal(mutex.activeKeys, 0);
  });
});
