/**
 * @module http/native/request
 * What native handlers read off a request besides validated bodies and
 * queries: the actor, a disconnect signal, byte ranges, upload chunk
 * positions and conditional headers.
 */
import { principalOf } from '../principal.js';
import type { Request, Response } from 'express';
import { RegistryError } from '../../errors/index.js';
import type { Actor } from '../../registry/index.js';
import { contentLength, parseRangeHeader, resolveSuffix } from '../oci/request.js';

/**
 * Who is acting. Authentication comes later: everyone is `anonymous` until
 * then, and this is the one place that changes.
 */
export function actorOf(request: Request): Actor {
  return principalOf(request).name;
}

/** A signal that aborts when the client goes away before the response is complete. */
export function disconnectSignal(response: Response): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort(new RegistryError('FIELD_INVALID', 'the client closed the connection'));
  });
  return controller.signal;
}

/** Something opened with an optional byte range, as the registry's `open*` methods resolve. */
export interface Opened {
  readonly stream: { destroy(): void };
  readonly size: number;
}

/**
 * Opens what `open` serves with the single range of the `Range` header, if
 * any (several ranges or a malformed header are ignored, as RFC 9110
 * allows). A suffix range (`bytes=-N`) needs the size first, so it costs a
 * second open.
 */
export async function openRange<T extends Opened>(open: (range?: { start: number; end: number }) => Promise<T>, header: string | undefined): Promise<T> {
  const wanted = parseRangeHeader(header);
  if (wanted === undefined || !('suffix' in wanted)) return open(wanted);
  const whole = await open();
  whole.stream.destroy();
  return open(resolveSuffix(wanted, whole.size));
}

/** Where an upload chunk goes, from `Content-Range` or `Upload-Offset`. */
export interface ChunkPosition {
  readonly start: number;
  readonly end?: number;
  /** Total size from `Content-Range` (null for `*`); absent with `Upload-Offset`. */
  readonly total?: number | null;
  readonly contentLength?: number;
}

/**
 * The position of an upload chunk: `Content-Range: bytes <start>-<end>/<total|*>`
 * or `Upload-Offset: <start>`. One is required; when both are sent they
 * must agree.
 * @throws RegistryError FIELD_INVALID.
 */
export function chunkPosition(request: Request): ChunkPosition {
  const rangeHeader = request.headers['content-range'];
  const offsetHeader = request.headers['upload-offset'];
  const length = contentLength(request);
  const withLength = length === undefined ? {} : { contentLength: length };
  let offset: number | undefined;
  if (offsetHeader !== undefined) {
    const text = Array.isArray(offsetHeader) ? offsetHeader.join(',') : offsetHeader;
    offset = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (!Number.isSafeInteger(offset)) throw headerInvalid('Upload-Offset', `must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  if (rangeHeader === undefined) {
    if (offset === undefined) throw headerInvalid('Content-Range', 'a chunk needs Content-Range: bytes <start>-<end>/<total or *> or Upload-Offset: <start>');
    return { start: offset, ...withLength };
  }
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(rangeHeader.trim());
  if (!match) throw headerInvalid('Content-Range', `must be bytes <start>-<end>/<total or *>, got ${JSON.stringify(rangeHeader)}`);
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? null : Number(match[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (total !== null && !Number.isSafeInteger(total))) {
    throw headerInvalid('Content-Range', `${JSON.stringify(rangeHeader)} has a number that is too large`);
  }
  if (end < start) throw headerInvalid('Content-Range', `${JSON.stringify(rangeHeader)} ends before it starts`);
  if (total !== null && end >= total) throw headerInvalid('Content-Range', `${JSON.stringify(rangeHeader)} ends past its total`);
  if (offset !== undefined && offset !== start) throw headerInvalid('Upload-Offset', `${offset} disagrees with Content-Range start ${start}`);
  return { start, end, total, ...withLength };
}

function headerInvalid(header: string, message: string): RegistryError {
  return new RegistryError('FIELD_INVALID', `${header} ${message}`, { violations: [{ pointer: `/headers/${header.toLowerCase()}`, message }] });
}

/** `"<value>"`, the strong entity tag of a content address or digest. */
export function entityTag(value: string): string {
  return `"${value}"`;
}

/** True when `If-None-Match` lists `etag` (weak comparison) or is `*`. */
export function noneMatch(request: Request, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}
