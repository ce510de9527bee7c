/**
 * @module identity/sha256-worker
 * The code of the SHA-256 thread (see identity/sha256-thread), as CommonJS
 * source run with `eval`. It is source text rather than a module file so the
 * thread starts the same way under every runner: a file would need the
 * calling process's module loader (tsx in development), and a loader that
 * works through the calling thread deadlocks with a caller that blocks,
 * which this one does by design.
 *
 * The thread keeps one node:crypto hash per stream id and applies requests
 * from the shared queue in the order they were posted (the order the bytes
 * were produced), sleeping on the `requested` word when the queue is empty
 * (with the `sleeping` word set, so the caller knows to wake it); it never
 * returns to its event loop (terminating it interrupts the wait).
 * Everything is acknowledged through shared memory, so a blocked caller
 * sees it: a hashed ring slot advances the `hashed` word, a digest lands in
 * the result bytes and its ticket in `answered`, every applied request
 * advances `taken`. Indexes and op codes are those of identity/sha256-protocol.
 */
export const SHA256_WORKER_SOURCE = `
'use strict';
const { createHash } = require('node:crypto');
const { workerData } = require('node:worker_threads');
const HASHED = 0, ANSWERED = 1, FAILED = 2, REQUESTED = 3, TAKEN = 4, SLEEPING = 5;
const UPDATE = 1, DIGEST = 2, DROP = 3, REQUEST_WORDS = 4;
const words = new Int32Array(workerData.control);
const result = new Uint8Array(workerData.result);
const requests = new Int32Array(workerData.requests);
const { ring, slotBytes, requestSlots } = workerData;
const hashes = new Map();
function hashOf(id) {
  let hash = hashes.get(id);
  if (hash === undefined) { hash = createHash('sha256'); hashes.set(id, hash); }
  return hash;
}
function apply(at) {
  const op = requests[at], id = requests[at + 1], arg = requests[at + 2];
  if (op === UPDATE) {
    hashOf(id).update(new Uint8Array(ring, arg * slotBytes, requests[at + 3]));
    Atomics.add(words, HASHED, 1);
    Atomics.notify(words, HASHED);
  } else if (op === DIGEST) {
    result.set(hashOf(id).digest());
    hashes.delete(id);
    Atomics.store(words, ANSWERED, arg);
    Atomics.notify(words, ANSWERED);
  } else if (op === DROP) {
    hashes.delete(id);
  } else {
    throw new Error('unknown request ' + op);
  }
}
let taken = 0;
try {
  for (;;) {
    if (Atomics.load(words, REQUESTED) === taken) {
      // Announce the sleep, then look again: a request posted in between is
      // either seen here or its poster sees the flag and wakes us.
      Atomics.store(words, SLEEPING, 1);
      if (Atomics.load(words, REQUESTED) === taken) Atomics.wait(words, REQUESTED, taken);
      Atomics.store(words, SLEEPING, 0);
      continue;
    }
    apply(((taken >>> 0) % requestSlots) * REQUEST_WORDS);
    taken = (taken + 1) | 0;
    Atomics.store(words, TAKEN, taken);
    Atomics.notify(words, TAKEN);
  }
} catch {
  // Nothing posted here can make node:crypto throw; if it did, waiting
  // forever would be worse than failing every stream in flight.
  Atomics.store(words, FAILED, 1);
  Atomics.notify(words, HASHED);
  Atomics.notify(words, ANSWERED);
  Atomics.notify(words, TAKEN);
}
`;
