/**
 * @module oci/pagination
 * The `n` / `last` paging of tag lists, the catalog and referrers, and the
 * RFC 8288 `Link: <…>; rel="next"` header that points at the next page.
 */
import { RegistryError } from '../errors/index.js';

/** A page request: at most `n` entries (null: the endpoint's default) after `last` (null: from the start). */
export interface PageRequest {
  readonly n: number | null;
  readonly last: string | null;
}

/** Limits applied by {@link parsePageRequest}. */
export interface PageOptions {
  /** Largest `n` served; by default only the safe-integer range limits it. */
  readonly max?: number;
  /** What to do with `n > max`: refuse (as distribution does on `_catalog`) or serve `max` entries (default `'reject'`). */
  readonly overMax?: 'reject' | 'clamp';
}

/** A raw query parameter as HTTP frameworks hand it over: absent, once, or repeated. */
export type QueryValue = string | readonly string[] | null | undefined;

/**
 * Parses the `n` and `last` query parameters. A repeated parameter counts by
 * its first value (as Go's `Query().Get` does); an empty value counts as
 * absent. `n` must be a non-negative decimal integer; `n=0` is valid (an
 * empty page without `Link`). `last` is returned verbatim: it is a tag or
 * repository name the caller may validate.
 * @throws RegistryError `PAGINATION_NUMBER_INVALID` when `n` is not a
 *   non-negative integer, is beyond the safe-integer range, or exceeds
 *   `options.max` with `overMax: 'reject'`.
 */
export function parsePageRequest(query: { readonly n?: QueryValue; readonly last?: QueryValue }, options: PageOptions = {}): PageRequest {
  const nText = first(query.n);
  const last = first(query.last);
  let n: number | null = null;
  if (nText !== null) {
    if (!/^[0-9]+$/.test(nText)) {
      throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, got ${JSON.stringify(nText)}`, { n: nText });
    }
    const value = Number(nText);
    const { max, overMax = 'reject' } = options;
    if (max !== undefined && value > max) {
      if (overMax === 'reject') throw new RegistryError('PAGINATION_NUMBER_INVALID', `n is ${nText}; the limit is ${max}`, { n: nText, max });
      n = max;
    } else if (!Number.isSafeInteger(value)) {
      throw new RegistryError('PAGINATION_NUMBER_INVALID', `n is too large: ${nText}`, { n: nText });
    } else {
      n = value;
    }
  }
  return { n, last };
}

function first(value: QueryValue): string | null {
  const text = typeof value === 'string' ? value : (value?.[0] ?? null);
  return text === '' ? null : text;
}

/**
 * The value of a `Link` header pointing at the next page:
 * `<path?n=…&last=…[&key=value…]>; rel="next"`. `path` is the raw
 * (unencoded) absolute path of the current request, e.g.
 * `/v2/library/ubuntu/tags/list`; each of its segments is percent-encoded
 * (keeping `:` and `@`, so digests stay readable), as is every query value.
 * `extra` parameters (e.g. a referrers `artifactType` filter) follow `n`
 * and `last` in their insertion order.
 */
export function nextPageLink(path: string, next: { readonly n: number; readonly last: string }, extra: Readonly<Record<string, string>> = {}): string {
  const encodedPath = path.split('/').map(encodePathSegment).join('/');
  const params: Array<[string, string]> = [['n', String(next.n)], ['last', next.last], ...Object.entries(extra)];
  const query = params.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
  return `<${encodedPath}?${query}>; rel="next"`;
}

function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%3A/gi, ':').replace(/%40/gi, '@');
}
