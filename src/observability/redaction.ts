/**
 * @module observability/redaction
 * Secrets in query strings (`token=`, `password=`, presigned-URL
 * signatures …) never reach an access log line: the path is sanitized here
 * before it is logged, whatever logger the application was given. (Header
 * and field redaction of the process logger is `src/logging.ts`'s.)
 */
/** The censor text for redacted values. */
export const REDACTED = '[REDACTED]';

/** Query parameter names whose values are secrets (matched case-insensitively, on the decoded name). */
const SENSITIVE_QUERY_KEY = /token|passw|secret|signature|credential|auth|api[-_]?key|session|^sig$|^key$|^code$/i;

/** Longest URL kept in a log line; longer ones are cut with a marker. */
export const MAX_LOGGED_URL_LENGTH = 2048;

/** True when a query parameter named `name` carries a secret. */
export function isSensitiveQueryKey(name: string): boolean {
  return SENSITIVE_QUERY_KEY.test(name);
}

/**
 * `url` (a request target: path and optional query) with the values of
 * sensitive query parameters replaced by {@link REDACTED} and the whole cut
 * to {@link MAX_LOGGED_URL_LENGTH} characters.
 */
export function sanitizeUrl(url: string): string {
  const hash = url.indexOf('#');
  const target = hash < 0 ? url : url.slice(0, hash);
  const question = target.indexOf('?');
  let result = target;
  if (question >= 0) {
    const query = target
      .slice(question + 1)
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        const rawName = equals < 0 ? pair : pair.slice(0, equals);
        let name = rawName;
        try {
          name = decodeURIComponent(rawName.replaceAll('+', ' '));
        } catch {
          // Undecodable: judge the raw name.
        }
        return isSensitiveQueryKey(name) ? `${rawName}=${REDACTED}` : pair;
      })
      .join('&');
    result = `${target.slice(0, question)}?${query}`;
  }
  return result.length > MAX_LOGGED_URL_LENGTH ? `${result.slice(0, MAX_LOGGED_URL_LENGTH)}…(truncated)` : result;
}
