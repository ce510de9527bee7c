import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import {
  ANNOTATION_CONTENT_ADDRESS,
  ANNOTATION_TITLE,
  EMPTY_CONFIG_DESCRIPTOR,
  MANIFEST_MEDIA_TYPE,
  buildManifest,
  cborToJcs,
  decodeCanonical,
  decodeManifest,
  encodeCanonical,
  encodeManifest,
  isMediaType,
  jcsToCbor,
  manifestDigest,
  validateManifest,
  type BuildManifestInput,
  type CanonicalValue,
  type PackageManifest,
  type Violation,
} from '../../src/manifest/index.js';
import { LOG, REPORT, RUN_JSON, sampleInput } from './fixtures.js';
import { fromHex, hex, throwsRegistryError } from './helpers.js';
import { referenceEncode } from './reference-cbor.js';

const EMPTY = {
  blake3: 'blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262',
  sha256: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

function minimalInput(): BuildManifestInput {
  const at = '2025-01-01T00:00:00.000Z';
  return {
    package: { id: 'p1', name: 'n', producer: 'p', subject: null, retention_class: 'permanent-record', metadata: {}, created_at: at },
    files: [{ relative_path: 'a', media_type: 'text/plain', size: 0, content_address: EMPTY.blake3, digest_sha256: EMPTY.sha256 }],
    storage_receipts: [{ content_address: EMPTY.blake3, backend: 'local', object_key: 'k', retrieval_tier: 'hot', stored_at: at }],
    retention_summary: { retention_class: 'permanent-record', expires_at: null },
    provenance: { actor: 'a', finalized_at: at, event_sequence: 1 },
  };
}

// The manifest of minimalInput(), field by field in canonical key order
// (bytewise by encoded key: "files" < "config" < "layers" < "package" <
// "provenance" < "manifest_version" < "storage_receipts" < "retention_summary").
const MINIMAL_GOLDEN = [
  'a8',
  // "files": [{size 0, media_type, digest_sha256, relative_path "a", content_address}]
  '6566696c6573' +
    '81a5' +
    '6473697a6500' +
    '6a6d656469615f74797065' + '6a746578742f706c61696e' +
    '6d6469676573745f736861323536' + '7847' + hex(Buffer.from(EMPTY.sha256)) +
    '6d72656c61746976655f70617468' + '6161' +
    '6f636f6e74656e745f61646472657373' + '7847' + hex(Buffer.from(EMPTY.blake3)),
  // "config": the OCI empty descriptor {size 2, digest, mediaType}
  '66636f6e666967' +
    'a3' +
    '6473697a6502' +
    '66646967657374' + '7847' + hex(Buffer.from('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a')) +
    '696d6564696154797065' + '7821' + hex(Buffer.from('application/vnd.oci.empty.v1+json')),
  // "layers": [{size 0, digest, mediaType, annotations {title "a", content-address}}]
  '666c6179657273' +
    '81a4' +
    '6473697a6500' +
    '66646967657374' + '7847' + hex(Buffer.from(EMPTY.sha256)) +
    '696d6564696154797065' + '6a746578742f706c61696e' +
    '6b616e6e6f746174696f6e73' + 'a2' +
    '781e' + hex(Buffer.from('org.opencontainers.image.title')) + '6161' +
    '7821' + hex(Buffer.from('dev.artifactstore.content-address')) + '7847' + hex(Buffer.from(EMPTY.blake3)),
  // "package": {id, name, subject null, metadata {}, producer, created_at, retention_class}
  '677061636b616765' +
    'a7' +
    '626964' + '627031' +
    '646e616d65616e' +
    '677375626a656374f6' +
    '686d65746164617461a0' +
    '6870726f6475636572' + '6170' +
    '6a637265617465645f6174' + '7818' + hex(Buffer.from('2025-01-01T00:00:00.000Z')) +
    '6f726574656e74696f6e5f636c617373' + '70' + hex(Buffer.from('permanent-record')),
  // "provenance": {actor, producer, created_at, finalized_at, event_sequence 1}
  '6a70726f76656e616e6365' +
    'a5' +
    '656163746f72' + '6161' +
    '6870726f6475636572' + '6170' +
    '6a637265617465645f6174' + '7818' + hex(Buffer.from('2025-01-01T00:00:00.000Z')) +
    '6c66696e616c697a65645f6174' + '7818' + hex(Buffer.from('2025-01-01T00:00:00.000Z')) +
    '6e6576656e745f73657175656e6365' + '01',
  // "manifest_version": 1
  '706d616e69666573745f76657273696f6e' + '01',
  // "storage_receipts": [{backend, stored_at, object_key "k", retrieval_tier "hot", content_address}]
  '7073746f726167655f7265636569707473' +
    '81a5' +
    '676261636b656e64' + '656c6f63616c' +
    '6973746f7265645f6174' + '7818' + hex(Buffer.from('2025-01-01T00:00:00.000Z')) +
    '6a6f626a6563745f6b6579' + '616b' +
    '6e72657472696576616c5f74696572' + '63686f74' +
    '6f636f6e74656e745f61646472657373' + '7847' + hex(Buffer.from(EMPTY.blake3)),
  // "retention_summary": {expires_at null, retention_class}
  '71726574656e74696f6e5f73756d6d617279' +
    'a2' +
    '6a657870697265735f6174' + 'f6' +
    '6f726574656e74696f6e5f636c617373' + '70' + hex(Buffer.from('permanent-record')),
].join('');

function violationsOf(run: () => unknown): Violation[] {
  const error = throwsRegistryError(run, 'MANIFEST_INVALID');
  const violations = error.extra?.violations;
  assert.ok(Array.isArray(violations), 'extra.violations must be an array');
  return violations as Violation[];
}

function pointersOf(violations: Violation[]): string[] {
  return violations.map((v) => v.pointer).sort();
}

/** A valid manifest as an untyped mutable tree, so tests can break it in ways the type forbids. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;
function mutableSample(): Loose {
  return structuredClone(buildManifest(sampleInput())) as Loose;
}

describe('manifest/build, digest and validate', () => {
  describe('constants', () => {
    it('the empty config descriptor describes the two bytes "{}"', () => {
      assert.equal(EMPTY_CONFIG_DESCRIPTOR.digest, `sha256:${createHash('sha256').update('{}').digest('hex')}`);
      assert.equal(EMPTY_CONFIG_DESCRIPTOR.size, Buffer.byteLength('{}'));
      assert.equal(EMPTY_CONFIG_DESCRIPTOR.mediaType, 'application/vnd.oci.empty.v1+json');
      assert.ok(Object.isFrozen(EMPTY_CONFIG_DESCRIPTOR));
    });

    it('names the manifest media type and annotation keys', () => {
      assert.equal(MANIFEST_MEDIA_TYPE, 'application/vnd.artifactstore.manifest.v1+cbor');
      assert.equal(ANNOTATION_TITLE, 'org.opencontainers.image.title');
      assert.equal(ANNOTATION_CONTENT_ADDRESS, 'dev.artifactstore.content-address');
    });

    it('isMediaType accepts OCI descriptor media types only', () => {
      for (const ok of ['text/plain', 'application/vnd.oci.image.manifest.v1+json', 'application/x-tar', MANIFEST_MEDIA_TYPE]) assert.ok(isMediaType(ok), ok);
      for (const bad of ['', 'text', 'text/', '/plain', 'text/plain; charset=utf-8', 'text/plain ', 'a/b/c', 7]) assert.ok(!isMediaType(bad), String(bad));
    });
  });

  describe('buildManifest', () => {
    it('sorts files by relative_path, dedupes and sorts receipts, derives provenance, config and layers', () => {
      const manifest = buildManifest(sampleInput());
      assert.deepStrictEqual(
        manifest.files.map((f) => f.relative_path),
        ['evidence/copy-of-run.json', 'logs/run.log', 'reports/index.html', 'run.json'],
      );
      assert.deepStrictEqual(
        manifest.storage_receipts.map((r) => r.content_address),
        [LOG.blake3, REPORT.blake3, RUN_JSON.blake3],
      );
      assert.deepStrictEqual(manifest.config, { ...EMPTY_CONFIG_DESCRIPTOR });
      assert.deepStrictEqual(manifest.layers[1], {
        mediaType: 'text/plain',
        digest: LOG.sha256,
        size: 9,
        annotations: { [ANNOTATION_TITLE]: 'logs/run.log', [ANNOTATION_CONTENT_ADDRESS]: LOG.blake3 },
      });
      assert.deepStrictEqual(manifest.provenance, {
        producer: 'guide-board',
        actor: 'ci-token:guide-board',
        created_at: '2025-03-01T12:00:00.000Z',
        finalized_at: '2025-03-01T12:05:00.250Z',
        event_sequence: 17,
      });
      assert.equal(manifest.manifest_version, 1);
    });

    it('is independent of input row order', () => {
      const forward = encodeManifest(buildManifest(sampleInput())).bytes;
      const input = sampleInput();
      const reversed = { ...input, files: [...input.files].reverse(), storage_receipts: [...input.storage_receipts].reverse() };
      assert.equal(hex(encodeManifest(buildManifest(reversed)).bytes), hex(forward));
    });

    it('does not mutate its input and drops extra row columns', () => {
      const input = sampleInput();
      const rows = {
        ...input,
        package: { ...input.package, state: 'finalizing', updated_at: 'x' },
        files: Object.freeze(input.files.map((f) => Object.freeze({ ...f, id: 9, package_id: 'p' }))),
        storage_receipts: Object.freeze(input.storage_receipts.map((r) => Object.freeze({ ...r, location_id: 3 }))),
      } as BuildManifestInput;
      const manifest = buildManifest(rows);
      assert.deepStrictEqual(manifest, buildManifest(sampleInput()));
      assert.equal(rows.files[0]?.relative_path, 'run.json');
    });

    it('accepts a package without files', () => {
      const input = { ...minimalInput(), files: [], storage_receipts: [] };
      const manifest = buildManifest(input);
      assert.deepStrictEqual(manifest.layers, []);
      assert.deepStrictEqual(decodeManifest(encodeManifest(manifest).bytes), manifest);
    });

    it('refuses conflicting receipts for one object instead of picking one', () => {
      const input = sampleInput();
      const conflicting = { ...input.storage_receipts[1]!, backend: 's3' };
      const violations = violationsOf(() => buildManifest({ ...input, storage_receipts: [...input.storage_receipts, conflicting] }));
      assert.deepStrictEqual(violations, [{ pointer: '/storage_receipts/2/content_address', message: `more than one receipt for ${REPORT.blake3}` }]);
    });

    it('refuses invalid row values with MANIFEST_INVALID', () => {
      const input = sampleInput();
      const violations = violationsOf(() => buildManifest({ ...input, package: { ...input.package, created_at: '2025-03-01 12:00:00' } }));
      assert.deepStrictEqual(pointersOf(violations), ['/package/created_at', '/provenance/created_at']);
    });
  });

  describe('encoding and identity', () => {
    it('encodes the minimal manifest to golden bytes', () => {
      const { bytes, digest } = encodeManifest(buildManifest(minimalInput()));
      assert.equal(hex(bytes), MINIMAL_GOLDEN);
      assert.equal(digest, 'blake3:b3ecffa58c42cd9503c2027b220b2871fcce986ca957c60f058bd0e7ab67d309');
    });

    it('encodes the sample manifest to stable bytes (pinned by digest), equal to the reference encoder', () => {
      const manifest = buildManifest(sampleInput());
      const { bytes, digest } = encodeManifest(manifest);
      assert.equal(bytes.length, 3503);
      assert.equal(digest, 'blake3:8afef9bfaf76c09f9a4583a257c71e1fb43e80d0b654e376383567eb118b2ca7');
      assert.equal(hex(bytes), hex(referenceEncode(manifest)));
    });

    it('manifestDigest is blake3: + BLAKE3-256 hex (cross-checked with @noble/hashes)', () => {
      const bytes = encodeManifest(buildManifest(sampleInput())).bytes;
      assert.equal(manifestDigest(bytes), `blake3:${Buffer.from(nobleBlake3(bytes)).toString('hex')}`);
      assert.equal(manifestDigest(new Uint8Array(0)), EMPTY.blake3);
    });

    it('decodeManifest(encodeManifest(m)) deep-equals m', () => {
      const manifest = buildManifest(sampleInput());
      assert.deepStrictEqual(decodeManifest(encodeManifest(manifest).bytes), manifest);
    });

    it('CBOR -> JCS -> CBOR gives identical manifest bytes', () => {
      const { bytes } = encodeManifest(buildManifest(sampleInput()));
      const jcs = cborToJcs(bytes);
      assert.ok(jcs.startsWith('{"config":{"digest":"sha256:44136fa3'), jcs.slice(0, 60));
      assert.equal(hex(jcsToCbor(jcs)), hex(bytes));
      assert.deepStrictEqual(decodeManifest(jcsToCbor(jcs)), decodeManifest(bytes));
    });

    it('one changed field changes the digest', () => {
      const base = encodeManifest(buildManifest(sampleInput())).digest;
      const input = sampleInput();
      const changed = encodeManifest(buildManifest({ ...input, provenance: { ...input.provenance, event_sequence: 18 } })).digest;
      assert.notEqual(changed, base);
    });

    it('decodeManifest refuses non-canonical bytes with CBOR_INVALID', () => {
      const bytes = encodeManifest(buildManifest(minimalInput())).bytes;
      // manifest_version 1 re-encoded as a half-float 1.0
      const index = hex(bytes).indexOf('706d616e69666573745f76657273696f6e01') / 2 + 17;
      const tampered = new Uint8Array([...bytes.subarray(0, index), 0xf9, 0x3c, 0x00, ...bytes.subarray(index + 1)]);
      assert.equal(hex(bytes.subarray(index, index + 1)), '01');
      throwsRegistryError(() => decodeManifest(tampered), 'CBOR_INVALID', /canonical form/);
      throwsRegistryError(() => decodeManifest(new Uint8Array([...bytes, 0x00])), 'CBOR_INVALID', /trailing/);
    });

    it('decodeManifest refuses canonical CBOR that is not a manifest with MANIFEST_INVALID', () => {
      const violations = violationsOf(() => decodeManifest(encodeCanonical({ manifest_version: 2 })));
      assert.ok(violations.some((v) => v.pointer === '/manifest_version' && /must be 1/.test(v.message)));
      assert.ok(violations.some((v) => v.pointer === '/files' && /missing/.test(v.message)));
      violationsOf(() => decodeManifest(fromHex('80')));
    });

    it('encodeManifest validates before encoding', () => {
      const manifest = mutableSample();
      manifest.files[0].size = 1.5;
      const violations = violationsOf(() => encodeManifest(manifest as PackageManifest));
      assert.ok(violations.some((v) => v.pointer === '/files/0/size'));
    });
  });

  describe('validateManifest', () => {
    it('returns a valid manifest unchanged', () => {
      const manifest = buildManifest(sampleInput());
      assert.equal(validateManifest(manifest), manifest);
    });

    it('lists every violation with its pointer', () => {
      const m = mutableSample();
      m.extra = true; // unknown field
      delete m.package.name; // missing field
      m.package.subject = ''; // empty text
      m.package.metadata.score = 0.5; // float in metadata
      m.files[0].content_address = 'blake3:ABC'; // bad address
      m.files[1].digest_sha256 = RUN_JSON.blake3; // wrong algorithm
      [m.files[2], m.files[3]] = [m.files[3], m.files[2]]; // unsorted (layers now disagree)
      m.storage_receipts[0].stored_at = '2025-02-30T00:00:00.000Z'; // impossible date
      m.retention_summary.retention_class = 'transient'; // disagrees with package
      m.provenance.event_sequence = -1;
      m.config.size = 3;
      m.layers[0].mediaType = 'text/plain; charset=utf-8';

      const violations = violationsOf(() => validateManifest(m));
      assert.deepStrictEqual(pointersOf(violations), [
        '/config',
        '/extra',
        '/files/0/content_address',
        '/files/1/digest_sha256',
        '/files/3/relative_path',
        '/layers/0/annotations',
        '/layers/0/mediaType',
        '/layers/0/mediaType',
        '/layers/1/digest',
        '/layers/2/annotations',
        '/layers/2/digest',
        '/layers/2/mediaType',
        '/layers/3/annotations',
        '/layers/3/digest',
        '/layers/3/mediaType',
        '/package/metadata/score',
        '/package/name',
        '/package/subject',
        '/provenance/event_sequence',
        '/retention_summary/retention_class',
        '/storage_receipts',
        '/storage_receipts/0/stored_at',
      ].sort());
      const byPointer = new Map(violations.map((v) => [v.pointer, v.message]));
      assert.match(byPointer.get('/package/name') ?? '', /required field is missing/);
      assert.match(byPointer.get('/files/3/relative_path') ?? '', /sorted by relative_path/);
      assert.match(byPointer.get('/storage_receipts') ?? '', /no receipt for blake3:ABC/);
      assert.match(byPointer.get('/package/metadata/score') ?? '', /floating-point/);
      assert.match(byPointer.get('/extra') ?? '', /unknown field/);
      assert.match(byPointer.get('/config') ?? '', /OCI empty descriptor/);
      assert.match(byPointer.get('/retention_summary/retention_class') ?? '', /must equal \/package\/retention_class/);
    });

    it('reports an unknown field at its own pointer', () => {
      const m = mutableSample();
      m.provenance.note = 'x';
      m.layers[0].annotations.extra = 'y';
      const violations = violationsOf(() => validateManifest(m));
      assert.deepStrictEqual(violations.map((v) => [v.pointer, v.message]).sort(), [
        ['/layers/0/annotations', `must be exactly {"${ANNOTATION_TITLE}": /files/0/relative_path, "${ANNOTATION_CONTENT_ADDRESS}": /files/0/content_address}`],
        ['/provenance/note', 'unknown field'],
      ]);
    });

    it('puts a one-line summary in the message', () => {
      const m = mutableSample();
      m.manifest_version = 2;
      const error = throwsRegistryError(() => validateManifest(m), 'MANIFEST_INVALID', /1 violation\(s\): \/manifest_version: must be 1, got 2/);
      assert.equal(error.status, 400);
    });

    for (const [name, value, pointer] of [
      ['null', null, ''],
      ['an array', [], ''],
      ['a string', 'manifest', ''],
      ['a Map', new Map(), ''],
    ] as const) {
      it(`refuses ${name} as a manifest`, () => {
        assert.deepStrictEqual(violationsOf(() => validateManifest(value)).map((v) => v.pointer), [pointer]);
      });
    }

    it('refuses duplicate relative paths', () => {
      const m = mutableSample();
      m.files[1].relative_path = m.files[0].relative_path;
      m.layers[1].annotations[ANNOTATION_TITLE] = m.files[0].relative_path;
      const violations = violationsOf(() => validateManifest(m));
      assert.deepStrictEqual(violations, [{ pointer: '/files/1/relative_path', message: 'duplicate relative_path "evidence/copy-of-run.json"' }]);
    });

    it('refuses files that claim the same object with different digests or sizes', () => {
      const m = mutableSample();
      // files 0 and 3 share RUN_JSON; give file 3 another size (and its layer too)
      m.files[3].size = 21;
      m.layers[3].size = 21;
      const violations = violationsOf(() => validateManifest(m));
      assert.deepStrictEqual(violations.map((v) => v.pointer), ['/files/3/size']);
    });

    it('refuses unsafe relative paths', () => {
      for (const path of ['/etc/passwd', 'a/../b', './a', 'a//b', 'a/', 'a\\b', 'a\u0000b']) {
        const m = mutableSample();
        m.files[0].relative_path = path;
        m.layers[0].annotations[ANNOTATION_TITLE] = path;
        const violations = violationsOf(() => validateManifest(m));
        assert.ok(violations.some((v) => v.pointer === '/files/0/relative_path'), `${JSON.stringify(path)}: ${JSON.stringify(violations)}`);
      }
    });

    it('refuses a layer count that differs from the file count', () => {
      const m = mutableSample();
      m.layers.pop();
      assert.deepStrictEqual(violationsOf(() => validateManifest(m)).map((v) => v.pointer), ['/layers']);
    });

    it('refuses unsorted and orphan storage receipts', () => {
      const m = mutableSample();
      m.storage_receipts.reverse();
      assert.deepStrictEqual(violationsOf(() => validateManifest(m)).map((v) => v.pointer), ['/storage_receipts/1/content_address', '/storage_receipts/2/content_address']);
    });

    it('refuses finalization before creation and provenance that disagrees with the package', () => {
      const m = mutableSample();
      m.provenance.finalized_at = '2025-03-01T11:59:59.999Z';
      m.provenance.producer = 'someone-else';
      assert.deepStrictEqual(pointersOf(violationsOf(() => validateManifest(m))), ['/provenance/finalized_at', '/provenance/producer']);
    });

    it('refuses timestamps that are not ISO-8601 UTC with milliseconds', () => {
      for (const stamp of ['2025-03-01T12:00:00Z', '2025-03-01T12:00:00.000+00:00', '2025-03-01T12:00:00.0000Z', '2025-13-01T12:00:00.000Z', '2025-03-01T24:00:00.000Z']) {
        const m = mutableSample();
        m.retention_summary.expires_at = stamp;
        assert.deepStrictEqual(violationsOf(() => validateManifest(m)).map((v) => v.pointer), ['/retention_summary/expires_at'], stamp);
      }
    });

    it('refuses values the encoder would refuse even where field checks cannot see them', () => {
      const m = mutableSample();
      Object.defineProperty(m.package, 'hidden', { value: 1.5, enumerable: false });
      (m.files[0] as Record<symbol, unknown>)[Symbol('s')] = 1;
      assert.deepStrictEqual(pointersOf(violationsOf(() => validateManifest(m))), ['/files/0', '/package/hidden']);
    });

    it('accepts a metadata value nested to the depth limit and refuses one level more', () => {
      const nest = (depth: number): CanonicalValue => (depth === 0 ? 0 : [nest(depth - 1)]);
      const m = mutableSample();
      // manifest (1) > package (2) > metadata (3) > 253 arrays = 256
      m.package.metadata = { deep: nest(253) };
      assert.doesNotThrow(() => encodeManifest(validateManifest(m)));
      m.package.metadata = { deep: nest(254) };
      const violations = violationsOf(() => validateManifest(m));
      assert.equal(violations.length, 1);
      assert.match(violations[0]?.pointer ?? '', /^\/package\/metadata\/deep(\/0)+$/);
    });

    it('decoded and built manifests validate identically', () => {
      const bytes = encodeManifest(buildManifest(sampleInput())).bytes;
      const decoded = decodeCanonical(bytes);
      assert.deepStrictEqual(validateManifest(decoded), buildManifest(sampleInput()));
    });
  });
});
