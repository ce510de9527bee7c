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
    const previous = this.tails.get(key);
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.tails.set(key, done);
    try {
      if (previous) await previous;
      return await task();
    } finally {
      release();
      // Only the last queued task may forget the key; a later one owns it now.
      if (this.tails.get(key) === done) this.tails.delete(key);
    }
  }

  /** Number of keys held or waited for, for tests and diagnostics. */
  get activeKeys(): number {
    return this.tails.size;
  }
}
