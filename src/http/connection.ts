/**
 * @module http/connection
 * What to do when a response fails after its headers went out, shared by
 * the native and OCI error renderers.
 */
import type { Logger } from 'pino';

/**
 * A failure once the body has started: all we can do is cut the connection.
 * A client that hung up (often after reading every byte) is not an error.
 */
export function endAfterHeaders(logger: Logger, error: unknown, url: string, response: { destroy(): void }): void {
  if (isClientAbort(error)) logger.debug({ err: error, url }, 'client closed the connection');
  else logger.warn({ err: error, url }, 'error after headers were sent');
  response.destroy();
}

/** True for errors that mean the client went away mid-request. */
export function isClientAbort(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error instanceof Error && error.message === 'aborted');
}
