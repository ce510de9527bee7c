/**
 * @module cli/pull
 * `artifactstore pull <package-id> <dir> --url U`: a remote package's files
 * into a directory, each verified against both digests; an interrupted pull
 * resumes its partial files when run again.
 */
import type { Command } from 'commander';
import { pullPackage } from '../client/index.js';
import { createProgress } from './common.js';
import { positiveInteger } from './push.js';
import { addRemoteOptions, openClient, runRemote, type RemoteOptions } from './remote-events.js';

interface PullCliOptions extends RemoteOptions {
  parallel: number;
  manifest?: string;
  json?: boolean;
}

/** Registers `pull`. */
export function registerPull(program: Command): void {
  const command = program
    .command('pull')
    .description('download every file of a remote package into <dir> at its relative path, verifying BLAKE3 and SHA-256; run again to resume')
    .argument('<package-id>', 'the package to download')
    .argument('<dir>', 'target directory (created if missing; nothing is written outside it)');
  addRemoteOptions(command)
    .option('--parallel <count>', 'files downloaded at once', positiveInteger('--parallel'), 4)
    .option('--manifest <file>', 'also save the package manifest (canonical CBOR, finalized packages only) to <file>')
    .option('--json', 'print {"package_id", "manifest_digest", "files", "bytes", …} as JSON')
    .action(async (packageId: string, dir: string, options: PullCliOptions) => {
      const client = openClient(options);
      const progress = createProgress('bytes');
      await runRemote(async (signal) => {
        let result;
        try {
          result = await pullPackage(client, packageId, dir, {
            parallel: options.parallel,
            ...(options.manifest !== undefined ? { manifestPath: options.manifest } : {}),
            signal,
            onPackage: (pkg, _files, total) => {
              if (pkg.status !== 'finalized') process.stderr.write(`artifactstore: warning: package ${pkg.id} is not finalized; its files may still change\n`);
              progress.start(total, `pull ${pkg.id}`);
            },
            onProgress: (done) => progress.update(done),
          });
        } finally {
          progress.stop();
        }
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ package_id: result.package.id, manifest_digest: result.manifest_digest, files: result.files.length, bytes: result.bytes, downloaded: result.downloaded, resumed: result.resumed, present: result.present })}\n`,
          );
        } else {
          process.stdout.write(
            `package ${result.package.id}\nmanifest ${result.manifest_digest ?? 'none (not finalized)'}\nfiles ${result.files.length}, ${result.bytes} bytes (downloaded ${result.downloaded}, resumed ${result.resumed}, already present ${result.present})\n`,
          );
        }
      });
    });
}
