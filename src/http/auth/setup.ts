/**
 * @module http/auth/setup
 * Opens authentication for a server process and applies the safe
 * defaults: with no principals, a loopback server runs open (and says so
 * loudly); a server reachable from elsewhere refuses to start unless told
 * `ARTIFACTSTORE_ALLOW_OPEN=true`.
 */
import type { Logger } from 'pino';
import type { AuthConfig } from '../../config.js';
import { AuthStore, TokenService } from '../../auth/index.js';
import { RegistryError } from '../../errors/index.js';
import type { HttpAuth } from './authentication.js';

/** True for hosts only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Authentication for a server listening on `host`, and how to release it. */
export async function openHttpAuth(config: AuthConfig, host: string, logger: Logger): Promise<{ auth: HttpAuth; close(): void }> {
  const store = await AuthStore.open(config.file, { logger, watch: true });
  if (!store.enabled) {
    if (!isLoopbackHost(host) && !config.allowOpen) {
      store.close();
      throw new RegistryError(
        'CONFIG_INVALID',
        `no principals are configured and ARTIFACTSTORE_LISTEN (${host}) is reachable from other machines: anyone could read, write and delete. Create principals (artifactstore auth add-user … with ARTIFACTSTORE_AUTH_FILE set), listen on 127.0.0.1, or set ARTIFACTSTORE_ALLOW_OPEN=true to accept an open registry`,
      );
    }
    logger.warn(
      { auth_file: config.file ?? null },
      'AUTHENTICATION IS OFF: no principals are configured, so every caller may read, write and delete. Add principals with "artifactstore auth add-user" (ARTIFACTSTORE_AUTH_FILE) — the running server picks them up without a restart.',
    );
  }
  const tokens = await TokenService.open(config.keyFile, config.service);
  // Decided once, like the check above: a later edit of the file can turn authentication on, never open this server up.
  const openAllowed = isLoopbackHost(host) || config.allowOpen;
  return { auth: { settings: { store, tokens, anonRead: config.anonRead, service: config.service, openAllowed }, realm: config.realm }, close: () => store.close() };
}
