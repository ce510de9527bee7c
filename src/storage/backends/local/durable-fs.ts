/**
 * @module storage/backends/local/durable-fs
 * The two filesystem steps that make a rename or link survive a power cut:
 * a new directory entry is only durable once its directory is fsynced, and a
 * freshly created directory is only durable once its parent is.
 */
import { mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isMissing } from './fs-errors.js';

/** Fsyncs a directory so the entries added or removed in it are durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS journals metadata anyway.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `mkdir -p dir`, then fsyncs every directory that gained an entry because of
 * it — except `dir` itself, which the caller fsyncs after adding its own entry.
 */
export async function ensureDirectoryDurably(dir: string): Promise<void> {
  await syncDirectories(await makeDirectories(dir));
}

/**
 * `mkdir -p dir`; returns the directories that gained an entry because of it
 * (every parent of a directory it created), which must be fsynced before
 * anything under `dir` counts as durable. Empty when `dir` already existed.
 */
export async function makeDirectories(dir: string): Promise<string[]> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return [];
  const changed: string[] = [];
  let current = dir;
  for (;;) {
    const parent = path.dirname(current);
    if (parent === current) break;
    changed.push(parent);
    if (current === firstCreated) break;
    current = parent;
  }
  return changed;
}

/**
 * Fsyncs `directories` all at once: each sync only has to finish before the
 * caller reports success, in no particular order (concurrent syncs also
 * share a journal commit on journalling filesystems). Waits for every sync
 * even when one fails, then rethrows the first failure.
 */
export async function syncDirectories(directories: readonly string[]): Promise<void> {
  if (directories.length === 0) return;
  const outcomes = await Promise.allSettled(directories.map((directory) => fsyncDirectory(directory)));
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Removes a file, succeeding when it is already gone. One `unlink`, where
 * `rm(file, {force: true})` costs two stats first (three trips through the
 * thread pool on every object written).
 */
export async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}
