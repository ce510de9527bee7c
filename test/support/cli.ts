/** Runs the CLI from source (tests spawn it with `node --import tsx`). */
import { main } from '../../src/cli/main.js';

await main(process.argv);
