#!/usr/bin/env -S node --max-semi-space-size=8
// Entry point of the `artifactstore` command: the compiled CLI lives in dist/.
// The V8 flag caps the young generation's semi-spaces at 8 MB; without it, a
// burst of small requests grows them to 16 MB for good, and V8 then marks the
// old generation without pause through every later upload (docs/adr/0037).
// `npm start` and the benches launch with the same flags.
import { main } from '../dist/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`artifactstore: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
