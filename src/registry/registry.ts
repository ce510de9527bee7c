/**
 * @module registry/registry
 * The registry facade: one method per use case, each a thin call into the
 * module that owns it. HTTP handlers and CLI commands talk only to this.
 */
import type { ByteRange } from '../storage/index.js';
import type { ReplayProgress } from '../views/index.js';
import type { Actor, RegistryContext } from './context.js';
import { fetchEvents, tailEvents } from './events.js';
import { getFile, ingestFile, listFiles, openFile, type IngestFileInput } from './files.js';
import { finalizePackage, getManifestBytes } from './finalize.js';
import { health, replay, verify } from './maintenance.js';
import { createPackage, getPackage, type CreatePackageInput } from './packages.js';

/** All use cases of one registry instance. */
export class Registry {
  constructor(readonly context: RegistryContext) {}

  createPackage(input: CreatePackageInput, actor: Actor) { return createPackage(this.context, input, actor); }
  getPackage(id: string) { return getPackage(this.context, id); }
  ingestFile(packageId: string, input: IngestFileInput, source: AsyncIterable<Uint8Array>, actor: Actor, signal?: AbortSignal) {
    return ingestFile(this.context, packageId, input, source, actor, signal);
  }
  listFiles(packageId: string) { return listFiles(this.context, packageId); }
  getFile(fileId: string) { return getFile(this.context, fileId); }
  openFile(fileId: string, range?: ByteRange) { return openFile(this.context, fileId, range); }
  finalizePackage(packageId: string, actor: Actor) { return finalizePackage(this.context, packageId, actor); }
  getManifestBytes(packageId: string, format: 'cbor' | 'json') { return getManifestBytes(this.context, packageId, format); }
  fetchEvents(since: number, limit: number) { return fetchEvents(this.context, since, limit); }
  tailEvents(since: number, signal?: AbortSignal) { return tailEvents(this.context, since, signal); }
  health() { return health(this.context); }
  verify(options: { objects?: boolean; onProgress?: (stage: string, progress: ReplayProgress) => void } = {}) { return verify(this.context, options); }
  replay(onProgress?: (progress: ReplayProgress) => void) { return replay(this.context, onProgress); }
}
