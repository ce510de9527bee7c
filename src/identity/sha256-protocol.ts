/**
 * @module identity/sha256-protocol
 * What the calling thread and the SHA-256 thread share: the layout of the
 * shared memory and the encoding of requests in it. Requests travel through
 * shared memory rather than by message: a `postMessage` per 128 KiB slot
 * (structured clone, a message port, waking the thread's event loop) cost
 * the calling thread about as much as BLAKE3 did. The worker's source
 * (identity/sha256-worker) repeats the indexes and op codes; a test keeps
 * them equal.
 */

/**
 * Requests waiting before the calling thread wakes a sleeping thread (an
 * answer it needs wakes it at once): one wake per batch of slots rather
 * than per slot.
 */
export const WAKE_AFTER_REQUESTS = 4;

/** Request op codes, the first word of a request. */
export const OP = {
  /** Hash `length` bytes of ring slot `arg` into stream `id`. */
  update: 1,
  /** Finish stream `id` into the result bytes and publish ticket `arg` as answered. */
  digest: 2,
  /** Forget stream `id`. */
  drop: 3,
} as const;

/** Int32 words per request: op, id, arg, length. */
export const REQUEST_WORDS = 4;

/** Shared memory handed to the thread at start. */
export interface SharedState {
  /** Int32 words indexed by {@link WORD}. */
  readonly control: SharedArrayBuffer;
  /** 32 bytes: the digest answering the last `digest` request. */
  readonly result: SharedArrayBuffer;
  /** The ring: slots of `slotBytes` bytes, filled in order and hashed in order. */
  readonly ring: SharedArrayBuffer;
  readonly slotBytes: number;
  /** The request queue: `requestSlots` requests of {@link REQUEST_WORDS} Int32 words, applied in the order posted. */
  readonly requests: SharedArrayBuffer;
  readonly requestSlots: number;
}

/** Indexes of the control words. Counters wrap modulo 2^32. */
export const WORD = {
  /** Ring slots hashed so far (the ring's tail); only the thread writes it. */
  hashed: 0,
  /** Ticket of the last digest written to the result bytes. */
  answered: 1,
  /** Non-zero once the thread has failed; every wait gives up. */
  failed: 2,
  /** Requests posted so far; only the calling thread writes it, and notifies it. */
  requested: 3,
  /** Requests applied so far; only the thread writes it, and notifies it. */
  taken: 4,
  /**
   * 1 while the thread is about to sleep or sleeping on `requested`. The
   * calling thread notifies only then (a wake is a system call and a context
   * switch), and only once a few requests are waiting or it needs an answer.
   */
  sleeping: 5,
} as const;

/** Number of control words. */
export const CONTROL_WORDS = 6;
