/**
 * @module http/oci/request
 * Parsing what OCI clients send: byte ranges, chunk ranges, lengths, query
 * parameters, bounded bodies.
 */
import type { Request } from 'express';
import { RegistryError } from '../../errors/index.js';
import type { ByteRange } from '../../dataplane/index.js';

/**
 * The single byte range of a `Range: bytes=…` request header, or undefined
 * to serve the whole object (no header, several ranges, or a malformed one,
 * which RFC 9110 lets a server ignore). Suffix ranges are resolved later
 * against the size, so they come back with a negative start.
 */
export function parseRangeHeader(header: string | undefined): ByteRange | { suffix: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') return { suffix: Number(match[2]) };
  const start = Number(match[1]);
  const end = match[2] === '' ? Number.MAX_SAFE_INTEGER : Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
  if (end < start) return undefined;
  return { start, end };
}

/** Resolves a suffix range (`bytes=-N`) against the object size. */
export function resolveSuffix(range: ByteRange | { suffix: number } | undefined, size: number): ByteRange | undefined {
  if (!range || !('suffix' in range)) return range;
  if (range.suffix === 0) throw new RegistryError('RANGE_NOT_SATISFIABLE', 'a zero-length suffix range selects nothing', { size });
  return { start: Math.max(size - range.suffix, 0), end: size - 1 };
}

/** The inclusive range of an upload chunk (`Content-Range: <start>-<end>`, with or without a `bytes` prefix). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range must be <start>-<end>, got ${JSON.stringify(header)}`);
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${JSON.stringify(header)} is not a valid range`);
  }
  return { start, end };
}

/** The declared `Content-Length`, or undefined (chunked transfer). */
export function contentLength(request: Request): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  if (!/^\d+$/.test(header) || !Number.isSafeInteger(length)) throw new RegistryError('SIZE_INVALID', `Content-Length ${JSON.stringify(header)} is not a length`);
  return length;
}

/** True when the request carries a body (a length above 0, or chunked encoding). */
export function hasBody(request: Request): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

/** One query parameter as a string (the first when repeated), or undefined. */
export function queryParam(request: Request, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** Every value of a repeated query parameter. */
export function queryParams(request: Request, name: string): string[] {
  const value = (request.query as Record<string, unknown>)[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * Reads a whole body of at most `limit` bytes (manifests). Refuses by the
 * declared length before reading when it can, and stops reading as soon as
 * the limit is passed otherwise.
 */
export async function readBoundedBody(request: Request, limit: number, tooLarge: () => RegistryError): Promise<Uint8Array> {
  const declared = contentLength(request);
  if (declared !== undefined && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  if (declared !== undefined && total !== declared) throw new RegistryError('SIZE_INVALID', `Content-Length said ${declared} bytes, the body had ${total}`);
  return Buffer.concat(chunks, total);
}
