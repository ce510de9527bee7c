/**
 * @module cli/auth
 * `artifactstore auth …`: manage the principals file named by
 * `ARTIFACTSTORE_AUTH_FILE`. Secrets are hashed before they touch the file
 * and shown once (tokens) or never (passwords). A running server picks up
 * every change without a restart.
 */
import type { Command } from 'commander';
import { loadSettings } from '../config.js';
import { RegistryError } from '../errors/index.js';
import { formatGrant, hashPassword, hashToken, isPrincipalName, newToken, parseGrant, readAuthFile, writeAuthFile, type AuthDocument, type StoredPrincipal } from '../auth/index.js';
import { newId } from '../registry/ids.js';

function authFile(): string {
  const file = loadSettings().auth?.file;
  if (!file) throw new RegistryError('CONFIG_INVALID', 'set ARTIFACTSTORE_AUTH_FILE to the principals file to manage (it is created if missing)');
  return file;
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) throw new RegistryError('FIELD_INVALID', '--password-stdin reads the password from standard input; pipe it in (e.g. printf %s "$PASSWORD" | artifactstore auth add-user …)');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password.length < 8) throw new RegistryError('FIELD_INVALID', 'the password must be at least 8 characters');
  return password;
}

function withPrincipal(document: AuthDocument, name: string, update: (current: StoredPrincipal | undefined) => StoredPrincipal | undefined): AuthDocument {
  const principals = { ...document.principals };
  const next = update(principals[name]);
  if (next) principals[name] = next;
  else delete principals[name];
  return { principals };
}

/** Registers `auth` and its subcommands. */
export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('manage principals, passwords, tokens and grants in ARTIFACTSTORE_AUTH_FILE');

  auth
    .command('add-user')
    .description('create or update a user; the password is read from standard input')
    .argument('<name>', 'principal name')
    .option('--password-stdin', 'read the password from standard input (required for a new password)')
    .option('--grant <actions:pattern>', 'grant, e.g. pull,push:team-a/* (repeatable; replaces the user\'s grants when given)', (grant: string, all: string[]) => [...all, grant], [])
    .action(async (name: string, options: { passwordStdin?: boolean; grant: string[] }) => {
      if (!isPrincipalName(name)) throw new RegistryError('FIELD_INVALID', `principal name ${JSON.stringify(name)} must be 1-128 of A-Z a-z 0-9 . _ @ -`);
      const grants = options.grant.map((grant) => formatGrant(parseGrant(grant)));
      const password = options.passwordStdin ? await hashPassword(await readPassword()) : undefined;
      const file = authFile();
      const document = await readAuthFile(file);
      const updated = withPrincipal(document, name, (current) => ({
        ...(current ?? { grants: [] }),
        ...(password ? { password } : {}),
        grants: grants.length > 0 ? grants : current?.grants ?? [],
      }));
      await writeAuthFile(file, updated);
      process.stdout.write(`${document.principals[name] ? 'updated' : 'added'} ${name} (${updated.principals[name]!.grants.join(' ') || 'no grants'})\n`);
    });

  auth
    .command('add-token')
    .description('issue a new bearer token for a principal (created if missing) and print it once')
    .argument('<name>', 'principal name')
    .option('--grant <actions:pattern>', 'grants for a new principal (repeatable)', (grant: string, all: string[]) => [...all, grant], [])
    .action(async (name: string, options: { grant: string[] }) => {
      if (!isPrincipalName(name)) throw new RegistryError('FIELD_INVALID', `principal name ${JSON.stringify(name)} must be 1-128 of A-Z a-z 0-9 . _ @ -`);
      const grants = options.grant.map((grant) => formatGrant(parseGrant(grant)));
      const token = newToken();
      const file = authFile();
      const document = await readAuthFile(file);
      const updated = withPrincipal(document, name, (current) => ({
        ...(current ?? { grants }),
        ...(grants.length > 0 ? { grants } : {}),
        tokens: [...(current?.tokens ?? []), { id: newId(), hash: hashToken(token), created_at: new Date().toISOString() }],
      }));
      await writeAuthFile(file, updated);
      process.stdout.write(`${token}\n`);
      process.stderr.write(`token for ${name} issued; it is shown only now. Use it as "Authorization: Bearer <token>" or as the password with --creds ${name}:<token>.\n`);
    });

  auth
    .command('list')
    .description('list principals with their grants and token counts (never secrets)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const document = await readAuthFile(authFile());
      const rows = Object.entries(document.principals).map(([name, principal]) => ({
        name,
        password: Boolean(principal.password),
        tokens: (principal.tokens ?? []).map((token) => ({ id: token.id, created_at: token.created_at })),
        grants: principal.grants,
      }));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const row of rows) process.stdout.write(`${row.name}\tpassword=${row.password ? 'yes' : 'no'}\ttokens=${row.tokens.length}\t${row.grants.join(' ')}\n`);
    });

  auth
    .command('revoke')
    .description('remove a principal (all its passwords and tokens), or one token with --token-id')
    .argument('<name>', 'principal name')
    .option('--token-id <id>', 'revoke only this token')
    .action(async (name: string, options: { tokenId?: string }) => {
      const file = authFile();
      const document = await readAuthFile(file);
      if (!document.principals[name]) throw new RegistryError('FIELD_INVALID', `no principal ${JSON.stringify(name)}`);
      const updated = withPrincipal(document, name, (current) => {
        if (!options.tokenId) return undefined;
        const tokens = (current!.tokens ?? []).filter((token) => token.id !== options.tokenId);
        if (tokens.length === (current!.tokens ?? []).length) throw new RegistryError('FIELD_INVALID', `${name} has no token ${options.tokenId}`);
        return { ...current!, tokens };
      });
      await writeAuthFile(file, updated);
      process.stdout.write(options.tokenId ? `revoked token ${options.tokenId} of ${name}\n` : `revoked ${name}\n`);
    });
}
