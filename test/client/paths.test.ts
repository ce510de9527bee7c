import { strict as assert } from 'node:assert';
import { mkdtemp, mkdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveInside } from '../../src/client/index.js';
import { prepareParents } from '../../src/client/paths.js';
import { byteSize } from '../../src/cli/push.js';

describe('client paths', () => {
  it('resolves safe relative paths inside the root', () => {
    assert.equal(resolveInside('/tmp/x', 'a/b.txt'), path.resolve('/tmp/x/a/b.txt'));
    assert.equal(resolveInside('/tmp/x', '.hidden/..dots'), path.resolve('/tmp/x/.hidden/..dots'));
  });

  for (const unsafe of ['../escape', 'a/../../b', '/etc/passwd', 'a//b', './a', 'a/.', 'C:/x', 'a\\b', 'nul\u0000', '']) {
    it(`refuses ${JSON.stringify(unsafe)}`, () => {
      assert.throws(() => resolveInside('/tmp/x', unsafe), (error: unknown) => (error as { code?: string }).code === 'FILE_PATH_INVALID');
    });
  }

  it('refuses to write through a symbolic link inside the root', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'artifactstore-paths-'));
    try {
      const outside = path.join(root, '..', `${path.basename(root)}-outside`);
      await mkdir(outside, { recursive: true });
      await mkdir(path.join(root, 'inside'));
      await symlink(outside, path.join(root, 'inside', 'link'));
      await assert.rejects(prepareParents(root, resolveInside(root, 'inside/link/file.txt')), /symbolic link/);
      await prepareParents(root, resolveInside(root, 'inside/new/deeper/file.txt'));
      await rm(outside, { recursive: true, force: true });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('parses chunk sizes', () => {
    const parse = byteSize('--chunk-size');
    assert.equal(parse('8MiB'), 8 << 20);
    assert.equal(parse('512k'), 512 << 10);
    assert.equal(parse('1MB'), 1_000_000);
    assert.equal(parse('65536'), 65536);
    assert.throws(() => parse('0'));
    assert.throws(() => parse('2GiB'));
    assert.throws(() => parse('lots'));
  });
});
