/**
 * Child process for the crash test: starts ingesting a large file from a
 * source that produces `MIB` MiB, announces "midway" on stdout once half of
 * it has been staged, then stalls forever so the parent can SIGKILL it.
 */
import { randomBytes } from 'node:crypto';
import { loadSettings } from '../../src/config.js';
import { openRegistry } from '../../src/app.js';

const mib = Number(process.argv[2] ?? '64');
const instance = await openRegistry(loadSettings());
const pkg = await instance.registry.createPackage({ name: 'crash', producer: 'test', retentionClass: 'transient' }, 'test');

async function* source(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < mib; i += 1) {
    yield randomBytes(1 << 20);
    if (i === Math.floor(mib / 2)) {
      process.stdout.write(`midway ${pkg.id}\n`);
      await new Promise(() => undefined); // stall until killed
    }
  }
}

await instance.registry.ingestFile(pkg.id, { relativePath: 'big.bin', mediaType: 'application/octet-stream' }, source(), 'test');
process.stdout.write('finished (the test expected to kill this process first)\n');
