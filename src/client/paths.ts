/**
 * @module client/paths
 * Where a package's relative path may land on the local disk. The server
 * promises safe paths; a client writing files must not rely on that, so the
 * rule is checked again here, and no directory on the way may be a symbolic
 * link (which would carry a write outside the target directory).
 */
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { RegistryError } from '../errors/index.js';

/**
 * The absolute path of `relative` under `root`, refusing anything that is not
 * a plain `/`-separated relative path inside it.
 * @throws RegistryError `FILE_PATH_INVALID`.
 */
export function resolveInside(root: string, relative: string): string {
  const refuse = (why: string): never => {
    throw new RegistryError('FILE_PATH_INVALID', `refusing to write ${JSON.stringify(relative)}: ${why}`);
  };
  if (typeof relative !== 'string' || relative.length === 0) return refuse('empty path');
  if (relative.length > 4096) return refuse('too long');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(relative)) return refuse('control character');
  if (relative.includes('\\')) return refuse('backslash');
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative)) return refuse('absolute path');
  for (const segment of relative.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return refuse(`"${segment}" segment`);
  }
  const base = path.resolve(root);
  const target = path.resolve(base, ...relative.split('/'));
  const back = path.relative(base, target);
  if (back === '' || back.startsWith('..') || path.isAbsolute(back)) return refuse('outside the target directory');
  return target;
}

/**
 * Creates the directories between `root` and `target`'s parent one by one,
 * refusing any that exists as a symbolic link or a non-directory.
 * @throws RegistryError `FILE_PATH_INVALID`.
 */
export async function prepareParents(root: string, target: string): Promise<void> {
  const base = path.resolve(root);
  const segments = path.relative(base, path.dirname(target)).split(path.sep).filter((part) => part !== '');
  let current = base;
  for (const part of segments) {
    current = path.join(current, part);
    const stat = await lstat(current).catch(() => null);
    if (!stat) {
      await mkdir(current).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      const again = await lstat(current);
      if (!again.isDirectory()) throw new RegistryError('FILE_PATH_INVALID', `${current} is not a directory`);
    } else if (!stat.isDirectory()) {
      throw new RegistryError('FILE_PATH_INVALID', `${current} is ${stat.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; refusing to write through it`);
    }
  }
  const final = await lstat(target).catch(() => null);
  if (final && !final.isFile()) throw new RegistryError('FILE_PATH_INVALID', `${target} exists and is not a regular file`);
}

/** Runs `worker` over `items` with at most `concurrency` at once; the first failure aborts the rest and is thrown. */
export async function runPool<T>(items: readonly T[], concurrency: number, worker: (item: T, signal: AbortSignal) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && !controller.signal.aborted && next < items.length) {
      const item = items[next++] as T;
      try {
        await worker(item, controller.signal);
      } catch (error) {
        if (!failure) failure = { error };
        controller.abort(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
  signal?.throwIfAborted();
}
