/**
 * @module http/hardening/timeouts
 * Connection limits of the Node server, so that a slow or silent client
 * cannot hold a connection (and its buffers) forever:
 *
 * - the request head must arrive within `headersTimeoutMs` (slow loris;
 *   Node answers 408 and closes);
 * - any connection with no bytes in either direction for `idleTimeoutMs`
 *   is closed, which cuts a body that stalls mid-upload or a client that
 *   stops reading its response, while leaving a large upload that keeps
 *   moving alone: there is deliberately no total request timeout (Node's
 *   `requestTimeout` is disabled). A connection is not idle while the
 *   server itself works on a fully received request (nothing to wait for
 *   from the client then);
 * - an idle keep-alive connection is closed after `keepAliveTimeoutMs`;
 * - a request head above `maxHeaderBytes` gets Node's 431.
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { HttpLimits } from '../../config.js';

/** The connection limits {@link serverOptions} and {@link applyTimeouts} apply. */
export type ConnectionLimits = Pick<HttpLimits, 'headersTimeoutMs' | 'idleTimeoutMs' | 'keepAliveTimeoutMs' | 'maxHeaderBytes'>;

/**
 * Options for `http.createServer` (some of them can only be given there).
 * Node checks header deadlines every `connectionsCheckingInterval`, so that
 * interval follows the headers timeout (a quarter of it, 30 s at most).
 */
export function serverOptions(limits: ConnectionLimits): ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Applies the timeouts to `server` and closes connections that go idle. */
export function applyTimeouts(server: Server, limits: ConnectionLimits, logger: Logger): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = 0;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs);
  const current = new WeakMap<Socket, { request: IncomingMessage; response: ServerResponse }>();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    current.set(request.socket, { request, response });
  });
  // With a listener Node leaves the socket to us; close it whatever else listens.
  server.on('timeout', (socket: Socket) => {
    const exchange = current.get(socket);
    if (exchange && exchange.request.complete && !exchange.response.headersSent && !exchange.response.destroyed) {
      // The server is still working on a whole request: not the client's silence.
      // The timer re-arms with the next byte of the response.
      return;
    }
    logger.debug({ remote: socket.remoteAddress, port: socket.remotePort }, 'closing an idle connection');
    socket.destroy();
  });
}
