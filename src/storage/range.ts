/**
 * @module storage/range
 * Byte-range resolution with HTTP semantics, shared by every backend so they
 * all accept and refuse exactly the same ranges.
 */
import { RegistryError } from '../errors/index.js';
import type { ByteRange } from './backend.js';

/**
 * The range to serve from an object of `size` bytes: null when no range was
 * asked, otherwise `range` with its end clamped to `size - 1`.
 * @throws RegistryError `RANGE_NOT_SATISFIABLE` when either end is not a
 *   non-negative safe integer, `start > end`, or `start >= size` (which
 *   includes every range of an empty object).
 */
export function resolveRange(range: ByteRange | undefined, size: number): ByteRange | null {
  if (range === undefined) return null;
  const { start, end } = range;
  if (!isOffset(start) || !isOffset(end)) {
    throw new RegistryError('RANGE_NOT_SATISFIABLE', `range bounds must be non-negative integers, got ${String(start)}-${String(end)}`, { size });
  }
  if (start > end) {
    throw new RegistryError('RANGE_NOT_SATISFIABLE', `range start ${start} is after its end ${end}`, { size });
  }
  if (start >= size) {
    throw new RegistryError('RANGE_NOT_SATISFIABLE', `range start ${start} is beyond the object's ${size} bytes`, { size });
  }
  return { start, end: Math.min(end, size - 1) };
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
