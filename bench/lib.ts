/**
 * Shared helpers for the benchmarks: the result table every benchmark
 * prints, timing, and temp directories that are always removed.
 *
 * Numbers on this machine swing ±20–30 % between runs, so each benchmark
 * measures its own baseline in the same run and judges the RATIO (or, where
 * the issue sets an absolute target, the absolute figure).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A benchmark that `bench/run.ts` can run by name. */
export interface Benchmark {
  readonly name: string;
  readonly summary: string;
  run(): Promise<void>;
}

/** One line of a result table. `pass` undefined means informational (no target). */
export interface ResultRow {
  readonly measure: string;
  readonly figure: string;
  readonly baseline?: string;
  readonly ratio?: string;
  readonly target?: string;
  readonly pass?: boolean;
}

/** Prints `rows` as an aligned table under `title`. */
export function printTable(title: string, rows: readonly ResultRow[]): void {
  const header = ['measure', 'figure', 'baseline', 'ratio', 'target', 'result'];
  const cells = rows.map((row) => [
    row.measure,
    row.figure,
    row.baseline ?? '—',
    row.ratio ?? '—',
    row.target ?? '—',
    row.pass === undefined ? 'info' : row.pass ? 'PASS' : 'BELOW TARGET',
  ]);
  const widths = header.map((name, i) => Math.max(name.length, ...cells.map((line) => line[i]!.length)));
  const format = (line: string[]): string => line.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ').trimEnd();
  console.log(`\n== ${title}`);
  console.log(format(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
  for (const line of cells) console.log(format(line));
}

/** Seconds since `start` (from `process.hrtime.bigint()`). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `work` and returns its result with the elapsed seconds. */
export async function timed<T>(work: () => Promise<T> | T): Promise<{ result: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { result, seconds: secondsSince(start) };
}

/** The median of `values` (not empty). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Drops the kernel's clean page cache (`/proc/sys/vm/drop_caches`, root
 * only) and says whether it could. Call after `sync`. On this kind of host
 * the kernel time per GiB written grew ~2× as the cache filled with earlier
 * rounds' uploads (free memory left plenty): rounds run later read lower.
 */
export async function dropPageCache(): Promise<boolean> {
  try {
    await writeFile('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

/** Reads `file` once and discards it: puts it in the page cache. */
export async function readIntoCache(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 * MiB);
    while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
  } finally {
    await handle.close();
  }
}

/** Runs `work` with a fresh directory under the OS temp dir, removed afterwards. */
export async function withTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `artifactstore-bench-${prefix}-`));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `1234.5` → `"1,235"`; with `digits`, that many decimals. */
export function num(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio as `0.87×`. */
export function times(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

export const MiB = 1024 * 1024;

/**
 * The `node` flags of `bin/artifactstore.js`'s shebang (`#!/usr/bin/env -S
 * node <flags>`): a bench starts our server the way the installed command
 * and `npm start` do.
 */
export function launchNodeFlags(): string[] {
  const bin = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'artifactstore.js'), 'utf8');
  const shebang = /^#!\/usr\/bin\/env -S node(.*)$/m.exec(bin.split('\n', 1)[0] ?? '');
  if (!shebang) throw new Error('bin/artifactstore.js does not start with "#!/usr/bin/env -S node"');
  return shebang[1]!.split(' ').filter((arg) => arg !== '');
}

/**
 * `node` arguments for the servers a bench starts: the launch flags, then
 * extras from `BENCH_SERVER_NODE_ARGS` (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof"; NODE_OPTIONS refuses `--cpu-prof`).
 */
export function serverNodeArgs(extra: readonly string[] = []): string[] {
  return [...launchNodeFlags(), ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== ''), ...extra];
}
