/**
 * @module storage/backends/local/publish
 * Making a finished file visible under its object path: the one step shared
 * by staged writes and staged uploads, so both publish with the same
 * atomicity and the same "the first copy wins" rule.
 */
import { link, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory, makeDirectories, syncDirectories } from './durable-fs.js';
import { errorCode, isMissing } from './fs-errors.js';

/**
 * How a finished file is made visible.
 * - `link`: hard-link it into place. Never replaces an existing object, so of
 *   several concurrent publications of one address exactly one reports `created`.
 * - `rename`: for filesystems without hard links. Checks for an existing
 *   object, then renames; concurrent publications of one address may all
 *   report `created` (the last rename wins, with identical bytes).
 */
export type PublishMode = 'link' | 'rename';

/**
 * Publishes `file` (already fsynced) at `target` durably, creating the
 * fan-out directories as needed. Resolves true when it created the object,
 * false when one already existed (nothing changed). In `link` mode `file`
 * still exists afterwards, in `rename` mode only when the object existed:
 * the caller removes it either way.
 */
export async function publishFile(file: string, target: string, mode: PublishMode): Promise<boolean> {
  const dir = path.dirname(target);
  // A new fan-out directory is durable once its parent is synced. That sync
  // and the new entry's (link, then sync of `dir`) are independent — both
  // only have to finish before we answer — so they run side by side: one
  // sync less to wait for on every object that opens a new directory.
  const parentsSynced = syncDirectories(await makeDirectories(dir));
  let created: boolean;
  try {
    created = mode === 'link' ? await linkUnlessExists(file, target) : await renameUnlessExists(file, target);
    if (created) await fsyncDirectory(dir);
  } finally {
    // Settled on every path, so a failing parent sync is never left unobserved.
    await parentsSynced.catch(() => undefined);
  }
  await parentsSynced;
  return created;
}

/** Publishes with a hard link, which fails rather than replace an existing object. */
async function linkUnlessExists(file: string, target: string): Promise<boolean> {
  try {
    await link(file, target);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

async function renameUnlessExists(file: string, target: string): Promise<boolean> {
  try {
    await stat(target);
    return false;
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  await rename(file, target);
  return true;
}
