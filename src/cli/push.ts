/**
 * @module cli/push
 * `artifactstore push <dir> --url U`: one directory becomes one finalized
 * package on a remote server, uploaded in resumable chunks a few files at a
 * time. An interrupted push continues with `--resume <package-id>`.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_CHUNK_SIZE, PushStateFile, defaultPushStatePath, pushPackage, type Package } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import { guessMediaType } from '../registry/media-types.js';
import { createProgress } from './common.js';
import { parseMetadata, walk } from './ingest.js';
import { addRemoteOptions, openClient, runRemote, type RemoteOptions } from './remote-events.js';

interface PushCliOptions extends RemoteOptions {
  name?: string;
  producer?: string;
  retentionClass?: string;
  subject?: string;
  metadata: string[];
  parallel: number;
  chunkSize: number;
  resume?: string;
  stateFile?: string;
  json?: boolean;
}

/** Registers `push`. */
export function registerPush(program: Command): void {
  const command = program
    .command('push')
    .description('upload every file under <dir> to a remote server as a new package, finalize it, and print its id and manifest digest')
    .argument('<dir>', 'directory to push (regular files only; symbolic links are refused)');
  addRemoteOptions(command)
    .option('--name <name>', 'package name (required unless --resume)')
    .option('--producer <producer>', 'who produced the files (required unless --resume)')
    .option('--retention-class <class>', 'transient | raw-evidence | summary-evidence | release-evidence | permanent-record (required unless --resume)')
    .option('--subject <subject>', 'what the package is about')
    .option('--metadata <key=value>', 'metadata entry (repeatable)', (entry: string, all: string[]) => [...all, entry], [])
    .option('--parallel <count>', 'files uploaded at once', positiveInteger('--parallel'), 4)
    .addOption(new Option('--chunk-size <size>', 'bytes per request: a number with an optional KiB/MiB/GiB (or KB/MB/GB) suffix').argParser(byteSize('--chunk-size')).default(DEFAULT_CHUNK_SIZE, `${DEFAULT_CHUNK_SIZE >> 20}MiB`))
    .option('--resume <package-id>', 'continue an interrupted push of this package: present files are skipped, open uploads continue from the server offset')
    .option('--state-file <path>', 'where in-flight upload sessions are remembered (default: a file in the OS temp directory named after --url and <dir>)')
    .option('--json', 'print {"package_id", "manifest_digest"} as JSON')
    .action(async (dir: string, options: PushCliOptions, self: Command) => {
      if (options.resume === undefined) {
        const missing = [['--name', options.name], ['--producer', options.producer], ['--retention-class', options.retentionClass]].filter(([, value]) => value === undefined).map(([flag]) => flag);
        if (missing.length > 0) self.error(`error: required option${missing.length > 1 ? 's' : ''} ${missing.map((flag) => `'${flag}'`).join(', ')} not specified (or continue a push with --resume <package-id>)`);
      }
      const metadata = parseMetadata(options.metadata);
      const root = path.resolve(dir);
      const found = await walk(root);
      const client = openClient(options);
      const stateFile = options.stateFile ?? defaultPushStatePath(client.url, root);
      const state = new PushStateFile(stateFile);
      const progress = createProgress('bytes');
      let packageId = options.resume;
      const hint = (): string | undefined =>
        packageId ? `artifactstore: continue this push with: artifactstore push ${quote(dir)} --url ${quote(options.url)} --resume ${packageId}${options.stateFile ? ` --state-file ${quote(options.stateFile)}` : ''}` : undefined;

      await runRemote(async (signal) => {
        let result;
        try {
          result = await pushPackage(client, {
            ...(options.resume !== undefined
              ? { resume: options.resume }
              : { create: { name: options.name!, producer: options.producer!, retention_class: options.retentionClass!, subject: options.subject ?? null, metadata } }),
            files: found.map((file) => ({ relative_path: file.relative, absolute_path: file.absolute, size: file.size })),
            parallel: options.parallel,
            chunkSize: options.chunkSize,
            mediaType: guessMediaType,
            state,
            signal,
            onPackage: (pkg, total, done) => {
              if (options.resume !== undefined) assertSamePackage(pkg, options, metadata);
              packageId = pkg.id;
              if (options.resume === undefined) process.stderr.write(`artifactstore: pushing package ${pkg.id} (${found.length} files); an interrupted push continues with --resume ${pkg.id}\n`);
              progress.start(total, `push ${pkg.id}`);
              progress.update(done);
            },
            onProgress: ({ done }) => progress.update(done),
          });
        } finally {
          progress.stop();
        }
        packageId = undefined; // done: no resume hint
        const totalBytes = found.reduce((sum, file) => sum + file.size, 0);
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ package_id: result.package_id, manifest_digest: result.manifest_digest })}\n`);
        } else {
          process.stdout.write(
            `package ${result.package_id}\nmanifest ${result.manifest_digest}\nfiles ${found.length}, ${totalBytes} bytes (uploaded ${result.uploaded.length} files, ${result.bytes_uploaded} bytes; already present ${result.skipped.length})\n`,
          );
        }
      }, hint);
    });
}

/** With --resume, options that describe the package must describe the one being resumed. */
function assertSamePackage(pkg: Package, options: PushCliOptions, metadata: Record<string, string>): void {
  const differs: string[] = [];
  if (options.name !== undefined && options.name !== pkg.name) differs.push(`--name ${JSON.stringify(options.name)} (package: ${JSON.stringify(pkg.name)})`);
  if (options.producer !== undefined && options.producer !== pkg.producer) differs.push(`--producer ${JSON.stringify(options.producer)} (package: ${JSON.stringify(pkg.producer)})`);
  if (options.retentionClass !== undefined && options.retentionClass !== pkg.retention_class) differs.push(`--retention-class ${options.retentionClass} (package: ${pkg.retention_class})`);
  if (options.subject !== undefined && options.subject !== pkg.subject) differs.push(`--subject ${JSON.stringify(options.subject)} (package: ${JSON.stringify(pkg.subject)})`);
  for (const [key, value] of Object.entries(metadata)) if (pkg.metadata[key] !== value) differs.push(`--metadata ${key}=${value}`);
  if (differs.length > 0) throw new RegistryError('FIELD_INVALID', `--resume ${pkg.id}: the package was created differently: ${differs.join(', ')}`);
}

/** Parses a positive integer option. */
export function positiveInteger(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
};

/** Parses a byte size like `8MiB`, `512k` or `1048576` (at most 1 GiB). */
export function byteSize(name: string) {
  return (value: string): number => {
    const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
    const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
    const bytes = match && unit !== undefined ? Number(match[1]) * unit : Number.NaN;
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 1024 ** 3) throw new Error(`${name} must be a size from 1 byte to 1GiB like 8MiB or 65536, got ${JSON.stringify(value)}`);
    return bytes;
  };
}

function quote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
