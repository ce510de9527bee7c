import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { DualDigestHasher, DualDigestStream, EMPTY_DIGESTS, dualDigestOf, dualDigestOfStream, blake3Hex, assertNativeBlake3 } from '../../src/identity/index.js';
import { SMALL_INPUT_BYTES, blake3 } from '../../src/identity/blake3.js';

/** The official BLAKE3 test-vector input: bytes 0..250 repeating. */
function vectorInput(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = i % 251;
  return bytes;
}

// First 32 bytes of the "hash" outputs in BLAKE3's official test_vectors.json.
const OFFICIAL_VECTORS: Array<[number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [3072, 'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
];

describe('identity/dual-digest', () => {
  it('loads the native BLAKE3 addon and passes its self-test', () => {
    assert.doesNotThrow(() => assertNativeBlake3());
  });

  it('hashes the empty input to the standard empty digests of both algorithms', () => {
    const digest = dualDigestOf(new Uint8Array(0));
    assert.deepEqual(digest, { blake3: EMPTY_DIGESTS.blake3, sha256: EMPTY_DIGESTS.sha256, size: 0 });
    assert.equal(EMPTY_DIGESTS.sha256, createHash('sha256').update('').digest('hex'));
  });

  it('hashes "abc" to the published digests', () => {
    const digest = dualDigestOf(Buffer.from('abc'));
    assert.equal(digest.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(digest.blake3, '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    assert.equal(digest.size, 3);
  });

  for (const [length, expected] of OFFICIAL_VECTORS) {
    it(`matches the official BLAKE3 vector for ${length} bytes`, () => {
      assert.equal(blake3Hex(vectorInput(length)), expected);
      assert.equal(dualDigestOf(vectorInput(length)).blake3, expected);
    });
  }

  it('gives the same digest however the input is chunked', () => {
    const input = vectorInput(10_000);
    const whole = dualDigestOf(input);
    for (const chunkSize of [1, 7, 64, 1024, 4096]) {
      const hasher = new DualDigestHasher();
      for (let offset = 0; offset < input.length; offset += chunkSize) hasher.update(input.subarray(offset, offset + chunkSize));
      assert.deepEqual(hasher.digest(), whole, `chunk size ${chunkSize}`);
    }
  });

  it('cross-checks a random 8 MiB stream against node:crypto and @noble/hashes', async () => {
    const input = randomBytes(8 << 20);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < input.length; offset += 65_537) chunks.push(input.subarray(offset, offset + 65_537));
    const digest = await dualDigestOfStream(Readable.from(chunks));
    assert.equal(digest.size, input.length);
    assert.equal(digest.sha256, createHash('sha256').update(input).digest('hex'));
    assert.equal(digest.blake3, Buffer.from(nobleBlake3(input)).toString('hex'));
  });

  it('hashes what flows through a DualDigestStream without altering it', async () => {
    const input = randomBytes(3 << 20);
    const stream = new DualDigestStream();
    const received: Buffer[] = [];
    await pipeline(Readable.from([input.subarray(0, 1000), input.subarray(1000)]), stream, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) received.push(chunk);
    });
    assert.ok(Buffer.concat(received).equals(input));
    assert.deepEqual(stream.result(), dualDigestOf(input));
  });

  it('refuses to be used after digest()', () => {
    const hasher = new DualDigestHasher();
    hasher.digest();
    assert.throws(() => hasher.update(Buffer.from('x')), /after digest/);
    assert.throws(() => hasher.digest(), /twice/);
  });

  it('one-shot blake3() agrees with @noble/hashes on both sides of the small-input switch', () => {
    for (const length of [0, 1, 64, 1024, SMALL_INPUT_BYTES - 1, SMALL_INPUT_BYTES, SMALL_INPUT_BYTES + 1, 3 * SMALL_INPUT_BYTES]) {
      const input = randomBytes(length);
      assert.equal(blake3(input).toString('hex'), Buffer.from(nobleBlake3(input)).toString('hex'), `length ${length}`);
      // A view into a larger buffer hashes only the view.
      const padded = Buffer.concat([Buffer.from('xx'), input, Buffer.from('yy')]);
      assert.equal(blake3(padded.subarray(2, 2 + length)).toString('hex'), Buffer.from(nobleBlake3(input)).toString('hex'), `view of length ${length}`);
    }
  });

  it('returns a digest the next call does not overwrite', () => {
    const first = blake3(Buffer.from('abc'));
    const copy = Buffer.from(first);
    blake3(Buffer.from('def'));
    assert.ok(first.equals(copy));
    assert.equal(copy.toString('hex'), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  });
});
