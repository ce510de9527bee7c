/**
 * How the `artifactstore` command is launched: the shebang of
 * `bin/artifactstore.js` carries the V8 flags the server needs (ADR 0037),
 * `npm start` passes the same ones, and the shebang works on this system
 * (`env -S` splits the flags from the interpreter).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'artifactstore.js');

async function shebangFlags(): Promise<string[]> {
  const first = (await readFile(bin, 'utf8')).split('\n', 1)[0]!;
  const match = /^#!\/usr\/bin\/env -S node((?: --[a-z-]+=\S+)*)$/.exec(first);
  assert.ok(match, `bin/artifactstore.js starts with "#!/usr/bin/env -S node <flags>", not ${JSON.stringify(first)}`);
  return match[1]!.split(' ').filter((flag) => flag !== '');
}

describe('cli: launch flags', () => {
  it('caps the young generation in the shebang', async () => {
    assert.ok((await shebangFlags()).includes('--max-semi-space-size=8'));
  });

  it('npm start passes the shebang\'s flags', async () => {
    const scripts = (JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts.start, ['node', ...(await shebangFlags()), 'bin/artifactstore.js', 'serve'].join(' '));
  });

  it('runs through its shebang', async () => {
    const { stdout } = await promisify(execFile)(bin, ['--version']);
    const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
    assert.equal(stdout.trim(), version);
  });
});
