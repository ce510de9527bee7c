/**
 * @module version
 * The package version, read once from package.json.
 */
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** artifactstore's version (package.json). */
export const VERSION: string = manifest.version;
