/**
 * Runs the benchmarks: all of them, or those named on the command line
 * (`npm run bench -- digest replay`). Each prints its own table. A figure
 * below target is reported, never fatal; the exit code is non-zero only when
 * a benchmark fails to run (or finds a correctness violation).
 */
import { append } from './append.js';
import { digest } from './digest.js';
import { ingest } from './ingest.js';
import { native } from './native.js';
import { oci } from './oci.js';
import { replay } from './replay.js';
import { gc } from './gc.js';
import { sinks } from './sinks.js';
import { s3 } from './s3.js';
import os from 'node:os';
import type { Benchmark } from './lib.js';

const ALL: readonly Benchmark[] = [digest, ingest, append, replay, oci, native, s3, sinks, gc];

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !ALL.some((bench) => bench.name === name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}`);
  for (const bench of ALL) console.error(`  ${bench.name.padEnd(8)} ${bench.summary}`);
  process.exit(2);
}

const selected = requested.length === 0 ? ALL : ALL.filter((bench) => requested.includes(bench.name));
// Absolute figures (events/s) mean little on a busy machine: say how busy it is.
const cores = os.availableParallelism();
const load = os.loadavg()[0]!;
console.log(`node ${process.version}, ${cores} cores, load average ${load.toFixed(2)} at start`);
if (load > cores / 2) console.log(`WARNING: the machine is busy (load ${load.toFixed(2)} on ${cores} cores); absolute figures will read low, ratios less so`);

let failed = 0;
for (const bench of selected) {
  console.log(`\n### ${bench.name}: ${bench.summary}`);
  try {
    await bench.run();
  } catch (error) {
    failed += 1;
    console.error(`benchmark ${bench.name} failed:`, error);
  }
}
if (failed > 0) {
  console.error(`\n${failed} benchmark(s) failed to run`);
  process.exitCode = 1;
}
