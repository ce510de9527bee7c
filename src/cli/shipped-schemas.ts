/**
 * @module cli/shipped-schemas
 * The metadata schemas shipped in `schemas/` at the repository root
 * (`<name>.json` each), registered by `serve` at startup and by commands
 * that need them. Registration is idempotent and serialised by the
 * registry, so every start, and two servers starting at once, record each
 * schema exactly once.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryError } from '../errors/index.js';
import type { Registry } from '../registry/index.js';

/** `schemas/` of this installation (`src/cli/` and `dist/cli/` are both two levels below the root). */
export const SHIPPED_SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

/** The actor of registrations made at startup. */
export const SHIPPED_SCHEMA_ACTOR = 'system:shipped-schemas';

/** One shipped schema file. */
export interface ShippedSchema {
  readonly name: string;
  readonly schema: Record<string, unknown>;
}

/**
 * Reads the shipped schema `name` (`<dir>/<name>.json`).
 * @throws RegistryError METADATA_SCHEMA_NOT_FOUND, METADATA_SCHEMA_INVALID (not a JSON object).
 */
export async function readShippedSchema(name: string, dir = SHIPPED_SCHEMAS_DIR): Promise<ShippedSchema> {
  // Loaded on use: JSON Schema (ajv) is not needed to start the CLI.
  const schemas: typeof import('../registry/metadata-schemas.js') = await import('../registry/metadata-schemas.js');
  schemas.assertSchemaName(name);
  let text: string;
  try {
    text = await readFile(path.join(dir, `${name}.json`), 'utf8');
  } catch (error) {
    throw new RegistryError('METADATA_SCHEMA_NOT_FOUND', `no shipped schema ${name} in ${dir}`, undefined, { cause: error });
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new RegistryError('METADATA_SCHEMA_INVALID', `${name}.json is not JSON: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new RegistryError('METADATA_SCHEMA_INVALID', `${name}.json is not a JSON object`);
  return { name, schema: schema as Record<string, unknown> };
}

/** Every `<name>.json` under `dir`, by name. */
export async function readShippedSchemas(dir = SHIPPED_SCHEMAS_DIR): Promise<ShippedSchema[]> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const names = entries.filter((entry) => entry.endsWith('.json')).map((entry) => entry.slice(0, -'.json'.length)).sort();
  return Promise.all(names.map((name) => readShippedSchema(name, dir)));
}

/**
 * Registers every shipped schema that is not registered yet; the ones
 * already there (identical) record nothing. A shipped file that differs
 * from the registered schema of its name is a `METADATA_SCHEMA_CONFLICT`:
 * a changed schema must ship under a new name.
 */
export async function registerShippedSchemas(registry: Registry, actor = SHIPPED_SCHEMA_ACTOR, dir = SHIPPED_SCHEMAS_DIR): Promise<Array<{ name: string; created: boolean }>> {
  const registered: Array<{ name: string; created: boolean }> = [];
  for (const { name, schema } of await readShippedSchemas(dir)) {
    const result = await registry.registerMetadataSchema(name, schema, actor);
    registered.push({ name, created: result.created });
  }
  return registered;
}
