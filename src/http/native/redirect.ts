/**
 * @module http/native/redirect
 * Downloads answered with a redirect to a short-lived URL of the bytes in
 * the store, when the deployment enables it and its backend can (see
 * `Registry.directFileUrl`); the client repeats its `Range` there.
 */
import type { Response } from 'express';
import { z } from 'zod';

/** The OpenAPI description of the redirect. */
export const REDIRECT_RESPONSE = {
  description: 'When direct downloads are enabled: a temporary redirect to a short-lived URL serving the same bytes (send the same Range there)',
  headers: z.object({ Location: z.string().openapi({ description: 'the short-lived URL' }) }),
};

/** Answers 307 to `url`; headers already set (ETag, digests) stay. */
export function sendRedirect(response: Response, url: string): void {
  response.status(307);
  response.setHeader('Location', url);
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('Content-Length', '0');
  response.end();
}
