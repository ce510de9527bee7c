/**
 * @module cli/guide-board
 * `artifactstore guide-board ingest <run_dir>`: the pilot producer. A
 * guide-board run directory (run.json, reports, logs, evidence) becomes one
 * finalized package whose metadata is run.json, held to the shipped schema
 * `guide-board.run.v1`. Ingesting a run id again returns its package; a
 * package of the run left unfinalized by an interrupted ingest is resumed.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { PushStateFile, defaultPushStatePath, matchesRecord, pushPackage, type FileRecord } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import type { PackageView, Registry, SchemaViolation } from '../registry/index.js';
import { guessMediaType } from '../registry/media-types.js';
import { localActor, withRegistry } from './common.js';
import { INGEST_READ_CHUNK, walk } from './ingest.js';
import { positiveInteger } from './push.js';
import { openClient, runRemote } from './remote-events.js';
import { readShippedSchema, registerShippedSchemas } from './shipped-schemas.js';

/** The producer every guide-board package is recorded under. */
export const GUIDE_BOARD_PRODUCER = 'guide-board';
/** The schema run.json must conform to. */
export const GUIDE_BOARD_SCHEMA = 'guide-board.run.v1';
/** The run description inside a run directory. */
export const RUN_FILE = 'run.json';

/**
 * Retention class per `result_status`: a passing run keeps its summary
 * evidence a year, a failing one its raw evidence 90 days, runs that never
 * produced a verdict only a week. Overridden by `--retention` or
 * `ARTIFACTSTORE_GUIDE_BOARD_RETENTION`.
 */
export const DEFAULT_RETENTION_BY_STATUS: Readonly<Record<string, string>> = {
  passed: 'summary-evidence',
  failed: 'raw-evidence',
  error: 'transient',
  cancelled: 'transient',
};

interface GuideBoardOptions {
  url?: string;
  token?: string;
  retention?: Record<string, string>;
  parallel: number;
  json?: boolean;
}

/** What an ingest did, as printed with `--json`. */
export interface GuideBoardResult {
  readonly package_id: string;
  readonly manifest_digest: string;
  readonly run_id: string;
  readonly retention_class: string;
  /** `created`: a new package; `resumed`: an unfinalized one of this run was finished; `existing`: the run was already ingested. */
  readonly outcome: 'created' | 'resumed' | 'existing';
}

/** A run directory, read and checked. */
interface Run {
  readonly dir: string;
  readonly runId: string;
  readonly metadata: Record<string, unknown>;
  readonly files: Awaited<ReturnType<typeof walk>>;
  readonly retentionClass: string;
  readonly subject: string;
}

/** Registers `guide-board ingest`. */
export function registerGuideBoard(program: Command): void {
  const group = program.command('guide-board').description('the guide-board pilot producer');
  group
    .command('ingest')
    .description(`ingest a guide-board run directory as one finalized package (metadata: run.json, checked against ${GUIDE_BOARD_SCHEMA}); re-running returns the run's package`)
    .argument('<run_dir>', 'the run directory (run.json at its top; every regular file is uploaded with its relative path)')
    .option('--url <url>', 'base URL of the artifactstore server (without it: the local registry configured by ARTIFACTSTORE_*)')
    .addOption(new Option('--token <token>', 'bearer token sent to the server').env('ARTIFACTSTORE_TOKEN'))
    .addOption(
      new Option('--retention <status=class,…>', `retention class per result_status, over the defaults ${formatMapping(DEFAULT_RETENTION_BY_STATUS)}`)
        .env('ARTIFACTSTORE_GUIDE_BOARD_RETENTION')
        .argParser(parseRetentionMapping),
    )
    .option('--parallel <count>', 'files uploaded at once (with --url)', positiveInteger('--parallel'), 4)
    .option('--json', 'print {"package_id", "manifest_digest", "run_id", "retention_class", "outcome"} as JSON')
    .action(async (runDir: string, options: GuideBoardOptions) => {
      const run = await readRun(path.resolve(runDir), { ...DEFAULT_RETENTION_BY_STATUS, ...(options.retention ?? {}) });
      const print = (result: GuideBoardResult): void => {
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stdout.write(`package ${result.package_id}\nmanifest ${result.manifest_digest}\n${result.outcome === 'existing' ? `run ${result.run_id} was already ingested\n` : ''}`);
      };
      if (options.url === undefined) {
        print(await ingestLocally(run));
        return;
      }
      const client = openClient({ url: options.url, token: options.token });
      await runRemote(async (signal) => print(await ingestRemotely(client, run, options.parallel, signal)));
    });
}

/**
 * Reads `<dir>/run.json`, checks it against the shipped schema (every
 * violation listed) and that its report paths are files of the directory,
 * and picks the retention class.
 * @throws RegistryError METADATA_SCHEMA_VIOLATION, FIELD_INVALID.
 */
async function readRun(dir: string, retention: Readonly<Record<string, string>>): Promise<Run> {
  const files = await walk(dir);
  let metadata: unknown;
  try {
    metadata = JSON.parse(await readFile(path.join(dir, RUN_FILE), 'utf8'));
  } catch (error) {
    throw new RegistryError('FIELD_INVALID', `${path.join(dir, RUN_FILE)}: ${(error as Error).message}`, undefined, { cause: error });
  }
  // Checked here before anything is created; the registry checks again against the registered schema.
  const { compileMetadataSchema } = await import('../registry/metadata-schemas.js');
  const validate = compileMetadataSchema((await readShippedSchema(GUIDE_BOARD_SCHEMA)).schema);
  const violations = validate(metadata);
  if (violations.length > 0) throw violationError(violations);
  const run = metadata as Record<string, unknown> & { run_id: string; result_status: string; target_profile_ref: string; report_paths: string[] };
  const present = new Set(files.map((file) => file.relative));
  const missing = run.report_paths.filter((report) => !present.has(report));
  if (missing.length > 0) {
    throw violationError(missing.map((report) => ({ pointer: `/report_paths/${run.report_paths.indexOf(report)}`, message: `${report} is not a file of the run directory` })));
  }
  const retentionClass = retention[run.result_status];
  if (retentionClass === undefined) throw new RegistryError('FIELD_INVALID', `no retention class for result_status ${run.result_status}: add one with --retention ${run.result_status}=<class>`);
  return { dir, runId: run.run_id, metadata: run, files, retentionClass, subject: run.target_profile_ref };
}

/** The problems the CLI prints one per line (see cli/main). */
function violationError(violations: readonly SchemaViolation[]): RegistryError {
  return new RegistryError('METADATA_SCHEMA_VIOLATION', `${RUN_FILE} does not conform to ${GUIDE_BOARD_SCHEMA} (${violations.length} violation${violations.length === 1 ? '' : 's'}); nothing was created`, {
    schema: GUIDE_BOARD_SCHEMA,
    violations,
    problems: violations.map((violation) => `${violation.pointer || '(root)'}: ${violation.message}`),
  });
}

/** The package to create for `run`. */
function packageOf(run: Run) {
  return { name: `${GUIDE_BOARD_PRODUCER}/${run.runId}`, producer: GUIDE_BOARD_PRODUCER, subject: run.subject, retention_class: run.retentionClass, metadata: run.metadata, metadata_schema: GUIDE_BOARD_SCHEMA };
}

/**
 * The run's earlier package, if any: a finalized one wins over an
 * unfinalized one (to resume); deleted ones do not count.
 */
function pickEarlier<T extends { status: string }>(packages: readonly T[]): T | undefined {
  return packages.find((pkg) => pkg.status === 'finalized') ?? packages.find((pkg) => pkg.status === 'created');
}

/**
 * Checks an earlier package of the run against run.json now: a package to
 * resume must have been created from the same run.json (its metadata cannot
 * change); a finalized one is returned anyway, with a warning.
 */
function checkEarlier(run: Run, earlier: { id: string; status: string; metadata: unknown }): void {
  if (sameJson(earlier.metadata, run.metadata)) return;
  const message = `run.json differs from the metadata of package ${earlier.id} of run ${run.runId}`;
  if (earlier.status !== 'finalized') throw new RegistryError('METADATA_INVALID', `${message}: the run directory changed since the interrupted ingest`);
  process.stderr.write(`artifactstore: warning: ${message}; returning the package ingested first\n`);
}

/** Equal as JSON values, whatever the key order. */
function sameJson(a: unknown, b: unknown): boolean {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(sorted)
      : value !== null && typeof value === 'object' ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted((value as Record<string, unknown>)[key])]))
        : value;
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

async function ingestRemotely(client: ReturnType<typeof openClient>, run: Run, parallel: number, signal: AbortSignal): Promise<GuideBoardResult> {
  const found: Array<{ id: string; status: string; manifest_digest: string | null; retention_class: string; metadata: unknown }> = [];
  for await (const pkg of client.listPackages({ producer: GUIDE_BOARD_PRODUCER, metadata: { run_id: run.runId } }, { signal })) found.push(pkg);
  const earlier = pickEarlier(found);
  if (earlier) checkEarlier(run, earlier);
  if (earlier?.status === 'finalized') {
    return { package_id: earlier.id, manifest_digest: earlier.manifest_digest!, run_id: run.runId, retention_class: earlier.retention_class, outcome: 'existing' };
  }
  const result = await pushPackage(client, {
    ...(earlier ? { resume: earlier.id } : { create: packageOf(run) }),
    files: run.files.map((file) => ({ relative_path: file.relative, absolute_path: file.absolute, size: file.size })),
    parallel,
    mediaType: guessMediaType,
    // Upload sessions in flight are remembered as `push` does, so an interrupted ingest continues them.
    state: new PushStateFile(defaultPushStatePath(client.url, run.dir)),
    signal,
    onPackage: (pkg) => {
      if (!earlier) process.stderr.write(`artifactstore: ingesting run ${run.runId} as package ${pkg.id} (${run.files.length} files)\n`);
      else process.stderr.write(`artifactstore: resuming package ${pkg.id} of run ${run.runId}\n`);
    },
  });
  return { package_id: result.package_id, manifest_digest: result.manifest_digest!, run_id: run.runId, retention_class: earlier?.retention_class ?? run.retentionClass, outcome: earlier ? 'resumed' : 'created' };
}

async function ingestLocally(run: Run): Promise<GuideBoardResult> {
  return withRegistry(async ({ registry }) => {
    const actor = localActor();
    await registerShippedSchemas(registry, actor);
    const found = (await registry.listPackages({ producer: GUIDE_BOARD_PRODUCER, metadata: { run_id: run.runId } }, { limit: 1000 })).items;
    const earlier = pickEarlier(found);
    if (earlier) checkEarlier(run, earlier);
    if (earlier?.status === 'finalized') {
      return { package_id: earlier.id, manifest_digest: earlier.manifestDigest!, run_id: run.runId, retention_class: earlier.retentionClass, outcome: 'existing' };
    }
    const wanted = packageOf(run);
    const pkg: PackageView = earlier ?? await registry.createPackage(
      { name: wanted.name, producer: wanted.producer, subject: wanted.subject, retentionClass: wanted.retention_class, metadata: wanted.metadata, metadataSchema: wanted.metadata_schema },
      actor,
    );
    await ingestMissingFiles(registry, pkg.id, run, actor);
    const finalized = await registry.finalizePackage(pkg.id, actor);
    return { package_id: pkg.id, manifest_digest: finalized.manifestDigest, run_id: run.runId, retention_class: pkg.retentionClass, outcome: earlier ? 'resumed' : 'created' };
  });
}

/** Ingests the run's files the package lacks; files it has must be the same bytes. */
async function ingestMissingFiles(registry: Registry, packageId: string, run: Run, actor: string): Promise<void> {
  const present = new Map((await registry.listFiles(packageId)).map((file) => [file.relativePath, file]));
  for (const file of run.files) {
    const stored = present.get(file.relative);
    if (stored) {
      const record = { id: stored.id, size: stored.size, content_address: stored.contentAddress, digest_sha256: stored.digestSha256 } as FileRecord;
      if (!(await matchesRecord(file.absolute, record))) {
        throw new RegistryError('DIGEST_MISMATCH', `${file.relative} differs from the copy in package ${packageId}: the run directory changed since the interrupted ingest`);
      }
      continue;
    }
    await registry.ingestFile(packageId, { relativePath: file.relative, mediaType: guessMediaType(file.relative), expect: { size: file.size } }, createReadStream(file.absolute, { highWaterMark: INGEST_READ_CHUNK }), actor);
  }
}

/** Parses `status=class,status=class`. */
export function parseRetentionMapping(text: string): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const entry of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^([a-z_]+)=([a-z-]+)$/.exec(entry);
    if (!match) throw new Error(`--retention takes status=class pairs separated by commas, got ${JSON.stringify(entry)}`);
    mapping[match[1]!] = match[2]!;
  }
  return mapping;
}

function formatMapping(mapping: Readonly<Record<string, string>>): string {
  return Object.entries(mapping).map(([status, retentionClass]) => `${status}=${retentionClass}`).join(',');
}
