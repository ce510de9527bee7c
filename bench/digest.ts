/**
 * `digest`: DualDigestHasher (SHA-256 + BLAKE3 over the same chunks) against
 * node:crypto SHA-256 alone.
 *
 * Fair baseline: SHA-256 is the slower of the two hashes and one the dual
 * hasher must run anyway, so "SHA-256 alone over the same chunks" is the
 * ceiling; the ratio shows what the extra BLAKE3 pass and the wrapper cost.
 * All variants hash the same 256 MiB of random data (generated once, in
 * 1 MiB chunks, so nothing stays in CPU cache), in interleaved rounds;
 * each figure is the median round.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createHash as createBlake3 } from '../src/identity/blake3.js';
import { DualDigestHasher } from '../src/identity/index.js';
import { MiB, median, num, printTable, secondsSince, times, type Benchmark } from './lib.js';

const TOTAL_MIB = 256;
const ROUNDS = 5;
const TARGET = 0.8;

type Variant = (chunks: readonly Buffer[]) => string;

const variants: Record<'sha256' | 'blake3' | 'inline' | 'dual', Variant> = {
  sha256: (chunks) => {
    const hash = createHash('sha256');
    for (const chunk of chunks) hash.update(chunk);
    return hash.digest('hex');
  },
  blake3: (chunks) => {
    const hash = createBlake3();
    for (const chunk of chunks) hash.update(chunk);
    const hex = hash.digest('hex');
    hash.dispose();
    return hex;
  },
  // Both hashes per chunk with no wrapper: the single-thread floor for "dual".
  inline: (chunks) => {
    const sha = createHash('sha256');
    const b3 = createBlake3();
    for (const chunk of chunks) {
      sha.update(chunk);
      b3.update(chunk);
    }
    const hex = `${sha.digest('hex')}/${b3.digest('hex')}`;
    b3.dispose();
    return hex;
  },
  dual: (chunks) => {
    const hasher = new DualDigestHasher();
    for (const chunk of chunks) hasher.update(chunk);
    const digest = hasher.digest();
    return `${digest.sha256}/${digest.blake3}`;
  },
};

export const digest: Benchmark = {
  name: 'digest',
  summary: 'DualDigestHasher over 256 MiB vs SHA-256 alone',
  async run() {
    const chunks = Array.from({ length: TOTAL_MIB }, () => randomFillSync(Buffer.allocUnsafe(MiB)));
    const rates: Record<keyof typeof variants, number[]> = { sha256: [], blake3: [], inline: [], dual: [] };
    const results: Partial<Record<keyof typeof variants, string>> = {};
    for (let round = 0; round <= ROUNDS; round += 1) {
      for (const name of Object.keys(variants) as Array<keyof typeof variants>) {
        const start = process.hrtime.bigint();
        results[name] = variants[name](chunks);
        const rate = TOTAL_MIB / secondsSince(start);
        if (round > 0) rates[name].push(rate); // round 0 is warm-up
      }
    }
    if (results.dual !== `${results.sha256}/${results.blake3}` || results.inline !== results.dual) throw new Error('DualDigestHasher disagrees with the separate hashes');

    const sha = median(rates.sha256);
    const dual = median(rates.dual);
    const blake = median(rates.blake3);
    const inline = median(rates.inline);
    printTable(`digest: ${TOTAL_MIB} MiB in 1 MiB chunks, median of ${ROUNDS} rounds`, [
      { measure: 'DualDigestHasher MiB/s', figure: num(dual), baseline: `${num(sha)} (SHA-256 alone)`, ratio: times(dual / sha), target: `≥ ${times(TARGET)}`, pass: dual / sha >= TARGET },
      { measure: 'SHA-256 alone MiB/s', figure: num(sha) },
      { measure: 'BLAKE3 (native) alone MiB/s', figure: num(blake) },
      { measure: 'SHA-256 + BLAKE3 inline, no wrapper MiB/s', figure: num(inline), baseline: `${num(sha)} (SHA-256 alone)`, ratio: times(inline / sha) },
      { measure: 'two separate passes, 1/(1/sha+1/b3) MiB/s', figure: num(1 / (1 / sha + 1 / blake)), baseline: `${num(sha)} (SHA-256 alone)`, ratio: times(1 / (1 / sha + 1 / blake) / sha) },
    ]);
  },
};
