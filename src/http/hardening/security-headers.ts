/**
 * @module http/hardening/security-headers
 * Response headers that keep browsers from sniffing, framing or embedding
 * what the registry serves. The API serves no active content, so the
 * default policy forbids everything; a route that renders a page (`/docs`)
 * replaces `Content-Security-Policy` with its own.
 */
import type { RequestHandler } from 'express';

/** The headers every response carries unless a route overrides one. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
});

/** Sets {@link SECURITY_HEADERS} on every response. */
export const securityHeaders: RequestHandler = (_request, response, next) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
  next();
};
