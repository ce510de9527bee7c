/**
 * @module registry/objects
 * Raw content-addressed access, by `blake3:` or `sha256:`: the bridge that
 * lets package files and OCI blobs be fetched by either digest.
 */
import type { Readable } from 'node:stream';
import { RegistryError } from '../errors/index.js';
import { parseContentAddress } from '../identity/index.js';
import type { ByteRange } from '../dataplane/index.js';
import type { RegistryContext } from './context.js';

/** A stored object's identity. */
export interface ObjectView {
  readonly contentAddress: string;
  readonly digestSha256: string;
  readonly size: number;
}

/** Resolves an address to a stored object. @throws CONTENT_ADDRESS_INVALID, OBJECT_NOT_FOUND. */
export async function statObject(ctx: RegistryContext, address: string): Promise<ObjectView> {
  const parsed = parseContentAddress(address);
  const column = parsed.algorithm === 'blake3' ? 'content_address' : 'digest_sha256';
  const row = await ctx.db.knex('objects').where(column, address).first('content_address', 'digest_sha256', 'size');
  if (!row) throw new RegistryError('OBJECT_NOT_FOUND', `no object ${address}`);
  return { contentAddress: row.content_address, digestSha256: row.digest_sha256, size: Number(row.size) };
}

/** Opens an object's bytes, optionally a range. */
export async function openObject(ctx: RegistryContext, address: string, range?: ByteRange): Promise<{ object: ObjectView; stream: Readable; size: number; range: ByteRange | null }> {
  const object = await statObject(ctx, address);
  const served = await ctx.dataPlane.serveObject(object.contentAddress, range, { expectedSize: object.size });
  return { object, ...served };
}

/** Names (package names and OCI repositories) that hold `address`, for authorization. */
export async function namesHoldingObject(ctx: RegistryContext, address: string): Promise<string[]> {
  const object = await statObject(ctx, address);
  const knex = ctx.db.knex;
  const packages = await knex('artifact_files as f').join('artifact_packages as p', 'p.id', 'f.package_id').where('f.content_address', object.contentAddress).distinct('p.name').pluck('p.name');
  const links = await knex('oci_blob_links').where('content_address', object.contentAddress).distinct('repository').pluck('repository');
  const manifests = await knex('oci_manifests').where('content_address', object.contentAddress).distinct('repository').pluck('repository');
  return [...new Set([...packages, ...links, ...manifests] as string[])];
}
