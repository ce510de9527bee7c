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
