/**
 * @module cli/main
 * The `artifactstore` command. Each subcommand parses its options, opens the
 * registry through the composition root, calls one registry function and
 * renders the result.
 */
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.js';
import { isRegistryError } from '../errors/index.js';
import { registerServe } from './serve.js';
import { registerIngest } from './ingest.js';
import { registerMaintenance } from './maintenance.js';
import { registerEvents } from './events.js';
import { registerPush } from './push.js';
import { registerPull } from './pull.js';
import { registerAuth } from './auth.js';
import { registerAudit } from './audit.js';
import { registerRetention } from './retention.js';
import { registerStorage } from './storage.js';
import { registerGuideBoard } from './guide-board.js';
import { registerGc } from './gc.js';
import { registerSinks } from './sinks.js';

/** Builds the command tree (exported for tests and help generation). */
export function buildProgram(): Command {
  const program = new Command('artifactstore')
    .description('Artifact registry and storage gateway: OCI Distribution at /v2/ and a native package API over one dual-digest, event-sourced store.\nSettings come from ARTIFACTSTORE_* environment variables (see the README).')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerMaintenance(program);
  registerIngest(program);
  registerEvents(program);
  registerPush(program);
  registerPull(program);
  registerAuth(program);
  registerAudit(program);
  registerRetention(program);
  registerStorage(program);
  registerGuideBoard(program);
  registerGc(program);
  registerSinks(program);
  return program;
}

/** Runs the CLI on `argv` (process.argv shape). Sets process.exitCode on failure. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode !== 0) process.exitCode = error.exitCode === 1 ? 2 : error.exitCode;
      return;
    }
    if (isRegistryError(error)) {
      process.stderr.write(`artifactstore: ${error.message}\n`);
      const problems = error.extra?.problems;
      if (Array.isArray(problems)) for (const problem of problems) process.stderr.write(`  - ${String(problem)}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

export { Option };
