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
 * in the order they were posted (the order the bytes were produced). Every
 * request is acknowledged through shared memory rather than by message, so
 * a blocked caller sees it: a hashed ring slot advances the `hashed` word, a
 * digest lands in the result bytes and its ticket in `answered`. The word
 * indexes are those of `WORD` in identity/sha256-protocol.
 */
export const SHA256_WORKER_SOURCE = `
'use strict';
const { createHash } = require('node:crypto');
const { parentPort, workerData } = require('node:worker_threads');
const HASHED = 0, ANSWERED = 1, FAILED = 2;
const words = new Int32Array(workerData.control);
const result = new Uint8Array(workerData.result);
const { ring, slotBytes } = workerData;
const hashes = new Map();
function hashOf(id) {
  let hash = hashes.get(id);
  if (hash === undefined) { hash = createHash('sha256'); hashes.set(id, hash); }
  return hash;
}
parentPort.on('message', (request) => {
  try {
    if (request.op === 'update') {
      hashOf(request.id).update(new Uint8Array(ring, request.slot * slotBytes, request.length));
      Atomics.add(words, HASHED, 1);
      Atomics.notify(words, HASHED);
    } else if (request.op === 'digest') {
      result.set(hashOf(request.id).digest());
      hashes.delete(request.id);
      Atomics.store(words, ANSWERED, request.ticket);
      Atomics.notify(words, ANSWERED);
    } else if (request.op === 'drop') {
      hashes.delete(request.id);
    }
  } catch {
    // Nothing posted here can make node:crypto throw; if it did, waiting
    // forever would be worse than failing every stream in flight.
    Atomics.store(words, FAILED, 1);
    Atomics.notify(words, HASHED);
    Atomics.notify(words, ANSWERED);
  }
});
`;
