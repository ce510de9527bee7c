/**
 * @module registry/media-types
 * A media type guessed from a file name's extension, for producers that do
 * not name one. Unknown extensions are plain bytes.
 */

const BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: 'text/plain', log: 'text/plain', md: 'text/markdown', csv: 'text/csv', tsv: 'text/tab-separated-values',
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript', mjs: 'text/javascript',
  json: 'application/json', jsonl: 'application/jsonl', ndjson: 'application/x-ndjson',
  xml: 'application/xml', yaml: 'application/yaml', yml: 'application/yaml', toml: 'application/toml',
  cbor: 'application/cbor', pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip',
  tgz: 'application/gzip', tar: 'application/x-tar', zst: 'application/zstd', xz: 'application/x-xz',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp',
  wasm: 'application/wasm', sarif: 'application/sarif+json', junit: 'application/xml',
};

/** Fallback media type for unknown content. */
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

/** The media type for `fileName`'s extension, or {@link DEFAULT_MEDIA_TYPE}. */
export function guessMediaType(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return DEFAULT_MEDIA_TYPE;
  return BY_EXTENSION[base.slice(dot + 1).toLowerCase()] ?? DEFAULT_MEDIA_TYPE;
}
