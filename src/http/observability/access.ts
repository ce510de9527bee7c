/**
 * @module http/observability/access
 * Who may read `GET /metrics` on the main listener. The application takes an
 * `authorizeMetrics(request)` hook; the default lets only a caller on
 * loopback read it, and only while the server runs open (no authentication
 * in force). Deployments with authentication pass a hook that checks the
 * principal (e.g. `principalOf(request).admin`), or scrape the separate
 * metrics listener (`ARTIFACTSTORE_METRICS_LISTEN`) instead.
 */
import type { Request } from 'express';
import { RegistryError } from '../../errors/index.js';
import { principalOf } from '../principal.js';

/**
 * Decides whether `request` may read the metrics. False answers 403
 * `DENIED`; a thrown `RegistryError` (e.g. `UNAUTHORIZED` from an admin
 * check) is rendered as itself.
 */
export type MetricsAuthorizer = (request: Request) => boolean | Promise<boolean>;

/** True for loopback addresses (127.0.0.0/8, ::1, and their IPv4-mapped forms). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * The default {@link MetricsAuthorizer}: the caller connected over loopback
 * and nothing authenticated it on a server running open (the anonymous
 * caller is an administrator only then).
 */
export const loopbackWhileOpen: MetricsAuthorizer = (request) => {
  const principal = principalOf(request);
  return principal.anonymous && principal.admin && isLoopbackAddress(request.socket.remoteAddress);
};

/** The refusal of a caller the authorizer turned away: 403 `DENIED`, rendered by the problem handler. */
export function metricsDenied(): RegistryError {
  return new RegistryError('DENIED', 'metrics are served only to callers allowed to read them; authenticate as an administrator or scrape the metrics listener');
}
