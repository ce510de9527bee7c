#!/usr/bin/env -S node --max-semi-space-size=64
// The node flags above are SERVER_NODE_FLAGS (src/cli/node-flags.ts, docs/adr/0029).
// Entry point of the `artifactstore` command: the compiled CLI lives in dist/.
import { main } from '../dist/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`artifactstore: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
