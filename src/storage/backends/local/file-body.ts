/**
 * @module storage/backends/local/file-body
 * The bytes of a local file (a byte range of it) as a readable stream that
 * can also write itself into a response with a few recycled buffers
 * (see storage/body for why).
 */
import { Readable, type Writable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import { RegistryError } from '../../../errors/index.js';
import { BLOB_READ_HIGH_WATER_MARK } from '../../backend.js';
import { writeThroughTarget, type RecyclingBody } from '../../body.js';

/** Size of each recycled buffer of {@link FileBody.writeInto}. */
const RECYCLED_BUFFER_BYTES = 1024 * 1024;
/** Buffers one {@link FileBody.writeInto} keeps in flight: one being read while the others are sent. */
const RECYCLED_BUFFERS = 4;

/**
 * Bytes `start` (inclusive) to `end` (exclusive) of an open file. Owns the
 * handle: closes it when the stream ends, is destroyed, or has written
 * itself. Read as a stream, it allocates one buffer per chunk like
 * `fs.createReadStream`; through {@link FileBody.writeInto} it reuses
 * {@link RECYCLED_BUFFERS} buffers. A file shorter than `end` is an error
 * (objects never shrink: it means damage), not a short stream.
 */
export class FileBody extends Readable implements RecyclingBody {
  private position: number;

  constructor(private readonly handle: FileHandle, start: number, private readonly end: number) {
    super({ highWaterMark: BLOB_READ_HIGH_WATER_MARK });
    this.position = start;
  }

  override _read(): void {
    const length = Math.min(BLOB_READ_HIGH_WATER_MARK, this.end - this.position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafeSlow(length);
    this.handle.read(buffer, 0, length, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.destroy(this.truncated());
          return;
        }
        this.position += bytesRead;
        this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
      },
      (error: Error) => this.destroy(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // FileHandle.close waits for a read still in flight.
    this.handle.close().then(() => callback(error), (closeError: Error) => callback(error ?? closeError));
  }

  async writeInto(out: Writable): Promise<void> {
    // Claims the stream: nothing may read it from here on.
    this.pause();
    const free: Buffer[] = [];
    let allocated = 0;
    const bufferBytes = Math.max(1, Math.min(RECYCLED_BUFFER_BYTES, this.end - this.position));
    try {
      await writeThroughTarget(out, async (target) => {
        while (this.position < this.end) {
          target.throwIfStopped();
          // In flight is bounded by the buffers, not by the writable's high-water
          // mark: waiting for 'drain' after every write would stop reading ahead.
          if (free.length === 0 && allocated === RECYCLED_BUFFERS) {
            await target.wait();
            continue;
          }
          let buffer = free.pop();
          if (buffer === undefined) {
            allocated += 1;
            buffer = Buffer.allocUnsafeSlow(bufferBytes);
          }
          const length = Math.min(buffer.length, this.end - this.position);
          const { bytesRead } = await this.handle.read(buffer, 0, length, this.position);
          if (bytesRead === 0) throw this.truncated();
          this.position += bytesRead;
          target.throwIfStopped();
          const written = buffer;
          out.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead), (error) => {
            // A buffer whose write failed is dropped: the socket may still point at it.
            if (error) return;
            free.push(written);
            target.signal();
          });
        }
      });
    } finally {
      this.destroy();
    }
  }

  private truncated(): RegistryError {
    return new RegistryError('STORAGE_FAILURE', `object file ended at byte ${this.position}, before ${this.end}: the stored object is damaged`);
  }
}
