/**
 * @module storage/body
 * Sending an object's bytes to a writable (an HTTP response). A backend may
 * return a stream that knows how to write itself with recycled buffers
 * ({@link RecyclingBody}); everything else is piped.
 *
 * Why recycling matters: a read stream allocates a fresh buffer for every
 * chunk, outside the JavaScript heap. V8 frees those buffers only when it
 * collects their wrappers, and external memory piling up triggers full
 * mark-compact collections, whose cost grows with everything else the
 * process holds. A 1 GiB download made ~1,000 such buffers; with a fixed
 * set of buffers reused after the socket has taken their bytes, it makes
 * none.
 */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A stream that can write itself into `out` reusing a few buffers, instead of being piped. */
export interface RecyclingBody {
  /**
   * Writes every byte into `out` and ends it, honouring backpressure; a
   * buffer is refilled only after `out` has called back its write. Must be
   * called before anything reads the stream. Rejects (after destroying `out`)
   * when reading fails, and with `ERR_STREAM_PREMATURE_CLOSE` when `out`
   * closes first; the source is released either way.
   */
  writeInto(out: Writable): Promise<void>;
}

/** True when `stream` offers {@link RecyclingBody.writeInto} and has not been read yet. */
export function isRecyclingBody(stream: Readable): stream is Readable & RecyclingBody {
  return typeof (stream as Partial<RecyclingBody>).writeInto === 'function' && stream.readableFlowing === null && !stream.destroyed;
}

/**
 * Sends `stream` into `out` and ends it: through {@link RecyclingBody.writeInto}
 * when the stream offers it, otherwise with `pipeline`. Same outcome as
 * `pipeline(stream, out)` either way.
 */
export async function writeBody(stream: Readable, out: Writable): Promise<void> {
  if (isRecyclingBody(stream)) return stream.writeInto(out);
  await pipeline(stream, out);
}

/**
 * The destination of a {@link RecyclingBody.writeInto}, watched: whether it
 * finished, or stopped (closed early, failed, or {@link fail}ed by the
 * source) — and a way to wait for the next of those or a {@link signal}.
 * Shared by the bodies that write themselves, so they end, fail and clean
 * up the same way.
 */
export class WriteTarget {
  /** True once `out` has flushed everything after `end`. */
  private finished = false;
  /** Why writing stopped, if it did. */
  private stopped: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onFinish = (): void => {
    this.finished = true;
    this.signal();
  };
  private readonly onClose = (): void => {
    if (!this.finished) this.fail(prematureClose());
    this.signal();
  };
  private readonly onError = (error: Error): void => this.fail(error);

  constructor(readonly out: Writable) {
    out.on('close', this.onClose);
    out.on('error', this.onError);
    out.on('finish', this.onFinish);
  }

  /** Wakes a {@link wait}. */
  signal(): void {
    const resolve = this.wake;
    this.wake = undefined;
    resolve?.();
  }

  /** Resolves at the next {@link signal} (writes calling back, the destination finishing or stopping). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  /** Stops writing with `error` (the first reason wins). */
  fail(error: Error): void {
    this.stopped ??= error;
    this.signal();
  }

  /** Throws why writing stopped, if it did. */
  throwIfStopped(): void {
    if (this.stopped) throw this.stopped;
  }

  /** Ends the destination and waits until it has flushed, or throws why it stopped. */
  async end(): Promise<void> {
    this.out.end();
    while (!this.finished) {
      this.throwIfStopped();
      await this.wait();
    }
  }

  /**
   * After a failure: destroys the destination without the error (the caller
   * rethrows it; an 'error' event nobody listens to any more would be
   * uncaught), so a client sees a cut response.
   */
  abort(): void {
    if (!this.out.destroyed) this.out.destroy();
  }

  /** Stops watching. */
  release(): void {
    this.out.off('close', this.onClose);
    this.out.off('error', this.onError);
    this.out.off('finish', this.onFinish);
  }
}

/**
 * Runs `work` (which writes into `out` through the target) and then ends
 * `out` and waits until it has flushed; on any failure destroys `out` and
 * rethrows. The skeleton of every {@link RecyclingBody.writeInto}.
 */
export async function writeThroughTarget(out: Writable, work: (target: WriteTarget) => Promise<void>): Promise<void> {
  const target = new WriteTarget(out);
  try {
    await work(target);
    await target.end();
  } catch (error) {
    target.abort();
    throw error;
  } finally {
    target.release();
  }
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
