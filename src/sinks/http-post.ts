/**
 * @module sinks/http-post
 * JSON POSTs of the HTTP sinks (webhook, tracker) and their HMAC signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { VERSION } from '../version.js';

/** Header carrying `sha256=<hex>`: HMAC-SHA256 of the raw request body under the sink's secret. */
export const SIGNATURE_HEADER = 'X-Artifactstore-Signature';
/** Header carrying the delivery id (also in the signed body). */
export const DELIVERY_HEADER = 'X-Artifactstore-Delivery';
/** Header carrying the send time in Unix seconds (also in the signed body as `sent_at`). */
export const TIMESTAMP_HEADER = 'X-Artifactstore-Timestamp';

/** `sha256=<hex>` of HMAC-SHA256(`secret`, `body`). */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `signature` is the {@link signBody} of `body` under `secret` (constant time). */
export function verifySignature(secret: string, body: string | Uint8Array, signature: string | undefined): boolean {
  if (signature === undefined) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A POST the peer did not accept. */
export class DeliveryFailed extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'DeliveryFailed';
  }
}

/** The URL without credentials, query or fragment, for messages. */
export function shownUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/**
 * POSTs `body` (JSON text) to `url`; resolves on a 2xx answer, throws
 * {@link DeliveryFailed} otherwise (any other status, a network error, the
 * timeout).
 */
export async function postJson(
  url: string,
  body: string,
  options: { secret?: string | undefined; token?: string | undefined; deliveryId: string; sentAt: Date; timeoutMs: number; signal: AbortSignal },
): Promise<void> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `artifactstore/${VERSION}`,
    [DELIVERY_HEADER]: options.deliveryId,
    [TIMESTAMP_HEADER]: String(Math.floor(options.sentAt.getTime() / 1000)),
  };
  if (options.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(options.secret, body);
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new DeliveryFailed(`POST ${shownUrl(url)} failed: ${reason}`);
  }
  // Drain the body so the connection is reused; its content does not matter.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status < 200 || response.status > 299) throw new DeliveryFailed(`POST ${shownUrl(url)} answered ${response.status}`, response.status);
}
