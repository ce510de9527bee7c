import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { missingServerNodeFlags, SERVER_NODE_FLAGS } from '../../src/cli/node-flags.js';

const repoFile = (name: string): URL => new URL(`../../${name}`, import.meta.url);

describe('cli/node-flags', () => {
  it('finds the flags on the node command line or in NODE_OPTIONS, and names the ones missing', () => {
    assert.deepEqual(missingServerNodeFlags([], ''), [...SERVER_NODE_FLAGS]);
    assert.deepEqual(missingServerNodeFlags(['--max-semi-space-size=64'], ''), []);
    assert.deepEqual(missingServerNodeFlags([], '--enable-source-maps --max-semi-space-size=32'), [], 'another value is the operator\'s choice');
    assert.deepEqual(missingServerNodeFlags(['--max_semi_space_size=64'], ''), [], 'V8 accepts underscores too');
    assert.deepEqual(missingServerNodeFlags(['--max-old-space-size=512'], '--max-semi-space'), [...SERVER_NODE_FLAGS]);
  });

  it('the artifactstore command and npm start pass exactly SERVER_NODE_FLAGS', async () => {
    const [shebang] = (await readFile(repoFile('bin/artifactstore.js'), 'utf8')).split('\n');
    assert.equal(shebang, `#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
    const { scripts } = JSON.parse(await readFile(repoFile('package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(scripts.start, `node ${SERVER_NODE_FLAGS.join(' ')} bin/artifactstore.js serve`);
  });
});
