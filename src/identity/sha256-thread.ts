/**
 * @module identity/sha256-thread
 * SHA-256 on a second thread, so that a stream's two digests are computed
 * side by side rather than one after the other: SHA-256 is the slower of the
 * two (≈1.5 GiB/s here against ≈5 GiB/s for BLAKE3), and on the calling
 * thread it also competed with HTTP parsing and I/O. See docs/adr/0036.
 *
 * Bytes travel through a ring of {@link SLOTS} shared slots of
 * {@link SLOT_BYTES}: the calling thread copies a slot's worth into the next
 * free slot and posts its number in a shared request queue; the SHA-256
 * thread hashes slots in the order posted and counts them off in shared
 * memory. No message crosses between the threads. One ring serves every
 * stream of the process, which bounds the memory in flight to its size.
 *
 * The API is synchronous on purpose — a stream's hasher keeps the contract
 * it always had — so waits block: {@link OffloadedSha256.update} blocks while
 * the ring is full, which only happens when SHA-256 is the bottleneck anyway
 * (the calling thread then waits about as long as it used to spend hashing),
 * and {@link OffloadedSha256.digest} blocks until the slots ahead of it are
 * hashed, a few milliseconds at most.
 */
import { Worker } from 'node:worker_threads';
import { CONTROL_WORDS, OP, REQUEST_WORDS, type SharedState, WAKE_AFTER_REQUESTS, WORD } from './sha256-protocol.js';
import { SHA256_WORKER_SOURCE } from './sha256-worker.js';

/** Bytes per ring slot: a stream shorter than this never leaves the calling thread. */
export const SLOT_BYTES = 128 * 1024;
/** Slots in the ring. */
export const SLOTS = 16;
/** Requests the shared queue holds: room for every slot's update plus digests and drops. */
const REQUEST_SLOTS = 64;
/** How long a wait may see no progress before the thread is declared lost. */
const STALL_LIMIT_MS = 60_000;

/** One SHA-256 thread and the memory it shares with this one. */
class Sha256Thread {
  private readonly worker: Worker;
  private readonly words: Int32Array;
  private readonly result: Uint8Array;
  private readonly ring: Uint8Array;
  private readonly requests: Int32Array;
  /** Slots posted so far, modulo 2^32 like the shared `hashed` word. */
  private posted = 0;
  /** Requests posted so far, modulo 2^32 like the shared `requested` word. */
  private requested = 0;
  private nextId = 1;
  private nextTicket = 0;
  private lost: Error | undefined;

  constructor() {
    const shared: SharedState = {
      control: new SharedArrayBuffer(CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT),
      result: new SharedArrayBuffer(32),
      ring: new SharedArrayBuffer(SLOTS * SLOT_BYTES),
      slotBytes: SLOT_BYTES,
      requests: new SharedArrayBuffer(REQUEST_SLOTS * REQUEST_WORDS * Int32Array.BYTES_PER_ELEMENT),
      requestSlots: REQUEST_SLOTS,
    };
    this.words = new Int32Array(shared.control);
    this.result = new Uint8Array(shared.result);
    this.ring = new Uint8Array(shared.ring);
    this.requests = new Int32Array(shared.requests);
    // No execArgv: the thread needs no loader, and must not wait on this one's.
    this.worker = new Worker(SHA256_WORKER_SOURCE, { eval: true, execArgv: [], workerData: shared, name: 'artifactstore-sha256' });
    this.worker.on('error', (error) => this.fail(new Error('the SHA-256 thread failed', { cause: error })));
    this.worker.on('exit', (code) => this.fail(new Error(`the SHA-256 thread exited with code ${code}`)));
    // Nothing ever waits for the thread through the event loop.
    this.worker.unref();
  }

  /** False once the thread has failed; new streams then go to a new one. */
  get usable(): boolean {
    return this.lost === undefined && Atomics.load(this.words, WORD.failed) === 0;
  }

  newId(): number {
    return this.nextId++;
  }

  /** Copies `bytes` (at most {@link SLOT_BYTES}) into the next slot and queues it for stream `id`. */
  update(id: number, bytes: Uint8Array): void {
    this.check();
    this.waitWhile(WORD.hashed, (hashed) => ((this.posted - hashed) | 0) >= SLOTS);
    const slot = (this.posted >>> 0) % SLOTS;
    this.ring.set(bytes, slot * SLOT_BYTES);
    this.posted = (this.posted + 1) | 0;
    this.post(OP.update, id, slot, bytes.byteLength, false);
  }

  digest(id: number): Buffer {
    this.check();
    const ticket = (this.nextTicket = (this.nextTicket + 1) | 0);
    this.post(OP.digest, id, ticket, 0, true);
    this.waitWhile(WORD.answered, (answered) => answered !== ticket);
    return Buffer.from(this.result);
  }

  /** Called from a finalizer, so it never throws: a failed thread has forgotten its streams anyway. */
  drop(id: number): void {
    try {
      if (this.usable) this.post(OP.drop, id, 0, 0, false);
    } catch {
      // The thread failed while the queue was full; there is nothing left to drop.
    }
  }

  /**
   * Writes a request into the next free queue entry (waiting while the queue
   * is full). Wakes a sleeping thread when the request is `urgent` or enough
   * requests are waiting; otherwise it is picked up with the next batch or
   * before this thread next blocks.
   */
  private post(op: number, id: number, arg: number, length: number, urgent: boolean): void {
    this.waitWhile(WORD.taken, (taken) => ((this.requested - taken) | 0) >= REQUEST_SLOTS);
    const at = ((this.requested >>> 0) % REQUEST_SLOTS) * REQUEST_WORDS;
    this.requests[at] = op;
    this.requests[at + 1] = id;
    this.requests[at + 2] = arg;
    this.requests[at + 3] = length;
    this.requested = (this.requested + 1) | 0;
    // The store publishes the entry's words (Atomics are sequentially consistent).
    Atomics.store(this.words, WORD.requested, this.requested);
    if (urgent || ((this.requested - Atomics.load(this.words, WORD.taken)) | 0) >= WAKE_AFTER_REQUESTS) this.wake();
  }

  /** Wakes the thread if it sleeps. */
  private wake(): void {
    if (Atomics.load(this.words, WORD.sleeping) !== 0) Atomics.notify(this.words, WORD.requested);
  }

  /** Blocks while `condition` holds for the word at `index`, giving up when the thread fails or stalls. */
  private waitWhile(index: number, condition: (value: number) => boolean): void {
    let seen = Atomics.load(this.words, index);
    let deadline = Date.now() + STALL_LIMIT_MS;
    while (condition(seen)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) this.fail(new Error(`the SHA-256 thread made no progress in ${STALL_LIMIT_MS} ms`));
      this.check();
      // Whatever this thread waits for, the other one has to make progress for it.
      this.wake();
      Atomics.wait(this.words, index, seen, remaining);
      const now = Atomics.load(this.words, index);
      if (now !== seen) deadline = Date.now() + STALL_LIMIT_MS;
      seen = now;
    }
  }

  private check(): void {
    if (this.lost === undefined && Atomics.load(this.words, WORD.failed) !== 0) this.fail(new Error('the SHA-256 thread failed'));
    if (this.lost) throw this.lost;
  }

  /** Terminates the thread; streams on it fail from their next call. */
  async stop(): Promise<void> {
    this.fail(new Error('the SHA-256 thread was stopped'));
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    if (this.lost) return;
    this.lost = error;
    void this.worker.terminate();
  }
}

let current: Sha256Thread | undefined;

function thread(): Sha256Thread {
  if (current === undefined || !current.usable) current = new Sha256Thread();
  return current;
}

/**
 * Terminates the SHA-256 thread, if one is running. Streams still using it
 * fail from their next call; the next stream starts a new thread. The thread
 * never keeps a process alive, so this is only for embedders that want no
 * thread left behind.
 */
export async function stopSha256Thread(): Promise<void> {
  const stopping = current;
  current = undefined;
  await stopping?.stop();
}

/** Streams nobody will finish, so the thread can forget them. */
const abandoned = new FinalizationRegistry<{ owner: Sha256Thread; id: number }>(({ owner, id }) => owner.drop(id));

/**
 * One SHA-256 computed on the SHA-256 thread: feed it with {@link update},
 * finish it once with {@link digest}.
 * @throws Error from any call once the thread has failed or stalled; the
 *   next stream starts a new thread.
 */
export class OffloadedSha256 {
  private readonly owner = thread();
  private readonly id = this.owner.newId();
  private readonly token = {};

  constructor() {
    abandoned.register(this, { owner: this.owner, id: this.id }, this.token);
  }

  /** Queues a copy of `bytes` (at most {@link SLOT_BYTES}); blocks while the ring is full. */
  update(bytes: Uint8Array): void {
    this.owner.update(this.id, bytes);
  }

  /** The 32-byte digest of everything queued; blocks until it is computed. */
  digest(): Buffer {
    abandoned.unregister(this.token);
    return this.owner.digest(this.id);
  }
}
