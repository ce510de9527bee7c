/**
 * @module client/push-state
 * What an interrupted push needs to continue: for each package being pushed,
 * the upload session of every file still in flight. Kept in a small JSON file
 * (`{"<package id>": {"<relative path>": "<upload id>"}}`), rewritten
 * atomically after each change.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Remembers in-flight upload sessions per package. */
export interface PushStateStore {
  /** Notes that `packageId` is being pushed (before any session exists). */
  begin(packageId: string): Promise<void>;
  /** Upload ids by relative path, for `packageId`. */
  sessions(packageId: string): Promise<Readonly<Record<string, string>>>;
  /** Remembers that `relativePath` of `packageId` uploads through `uploadId`. */
  record(packageId: string, relativePath: string, uploadId: string): Promise<void>;
  /** Forgets one file's session (completed or abandoned). */
  forget(packageId: string, relativePath: string): Promise<void>;
  /** Forgets the package (pushed and finalized). */
  drop(packageId: string): Promise<void>;
}

/**
 * The default state file of pushing `dir` to `url`: in the OS temp directory,
 * named after both, so the pushed directory stays exactly its files.
 */
export function defaultPushStatePath(url: string, dir: string): string {
  const key = createHash('sha256').update(`${url}\n${path.resolve(dir)}`).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `.artifactstore-push-${key}.json`);
}

type State = Record<string, Record<string, string>>;

/** A {@link PushStateStore} in one JSON file; writes are serialised and atomic (temp file + rename). */
export class PushStateFile implements PushStateStore {
  private state: State | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  begin(packageId: string): Promise<void> {
    return this.change((state) => {
      state[packageId] ??= {};
    });
  }

  async sessions(packageId: string): Promise<Readonly<Record<string, string>>> {
    const state = await this.load();
    return { ...(state[packageId] ?? {}) };
  }

  record(packageId: string, relativePath: string, uploadId: string): Promise<void> {
    return this.change((state) => {
      (state[packageId] ??= {})[relativePath] = uploadId;
    });
  }

  forget(packageId: string, relativePath: string): Promise<void> {
    return this.change((state) => {
      const entry = state[packageId];
      if (entry) delete entry[relativePath];
    });
  }

  drop(packageId: string): Promise<void> {
    return this.change((state) => {
      delete state[packageId];
    });
  }

  private change(mutate: (state: State) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const state = await this.load();
      mutate(state);
      await this.save(state);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<State> {
    if (this.state) return this.state;
    let parsed: unknown = {};
    try {
      parsed = JSON.parse(await readFile(this.path, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
    }
    const state: State = {};
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [pkg, files] of Object.entries(parsed as Record<string, unknown>)) {
        if (files === null || typeof files !== 'object' || Array.isArray(files)) continue;
        const entry: Record<string, string> = {};
        for (const [relative, upload] of Object.entries(files as Record<string, unknown>)) if (typeof upload === 'string') entry[relative] = upload;
        state[pkg] = entry;
      }
    }
    this.state = state;
    return state;
  }

  private async save(state: State): Promise<void> {
    if (Object.keys(state).length === 0) {
      await rm(this.path, { force: true });
      return;
    }
    const temp = `${this.path}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.path);
  }
}

/** A store that remembers nothing (pushes that need no resume). */
export const NO_PUSH_STATE: PushStateStore = {
  begin: async () => undefined,
  sessions: async () => ({}),
  record: async () => undefined,
  forget: async () => undefined,
  drop: async () => undefined,
};
