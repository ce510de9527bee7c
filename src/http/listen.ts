/**
 * @module http/listen
 * Binding a Node HTTP server and stopping it, shared by the main listener
 * and the metrics listener.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening server. */
export interface RunningServer {
  readonly server: Server;
  /** The bound address (the port is real even when 0 was asked). */
  readonly address: AddressInfo;
  /** Stops accepting connections and waits for in-flight requests. */
  close(): Promise<void>;
}

/** Binds `server` to host:port and resolves once it listens. */
export async function listen(server: Server, on: { host: string; port: number }): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(on.port, on.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
