/**
 * @module storage/factory
 * Creates a backend from settings by kind name. This is the only module that
 * knows the concrete backends; a new backend joins by adding its settings to
 * {@link BackendSettings} and its opener to the table below, and every caller
 * keeps calling {@link createBackend} unchanged.
 */
import { RegistryError } from '../errors/index.js';
import type { StorageBackend } from './backend.js';
import type { LocalBackendOptions } from './backends/local/index.js';
import type { S3BackendOptions } from './backends/s3/index.js';

/** Settings of the local-disk backend. */
export interface LocalBackendSettings extends LocalBackendOptions {
  kind: 'local';
}

/** Settings of the S3 backend (AWS S3 or an S3-compatible store). */
export interface S3BackendSettings extends S3BackendOptions {
  kind: 's3';
}

/** Settings of any backend, discriminated by `kind`. */
export type BackendSettings = LocalBackendSettings | S3BackendSettings;

/** The kind names {@link createBackend} accepts. */
export type BackendKind = BackendSettings['kind'];

type Openers = { [K in BackendKind]: (settings: Extract<BackendSettings, { kind: K }>) => Promise<StorageBackend> };

// Each backend's module loads when it is first opened: the AWS SDK alone
// adds ~0.1 s to every start, and a local-disk registry never needs it.
const OPENERS: Openers = {
  local: async (settings) => (await import('./backends/local/index.js')).openLocalBackend(settings),
  s3: async (settings) => (await import('./backends/s3/index.js')).openS3Backend(settings),
};

/** The kind names this build can open, for configuration validation and help texts. */
export function backendKinds(): BackendKind[] {
  return Object.keys(OPENERS) as BackendKind[];
}

/**
 * Opens the backend `settings.kind` names. The backend is ready to use, but
 * staging leftovers are not cleaned: the caller runs
 * {@link StorageBackend.removeStaleStaging} before it starts writing.
 * @throws RegistryError `CONFIG_INVALID` for an unknown kind (settings often
 *   come from untyped configuration); `STORAGE_FAILURE` when the backend cannot open.
 */
export async function createBackend(settings: BackendSettings): Promise<StorageBackend> {
  const kind: unknown = (settings as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(OPENERS, kind)) {
    throw new RegistryError('CONFIG_INVALID', `unknown storage backend kind ${JSON.stringify(kind)}; expected one of ${backendKinds().join(', ')}`);
  }
  const open = OPENERS[kind as BackendKind] as (settings: BackendSettings) => Promise<StorageBackend>;
  return open(settings);
}
