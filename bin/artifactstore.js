#!/usr/bin/env node
// Entry point of the `artifactstore` command: the compiled CLI lives in dist/.
import { main } from '../dist/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`artifactstore: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
