/**
 * @module cli/ingest
 * `artifactstore ingest <dir>`: one directory becomes one finalized package.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { RegistryError } from '../errors/index.js';
import { guessMediaType } from '../registry/media-types.js';
import { createProgress, localActor, withRegistry } from './common.js';

interface IngestOptions {
  name: string;
  producer: string;
  retentionClass: string;
  subject?: string;
  metadata: string[];
  json?: boolean;
}


/**
 * Read size for ingested files. Measured reading 1 GiB from the page cache
 * with both digests: 4 MiB reads 607 MiB/s (each read maps and faults a
 * fresh 4 MiB buffer), 1 MiB 912 MiB/s, 256 KiB 836 MiB/s.
 */
export const INGEST_READ_CHUNK = 1 << 20;

/** A regular file found under the ingested directory. */
interface FoundFile {
  readonly absolute: string;
  readonly relative: string;
  readonly size: number;
}

/** Registers `ingest`. */
export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('ingest every file under <dir> into a new package, finalize it, and print its id and manifest digest')
    .argument('<dir>', 'directory to ingest (regular files only; symbolic links are refused)')
    .requiredOption('--name <name>', 'package name')
    .requiredOption('--producer <producer>', 'who produced the files')
    .requiredOption('--retention-class <class>', 'transient | raw-evidence | summary-evidence | release-evidence | permanent-record')
    .option('--subject <subject>', 'what the package is about')
    .option('--metadata <key=value>', 'metadata entry (repeatable)', (entry: string, all: string[]) => [...all, entry], [])
    .option('--json', 'print {"package_id", "manifest_digest"} as JSON')
    .action(async (dir: string, options: IngestOptions) => {
      const metadata = parseMetadata(options.metadata);
      const root = path.resolve(dir);
      const files = await walk(root);
      const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
      await withRegistry(async ({ registry }) => {
        const actor = localActor();
        const pkg = await registry.createPackage(
          { name: options.name, producer: options.producer, retentionClass: options.retentionClass, subject: options.subject ?? null, metadata },
          actor,
        );
        const progress = createProgress('bytes');
        progress.start(totalBytes, `ingest ${pkg.id}`);
        let done = 0;
        try {
          for (const file of files) {
            const source = counted(createReadStream(file.absolute, { highWaterMark: INGEST_READ_CHUNK }), (bytes) => progress.update((done += bytes)));
            await registry.ingestFile(pkg.id, { relativePath: file.relative, mediaType: guessMediaType(file.relative), expect: { size: file.size } }, source, actor);
          }
        } finally {
          progress.stop();
        }
        const finalized = await registry.finalizePackage(pkg.id, actor);
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ package_id: pkg.id, manifest_digest: finalized.manifestDigest })}\n`);
        } else {
          process.stdout.write(`package ${pkg.id}\nmanifest ${finalized.manifestDigest}\nfiles ${files.length}, ${totalBytes} bytes\n`);
        }
      });
    });
}

/**
 * Passes the chunks of `source` on unchanged, reporting each one's size. A
 * generator rather than a Transform stream: a stream stage would hold up to
 * its own high-water mark of chunks more in memory.
 */
async function* counted(source: AsyncIterable<Uint8Array>, onChunk: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onChunk(chunk.byteLength);
    yield chunk;
  }
}

/** Parses `key=value` entries into a metadata object (values are text). */
export function parseMetadata(entries: string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new RegistryError('METADATA_INVALID', `--metadata takes key=value, got ${JSON.stringify(entry)}`);
    const key = entry.slice(0, equals);
    if (Object.hasOwn(metadata, key)) throw new RegistryError('METADATA_INVALID', `--metadata key ${JSON.stringify(key)} given twice`);
    metadata[key] = entry.slice(equals + 1);
  }
  return metadata;
}

/** Regular files under `root`, relative paths with `/`, in code-unit order. */
export async function walk(root: string): Promise<FoundFile[]> {
  const rootStat = await lstat(root).catch(() => null);
  if (!rootStat?.isDirectory()) throw new RegistryError('FIELD_INVALID', `${root} is not a directory`);
  const found: FoundFile[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const absolute = path.join(dir, entry.name);
      const relative = path.relative(root, absolute).split(path.sep).join('/');
      if (entry.isDirectory()) await visit(absolute);
      else if (entry.isFile()) found.push({ absolute, relative, size: (await lstat(absolute)).size });
      else throw new RegistryError('FIELD_INVALID', `${relative} is not a regular file (symbolic links, sockets and devices are refused)`);
    }
  };
  await visit(root);
  return found.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}
