/**
 * @module cli/remote-events
 * `artifactstore events --url U`: the event log of a remote server as JSON
 * lines, and the plumbing every command that talks to a server shares
 * (`--url`/`--token`, error rendering, Ctrl-C).
 */
import { Option, type Command } from 'commander';
import { ArtifactstoreClient, RemoteError, TransportError } from '../client/index.js';

/** `--url` and `--token` as the remote commands take them. */
export interface RemoteOptions {
  url: string;
  token?: string;
}

/** Adds the required `--url` and `--token` (default `$ARTIFACTSTORE_TOKEN`). */
export function addRemoteOptions(command: Command): Command {
  return command
    .requiredOption('--url <url>', 'base URL of the artifactstore server, e.g. http://registry:8080')
    .addOption(new Option('--token <token>', 'bearer token sent to the server').env('ARTIFACTSTORE_TOKEN'));
}

/** A client for `options`. */
export function openClient(options: { url: string; token?: string | undefined }): ArtifactstoreClient {
  try {
    return new ArtifactstoreClient({ url: options.url, ...(options.token ? { token: options.token } : {}) });
  } catch (error) {
    throw new RemoteUsageError(error instanceof Error ? error.message : String(error));
  }
}

/** A bad `--url` and the like. */
class RemoteUsageError extends Error {}

/**
 * Runs `work` with an abort signal tied to SIGINT/SIGTERM. Remote failures
 * (problem documents, unreachable servers) and interruptions become one line
 * on stderr and exit code 1 (130 when interrupted); `hint` may add a line
 * (how to resume). Local registry errors go on to main's renderer.
 */
export async function runRemote(work: (signal: AbortSignal) => Promise<void>, hint?: () => string | undefined): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => controller.abort(new Interrupted());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await work(controller.signal);
  } catch (error) {
    const extra = hint?.();
    if (controller.signal.aborted) {
      process.stderr.write(`artifactstore: interrupted\n${extra ? `${extra}\n` : ''}`);
      process.exitCode = 130;
      return;
    }
    if (error instanceof RemoteError || error instanceof TransportError || error instanceof RemoteUsageError) {
      process.stderr.write(`artifactstore: ${error.message}\n${extra ? `${extra}\n` : ''}`);
      process.exitCode = 1;
      return;
    }
    if (extra) process.stderr.write(`${extra}\n`);
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'AbortError';
  }
}

/** Writes one line to stdout, waiting for it to drain. */
export function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(`${line}\n`, (error) => (error ? reject(error) : resolve())));
}

/** `events --url`: prints remote events after `since` (following with `follow`) as JSON lines. */
export async function printRemoteEvents(options: { url: string; since: number; limit?: number; follow?: boolean; token?: string }): Promise<void> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit === 0) return;
  const client = openClient({ url: options.url, token: options.token ?? process.env.ARTIFACTSTORE_TOKEN });
  await runRemote(async (signal) => {
    let printed = 0;
    const pageSize = Number.isFinite(limit) ? Math.min(1000, limit) : undefined;
    for await (const event of client.events({ since: options.since, follow: options.follow === true, signal, ...(pageSize !== undefined ? { limit: pageSize } : {}) })) {
      await writeLine(JSON.stringify(event));
      if (++printed >= limit) break;
    }
    // Ctrl-C while following ends the iteration quietly: the normal way out.
  });
}
