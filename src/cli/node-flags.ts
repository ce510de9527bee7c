/**
 * @module cli/node-flags
 * V8 flags the server should run with (docs/adr/0029). They cannot be set
 * from inside a running process, so the `bin` shebang and `npm start` pass
 * them, and `serve` warns when they are missing.
 */

/**
 * A 64 MiB semi-space (V8's young generation, 16 MiB by default). Streamed
 * bytes arrive in buffers allocated outside the heap; with the default
 * young generation the buffers of an S3 download outlive scavenges and
 * trigger a full mark-compact every ~20 MB (7.6–10.7 s of server CPU per
 * GiB pulled); with 64 MiB most die young (2.5–2.9 s).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * The recommended flags this process was not started with (neither on the
 * `node` command line nor in NODE_OPTIONS); empty when all are in effect.
 */
export function missingServerNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((flag) => flag.split('=')[0]!.replaceAll('_', '-'));
  return SERVER_NODE_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]!));
}
