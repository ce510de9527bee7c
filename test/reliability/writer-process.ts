/**
 * Child process of the tailers suite: opens its own registry on the
 * database and storage root given as JSON (`{settings, options}`), runs
 * `writers` concurrent write loops for `writes` writes in all (see
 * `writeLoop`), and prints `{"writes": n}` as one JSON line.
 */
import { openRegistry } from '../../src/app.js';
import type { Settings } from '../../src/config.js';
import type { OpenOptions } from '../../src/db/index.js';
import { writeLoop } from './helpers.js';

const [config, writesText, writersText, tag] = process.argv.slice(2);
const { settings, options } = JSON.parse(config!) as { settings: Settings; options: OpenOptions };
const instance = await openRegistry(settings, { ...options, migrate: false });
const budget = { left: Number(writesText) };
let writes = 0;
try {
  const made = await Promise.all(Array.from({ length: Number(writersText) }, (_, w) => writeLoop(instance.registry, `${tag}${w}`, budget)));
  writes = made.reduce((sum, n) => sum + n, 0);
} finally {
  await instance.close();
}
process.stdout.write(`${JSON.stringify({ writes })}\n`);
