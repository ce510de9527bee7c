/**
 * @module client/download
 * A verified, resumable download of one file. Bytes go to `<destination>.partial`;
 * a partial left by an earlier attempt is hashed and continued with a Range
 * request; once all bytes are there, size, BLAKE3 (the content address) and
 * SHA-256 must all match the file record, or the partial is deleted and the
 * download fails. Only a verified file is renamed to its destination.
 */
import { createReadStream } from 'node:fs';
import { lstat, open, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import { RegistryError } from '../errors/index.js';
import { DualDigestHasher, isContentAddress, type DualDigest } from '../identity/index.js';
import type { NativeApi } from './api.js';
import { TransportError, isTransient, protocolError } from './errors.js';
import { isAbort, retryDelay, sleep } from './transport.js';
import type { FileRecord } from './types.js';

/** Options of a download. */
export interface DownloadOptions {
  /** Where bytes collect until verified (default `<destination>.partial`). */
  readonly partialPath?: string;
  /** Continue an existing partial (default true); false starts from byte 0. */
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
  /** Called as bytes arrive with the bytes on disk so far and the file size. */
  readonly onProgress?: (received: number, size: number) => void;
}

/** What a download did. */
export interface DownloadResult {
  readonly path: string;
  readonly size: number;
  /** `blake3:<hex>`. */
  readonly content_address: string;
  /** `sha256:<hex>`. */
  readonly digest_sha256: string;
  /** Bytes taken from an existing partial file instead of the network. */
  readonly resumed_from: number;
}

/** Downloads `file` to `destination`; see the module comment. */
export async function downloadFile(client: NativeApi, file: FileRecord, destination: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const expected = expectedOf(file);
  const partial = options.partialPath ?? `${destination}.partial`;
  const signal = options.signal;
  const policy = client.transport.retry;

  const existing = await lstat(partial).catch(() => null);
  if (existing && !existing.isFile()) throw new RegistryError('FILE_PATH_INVALID', `${partial} exists and is not a regular file`);
  let have = existing && options.resume !== false ? existing.size : 0;
  if (have > expected.size) have = 0;
  if (existing && have !== existing.size) await truncate(partial, have);
  const resumedFrom = have;
  let hasher = await hashPrefix(partial, have);
  options.onProgress?.(have, expected.size);

  const handle = await open(partial, existing ? 'r+' : 'w');
  try {
    let failures = 0;
    while (have < expected.size) {
      signal?.throwIfAborted();
      try {
        const response = await client.openDownload(file.id, have, signal ? { signal } : {});
        let start = 0;
        if (response.status === 206) {
          start = contentRangeStart(response.headers.get('content-range'));
          if (start !== have) {
            await response.body?.cancel();
            throw protocolError(`GET /files/${file.id}/download`, `asked for bytes from ${have}, got a range starting at ${start}`, response);
          }
        } else if (response.status === 416) {
          // The server cannot serve from here: whatever the partial holds is stale.
          await response.body?.cancel();
          start = -1;
        } else if (response.status !== 200) {
          await response.body?.cancel();
          throw protocolError(`GET /files/${file.id}/download`, `unexpected status ${response.status}`, response);
        }
        if (start !== have) {
          // A whole body (the server ignored the Range) or a stale partial: restart from byte 0.
          have = 0;
          hasher = new DualDigestHasher();
          await handle.truncate(0);
          if (start === -1) continue;
        }
        if (!response.body) break;
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            if (have + chunk.byteLength > expected.size) {
              throw new RegistryError('SIZE_MISMATCH', `the server sent more than the ${expected.size} bytes of ${file.relative_path}`);
            }
            await writeAll(handle, chunk, have);
            hasher.update(chunk);
            have += chunk.byteLength;
            failures = 0;
            options.onProgress?.(have, expected.size);
          }
        } catch (error) {
          if (error instanceof RegistryError || isAbort(error, signal)) throw error;
          throw new TransportError(`GET /files/${file.id}/download`, 1, error);
        }
        if (have < expected.size) throw new TransportError(`GET /files/${file.id}/download`, 1, new Error(`the body ended after ${have} of ${expected.size} bytes`));
      } catch (error) {
        if (isAbort(error, signal) || !isTransient(error)) throw error;
        failures += 1;
        if (failures >= policy.attempts) throw error instanceof TransportError ? new TransportError(error.request, failures, error.cause) : error;
        await sleep(retryDelay(policy, failures, error), signal);
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }

  const actual = hasher.digest();
  const problems = mismatches(expected, actual);
  if (problems.length > 0) {
    await rm(partial, { force: true });
    throw new RegistryError(problems[0]!.startsWith('size') ? 'SIZE_MISMATCH' : 'DIGEST_MISMATCH', `${file.relative_path} (${file.id}): ${problems.join('; ')}; the partial download was deleted`, {
      file_id: file.id,
      relative_path: file.relative_path,
      problems,
    });
  }
  await rename(partial, destination);
  return { path: destination, size: actual.size, content_address: expected.blake3, digest_sha256: expected.sha256, resumed_from: resumedFrom };
}

/** Hashes a local file and compares it with a file record; true when size and both digests match. */
export async function matchesRecord(path: string, file: FileRecord): Promise<boolean> {
  const expected = expectedOf(file);
  const stat = await lstat(path).catch(() => null);
  if (!stat?.isFile() || stat.size !== expected.size) return false;
  const hasher = await hashPrefix(path, stat.size);
  return mismatches(expected, hasher.digest()).length === 0;
}

interface Expected {
  readonly size: number;
  readonly blake3: string;
  readonly sha256: string;
}

function expectedOf(file: FileRecord): Expected {
  const blake3 = file.content_address ?? file.digests?.blake3;
  const sha256 = file.digest_sha256 ?? file.digests?.sha256;
  if (!isContentAddress(blake3, 'blake3') || !isContentAddress(sha256, 'sha256') || !Number.isSafeInteger(file.size) || file.size < 0) {
    throw protocolError(`GET /files/${file.id}`, `file record ${JSON.stringify(file.id)} lacks a valid size, blake3 content address or sha256 digest`);
  }
  return { size: file.size, blake3, sha256 };
}

function mismatches(expected: Expected, actual: DualDigest): string[] {
  const problems: string[] = [];
  if (actual.size !== expected.size) problems.push(`size ${actual.size}, expected ${expected.size}`);
  if (`blake3:${actual.blake3}` !== expected.blake3) problems.push(`bytes hash to blake3:${actual.blake3}, expected ${expected.blake3}`);
  if (`sha256:${actual.sha256}` !== expected.sha256) problems.push(`bytes hash to sha256:${actual.sha256}, expected ${expected.sha256}`);
  return problems;
}

async function hashPrefix(path: string, length: number): Promise<DualDigestHasher> {
  const hasher = new DualDigestHasher();
  if (length === 0) return hasher;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
  if (hasher.size !== length) throw new RegistryError('SIZE_MISMATCH', `${path} shrank while being read`);
  return hasher;
}

async function writeAll(handle: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written, position + written);
    written += bytesWritten;
  }
}

function contentRangeStart(header: string | null): number {
  const match = header ? /^bytes\s+(\d+)-\d+\/(?:\d+|\*)$/i.exec(header.trim()) : null;
  return match ? Number(match[1]) : Number.NaN;
}
