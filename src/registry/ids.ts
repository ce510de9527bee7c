/**
 * @module registry/ids
 * Identifiers for packages and files: UUIDv7 (RFC 9562), so ids sort by
 * creation time and cursor pagination over them is stable.
 */
import { randomBytes } from 'node:crypto';

let lastMillis = 0;
let counter = 0;

/** A new UUIDv7 string; ids made in one process are strictly increasing. */
export function newId(now: number = Date.now()): string {
  // 12 bits after the timestamp act as a counter within one millisecond
  // (RFC 9562 §6.2, method 1), keeping ids monotonic inside a process.
  if (now <= lastMillis) {
    counter += 1;
    if (counter > 0xfff) {
      lastMillis += 1;
      counter = 0;
    }
  } else {
    lastMillis = now;
    counter = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMillis, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when `text` is a lowercase UUID. */
export function isId(text: unknown): text is string {
  return typeof text === 'string' && UUID.test(text);
}
