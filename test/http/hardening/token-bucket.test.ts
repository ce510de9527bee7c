import { strict as assert } from 'node:assert';
import { TokenBuckets } from '../../../src/http/hardening/index.js';

describe('http hardening: token buckets', () => {
  let clock: number;
  const buckets = (perSecond: number, burst: number, maxKeys?: number): TokenBuckets =>
    new TokenBuckets({ perSecond, burst, ...(maxKeys !== undefined ? { maxKeys } : {}), now: () => clock });
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('starts full: a new key may spend the whole burst at once, then waits', () => {
    const limiter = buckets(10, 3);
    for (let index = 0; index < 3; index += 1) assert.deepEqual(limiter.take('a'), { allowed: true });
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 1 });
  });

  it('refills at the sustained rate, never above the burst', () => {
    const limiter = buckets(10, 3);
    for (let index = 0; index < 3; index += 1) limiter.take('a');
    clock += 99; // 0.99 tokens
    assert.equal(limiter.take('a').allowed, false);
    clock += 1; // 1.0 token (the refused take spent nothing)
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
    clock += 3_600_000; // an hour idle: still only 3
    for (let index = 0; index < 3; index += 1) assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
  });

  it('sustains exactly the configured rate over time', () => {
    const limiter = buckets(5, 1);
    let allowed = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      clock += 10;
      if (limiter.take('a').allowed) allowed += 1;
    }
    // 10 s at 5/s, plus the initial token.
    assert.ok(allowed >= 50 && allowed <= 51, `allowed ${allowed}`);
  });

  it('says how many whole seconds until the next token (at least 1)', () => {
    const slow = buckets(0.25, 1); // one token per 4 s
    assert.equal(slow.take('a').allowed, true);
    assert.deepEqual(slow.take('a'), { allowed: false, retryAfterSeconds: 4 });
    clock += 1_500; // 0.375 tokens: 2.5 s to go → 3
    assert.deepEqual(slow.take('a'), { allowed: false, retryAfterSeconds: 3 });
    const fast = buckets(1_000, 1);
    fast.take('a');
    assert.deepEqual(fast.take('a'), { allowed: false, retryAfterSeconds: 1 });
  });

  it('keeps keys apart', () => {
    const limiter = buckets(1, 1);
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
    assert.equal(limiter.take('b').allowed, true);
  });

  it('bounds the keys it remembers, evicting the least recently used', () => {
    const limiter = buckets(1, 1, 3);
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    limiter.take('a'); // a is now the most recent
    limiter.take('d'); // evicts b
    assert.equal(limiter.size, 3);
    assert.ok(limiter.has('a') && limiter.has('c') && limiter.has('d'));
    assert.ok(!limiter.has('b'));
    // An evicted key comes back with a full bucket; a remembered one does not.
    assert.equal(limiter.take('b').allowed, true);
    assert.equal(limiter.take('d').allowed, false);
    for (let index = 0; index < 10_000; index += 1) limiter.take(`flood-${index}`);
    assert.equal(limiter.size, 3);
  });

  it('refuses nonsensical parameters', () => {
    assert.throws(() => buckets(0, 1), RangeError);
    assert.throws(() => buckets(1, 0), RangeError);
    assert.throws(() => buckets(Number.NaN, 1), RangeError);
  });

  it('tolerates a clock that steps back', () => {
    const limiter = buckets(1, 1);
    limiter.take('a');
    clock -= 10_000;
    assert.equal(limiter.take('a').allowed, false);
  });
});
