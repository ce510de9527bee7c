/**
 * @module storage/keyed-mutex
 * One lock per key, inside one process. Appending to, publishing and deleting
 * one staged upload must not interleave, while different uploads proceed in
 * parallel; a map of promise chains gives exactly that, and forgets a key as
 * soon as nobody holds or waits for it, so it never grows with the number of
 * uploads ever seen.
 */

/** Serialises tasks per key, in call order. Tasks of different keys run concurrently. */
export class KeyedMutex {
  /** The settle-point of the last task queued per key. */
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Runs `task` once every task queued earlier under `key` has settled, and
   * settles as it does. A failing task does not block the ones after it.
   */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Waits until every holder queued earlier under `key` has released, then
   * resolves with this holder's release function. For a caller that must let
   * the next holder in before its own work is over (release early, finish
   * outside); releasing twice is harmless.
   */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key);
    let open!: () => void;
    const done = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.tails.set(key, done);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      open();
      // Only the last queued holder may forget the key; a later one owns it now.
      if (this.tails.get(key) === done) this.tails.delete(key);
    };
    if (previous) await previous;
    return release;
  }

  /** Number of keys held or waited for, for tests and diagnostics. */
  get activeKeys(): number {
    return this.tails.size;
  }
}

/**
 * Work in flight per key, to be waited for: what a holder of a
 * {@link KeyedMutex} released early is still finishing (an fsync after the
 * lock let the next chunk in). Forgets a key once its work has settled.
 */
export class KeyedInFlight {
  private readonly work = new Map<string, Set<Promise<unknown>>>();

  /** Registers `promise` under `key` until it settles, and returns it. */
  track<T>(key: string, promise: Promise<T>): Promise<T> {
    let pending = this.work.get(key);
    if (pending === undefined) this.work.set(key, (pending = new Set()));
    pending.add(promise);
    const forget = (): void => {
      pending.delete(promise);
      if (pending.size === 0 && this.work.get(key) === pending) this.work.delete(key);
    };
    promise.then(forget, forget);
    return promise;
  }

  /** Resolves once everything tracked under `key` when called has settled (never rejects). */
  async settled(key: string): Promise<void> {
    const pending = this.work.get(key);
    if (pending !== undefined) await Promise.allSettled([...pending]);
  }

  /** Number of keys with work in flight, for tests and diagnostics. */
  get activeKeys(): number {
    return this.work.size;
  }
}
