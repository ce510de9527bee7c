/**
 * @module auth/auth-store
 * The live view of the principals file: authenticates passwords and tokens,
 * and picks up edits to the file without a restart (a bad edit is logged and
 * ignored; the last good version stays in force).
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { principalsOf, readAuthFile, type Principal } from './auth-file.js';
import { hashToken, verifyPassword } from './secrets.js';

/** Authenticates callers against the principals file. */
export class AuthStore {
  private byName = new Map<string, Principal>();
  private byTokenHash = new Map<string, Principal>();
  private watching = false;

  private constructor(readonly file: string | undefined, private readonly logger?: Logger) {}

  /** Loads `file` (none: no principals) and, with `watch`, follows its changes. */
  static async open(file: string | undefined, options: { logger?: Logger; watch?: boolean; intervalMs?: number } = {}): Promise<AuthStore> {
    const store = new AuthStore(file, options.logger);
    await store.reload();
    if (file && options.watch) {
      store.watching = true;
      watchFile(file, { interval: options.intervalMs ?? 1000, persistent: false }, () => {
        store.reload().catch((error: unknown) => store.logger?.error({ err: error }, 'the auth file changed but cannot be used; keeping the previous principals'));
      });
    }
    return store;
  }

  /** Re-reads the file; on error the previous principals stay in force. */
  async reload(): Promise<void> {
    if (!this.file) return;
    const principals = principalsOf(await readAuthFile(this.file));
    this.byName = new Map(principals.map((principal) => [principal.name, principal]));
    this.byTokenHash = new Map(principals.flatMap((principal) => principal.tokens.map((token) => [token.hash, principal] as const)));
    this.logger?.info({ principals: principals.length }, 'auth file loaded');
  }

  /** True when at least one principal exists (authentication is in force). */
  get enabled(): boolean {
    return this.byName.size > 0;
  }

  /** The principal named `name`, if any. */
  principal(name: string): Principal | undefined {
    return this.byName.get(name);
  }

  /** The principal whose password is `password`, or undefined. */
  async authenticatePassword(name: string, password: string): Promise<Principal | undefined> {
    const principal = this.byName.get(name);
    if (!principal?.passwordHash) return undefined;
    return (await verifyPassword(password, principal.passwordHash)) ? principal : undefined;
  }

  /** The principal owning bearer token `token`, or undefined. */
  authenticateToken(token: string): Principal | undefined {
    return this.byTokenHash.get(hashToken(token));
  }

  /** Stops following the file. */
  close(): void {
    if (this.watching && this.file) unwatchFile(this.file);
    this.watching = false;
  }
}
