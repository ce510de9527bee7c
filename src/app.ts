/**
 * @module app
 * The composition root: wires settings into a database, an event log, a
 * storage backend, the data plane and the registry. Nothing else constructs
 * these, so every entry point (server, CLI, tests, benchmarks) runs the same
 * assembly.
 */
import type { Settings, StorageBackendName } from './config.js';
import { RegistryError } from './errors/index.js';
import { assertNativeBlake3 } from './identity/index.js';
import { migrateDatabase, openDatabase, type Database, type OpenOptions } from './db/index.js';
import { EventLog } from './events/index.js';
import { Journal } from './views/index.js';
import { createBackend, type BackendSettings } from './storage/index.js';
import { createDataPlane, type DataPlane } from './dataplane/index.js';
import { coldTier, DEFAULT_OCI_LIMITS, Registry, referenceGuard, restoreStatusOf, tieredDataPlane } from './registry/index.js';
import { createMetrics, instrumentDatabase, observeBackend, type Metrics } from './observability/index.js';

/** A fully wired registry and what it holds open. */
export interface RegistryInstance {
  readonly registry: Registry;
  readonly db: Database;
  readonly log: EventLog;
  readonly dataPlane: DataPlane;
  readonly settings: Settings;
  /** This instance's metrics: database, storage and event-log series here; the HTTP layer adds its own. */
  readonly metrics: Metrics;
  /** Releases connections and file handles. */
  close(): Promise<void>;
}

/** Options for {@link openRegistry}. */
export interface OpenRegistryOptions extends OpenOptions {
  /** Apply pending migrations first (default true). */
  migrate?: boolean;
  /** Remove staging leftovers of writes that died (default false: only `serve` owns the store). */
  cleanStaging?: boolean;
}

/** Builds a registry from settings. */
export async function openRegistry(settings: Settings, options: OpenRegistryOptions = {}): Promise<RegistryInstance> {
  assertNativeBlake3();
  const metrics = createMetrics();
  const db = await openDatabase(settings.database, options);
  instrumentDatabase(db.knex, (operation, seconds, ok) => metrics.observeQuery(operation, seconds, ok));
  try {
    if (options.migrate !== false) await migrateDatabase(db);
    const opened = await createBackend(backendSettingsFor(settings));
    const backend = observeBackend(opened, metrics.storageObserver(opened.id));
    if (options.cleanStaging) await backend.removeStaleStaging();
    const hotPlane = createDataPlane(backend);
    // A cold tier (ADR 0022): reads of objects without a hot copy fall back to it.
    const cold = settings.storage.cold ? coldTier(hotPlane, await openColdDataPlane(settings, { metrics }), settings.storage.cold.streamable) : undefined;
    // The restore status is read through the registry built below (reads happen only after it exists).
    const built: { registry?: Registry } = {};
    const dataPlane = cold ? tieredDataPlane(cold, (address) => restoreStatusOf((built.registry as Registry).context, address)) : hotPlane;
    const log = new EventLog(db);
    metrics.trackEventLogHead(() => log.lastSequence());
    metrics.trackEventReaders(() => log.feed.waiting);
    // Every event that records stored bytes re-checks them against GC (docs/adr/0020).
    const journal = new Journal(db, log, referenceGuard(dataPlane));
    const registry = new Registry({
      db,
      log,
      journal,
      dataPlane,
      retentionDurations: settings.retentionDurations,
      oci: { ...DEFAULT_OCI_LIMITS, manifestMaxBytes: settings.oci.manifestMaxBytes, uploadTtlSeconds: settings.oci.uploadTtlSeconds },
      ...(redirectsDownloads(settings) ? { directDownloads: { expiresInSeconds: DIRECT_DOWNLOAD_SECONDS } } : {}),
      ...(settings.ociRetention ? { ociRetention: settings.ociRetention } : {}),
      ...(cold ? { coldTier: cold } : {}),
    });
    built.registry = registry;
    return {
      registry,
      db,
      log,
      dataPlane,
      settings,
      metrics,
      close: async () => {
        await log.close();
        await dataPlane.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** How long the URL of a redirected download works (`ARTIFACTSTORE_S3_REDIRECT`). */
export const DIRECT_DOWNLOAD_SECONDS = 300;

/** True when downloads are answered with a redirect to the store. */
function redirectsDownloads(settings: Settings): boolean {
  return settings.storage.backend === 's3' && settings.storage.s3?.redirect === true;
}

/**
 * The factory settings of the `kind` backend (the serving one by default)
 * from `settings`: `local` from `ARTIFACTSTORE_STORAGE_LOCAL_ROOT`, `s3` from
 * the `ARTIFACTSTORE_S3_*` variables.
 * @throws RegistryError `CONFIG_INVALID` when the S3 backend is not configured.
 */
export function backendSettingsFor(settings: Settings, kind: StorageBackendName = settings.storage.backend): BackendSettings {
  // Staging cleanup (ARTIFACTSTORE_STAGING_*) only matters where `serve` cleans, but is the same for every backend.
  const cleanup = settings.storage.stagingCleanup;
  if (kind === 'local') {
    return { kind: 'local', root: settings.storage.localRoot, ...(cleanup ? { stagingCleanup: cleanup.mode, stagingMaxAgeSeconds: cleanup.maxAgeSeconds } : {}) };
  }
  const s3 = settings.storage.s3;
  if (s3 === undefined) throw new RegistryError('CONFIG_INVALID', 'the s3 storage backend is not configured: set ARTIFACTSTORE_S3_BUCKET and the other ARTIFACTSTORE_S3_* settings');
  const { redirect: _redirect, ...options } = s3;
  return { kind: 's3', ...options, ...(cleanup ? { stagingCleanup: cleanup.mode, staleStagingAgeSeconds: cleanup.maxAgeSeconds } : {}) };
}

/**
 * Opens a data plane over the `kind` backend of `settings`, beside the one
 * {@link openRegistry} serves from: for commands that work on two backends
 * (`storage migrate`). The caller closes it. Staging leftovers are not cleaned.
 */
export async function openDataPlane(settings: Settings, kind: StorageBackendName, options: { metrics?: Metrics } = {}): Promise<DataPlane> {
  const opened = await createBackend(backendSettingsFor(settings, kind));
  return createDataPlane(options.metrics ? observeBackend(opened, options.metrics.storageObserver(opened.id)) : opened);
}

/** Backend ids of cold backends: distinct from the serving ones, so both can hold a copy (`storage_locations` is keyed by backend). */
export const COLD_BACKEND_IDS = { local: 'cold-local', s3: 'cold-s3' } as const;

/**
 * The factory settings of the cold tier (`ARTIFACTSTORE_COLD_*`, ADR 0022).
 * @throws RegistryError `CONFIG_INVALID` when no cold tier is configured.
 */
export function coldBackendSettings(settings: Settings): BackendSettings {
  const cold = settings.storage.cold;
  if (cold === undefined) throw new RegistryError('CONFIG_INVALID', 'no cold storage tier is configured: set ARTIFACTSTORE_COLD_STORAGE_BACKEND and its settings');
  if (cold.backend === 'local') return { kind: 'local', root: cold.localRoot as string, id: COLD_BACKEND_IDS.local };
  const { redirect: _redirect, ...options } = cold.s3 as NonNullable<typeof cold.s3>;
  return { kind: 's3', ...options, id: COLD_BACKEND_IDS.s3 };
}

/** Opens a data plane over the cold tier's backend. The caller closes it. */
export async function openColdDataPlane(settings: Settings, options: { metrics?: Metrics } = {}): Promise<DataPlane> {
  const opened = await createBackend(coldBackendSettings(settings));
  return createDataPlane(options.metrics ? observeBackend(opened, options.metrics.storageObserver(opened.id)) : opened);
}
