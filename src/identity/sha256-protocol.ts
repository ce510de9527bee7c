/**
 * @module identity/sha256-protocol
 * What the calling thread and the SHA-256 thread share: the request messages
 * and the layout of the shared memory. The worker's source
 * (identity/sha256-worker) repeats the word indexes; a test keeps them equal.
 */

/** Requests posted to the SHA-256 thread, applied in the order posted. */
export type HashRequest =
  /** Hash `length` bytes of ring slot `slot` into stream `id`. */
  | { readonly op: 'update'; readonly id: number; readonly slot: number; readonly length: number }
  /** Finish stream `id` into the result bytes and publish `ticket` as answered. */
  | { readonly op: 'digest'; readonly id: number; readonly ticket: number }
  /** Forget stream `id`. */
  | { readonly op: 'drop'; readonly id: number };

/** Shared memory handed to the thread at start. */
export interface SharedState {
  /** Int32 words indexed by {@link WORD}. */
  readonly control: SharedArrayBuffer;
  /** 32 bytes: the digest answering the last `digest` request. */
  readonly result: SharedArrayBuffer;
  /** The ring: slots of `slotBytes` bytes, filled in order and hashed in order. */
  readonly ring: SharedArrayBuffer;
  readonly slotBytes: number;
}

/** Indexes of the control words. */
export const WORD = {
  /** Ring slots hashed so far (the ring's tail); only the thread writes it. */
  hashed: 0,
  /** Ticket of the last digest written to the result bytes. */
  answered: 1,
  /** Non-zero once the thread has failed; every wait gives up. */
  failed: 2,
} as const;

/** Number of control words. */
export const CONTROL_WORDS = 3;
