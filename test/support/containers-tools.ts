import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

// The real OCI clients of the interop suites: the containers/* command-line
// clients (skopeo, podman, buildah) and umoci, all Debian packages.
// `ensureTools` installs the missing ones the way .ci/run does, so that
// `npm test` alone passes on a fresh machine; `isolatedToolEnv` is what they
// need to run beside the test suite without touching the machine's own
// configuration, credentials or image storage: a private HOME, runtime and
// config directories, an empty auth file and a registries.conf that resolves
// no short names.

/** Debian packages take a while to download and unpack on a fresh machine. */
export const TOOL_INSTALL_TIMEOUT_MS = 15 * 60 * 1000;

let installing: Promise<void> = Promise.resolve();

/**
 * Resolves once every command of `tools` (each also its Debian package's
 * name) is on the PATH, installing the missing ones with apt-get when this
 * process may (root, apt-get present). Installs run one at a time.
 * @throws Error naming the missing tools and why they could not be installed.
 */
export function ensureTools(tools: readonly string[]): Promise<void> {
  const next = installing.then(async () => {
    const missing: string[] = [];
    for (const tool of tools) if (!(await onPath(tool))) missing.push(tool);
    if (missing.length === 0) return;
    if (process.getuid?.() !== 0 || !(await onPath('apt-get'))) {
      throw new Error(`the interop tests need ${missing.join(', ')} (Debian packages): install them with apt-get install -y ${missing.join(' ')}, as .ci/run does`);
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await runTool('apt-get', env, ['update', '-qq'], undefined, TOOL_INSTALL_TIMEOUT_MS);
    await runTool('apt-get', env, ['install', '-y', '-qq', ...missing], undefined, TOOL_INSTALL_TIMEOUT_MS);
  });
  installing = next.catch(() => undefined);
  return next;
}

async function onPath(command: string): Promise<boolean> {
  try {
    await runTool('sh', process.env, ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** Output of a client that exited 0. */
export interface ToolResult {
  stdout: Buffer;
  stderr: string;
}

/** A client that exited non-zero (or could not start), with what it printed. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Creates the private directories under `scratch`; returns the environment every client runs with. */
export async function isolatedToolEnv(scratch: string): Promise<NodeJS.ProcessEnv> {
  await mkdir(path.join(scratch, 'home'), { recursive: true });
  await mkdir(path.join(scratch, 'run'), { recursive: true, mode: 0o700 });
  const registriesConf = path.join(scratch, 'registries.conf');
  await writeFile(registriesConf, 'unqualified-search-registries = []\n');
  // podman and buildah refuse a REGISTRY_AUTH_FILE that does not exist; skopeo creates it on login.
  await writeFile(path.join(scratch, 'run', 'auth.json'), '{}\n');
  return {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: path.join(scratch, 'home'),
    XDG_RUNTIME_DIR: path.join(scratch, 'run'),
    XDG_CONFIG_HOME: path.join(scratch, 'home', '.config'),
    XDG_DATA_HOME: path.join(scratch, 'home', '.local', 'share'),
    // The only credentials a client may find are the ones a test logs in with.
    REGISTRY_AUTH_FILE: path.join(scratch, 'run', 'auth.json'),
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    TMPDIR: scratch,
  };
}

/**
 * Runs `command` with `env` and `input` on its standard input; rejects with
 * its stderr on a non-zero exit, and with how to install it when it is
 * missing (the suites that use a client fail without it, they are never
 * skipped).
 */
export function runTool(command: string, env: NodeJS.ProcessEnv, args: readonly string[], input?: string, timeoutMs = 90_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT'
          ? new ToolError(`${command} is not installed: .ci/run installs it (apt-get install -y ${command}); install it the same way to run test/interop`, error.code, '')
          : error,
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = Buffer.concat(stderr).toString('utf8');
      if (code === 0) resolve({ stdout: Buffer.concat(stdout), stderr: text });
      else reject(new ToolError(`${command} ${args.join(' ')} failed (${code ?? signal}):\n${text.trim()}`, code, text));
    });
    if (input !== undefined) {
      // A client that exits without reading its input must not fail the call with EPIPE.
      child.stdin!.once('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}
