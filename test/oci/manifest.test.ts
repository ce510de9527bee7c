import { strict as assert } from 'node:assert';
import {
  DOCKER_CONTAINER_CONFIG,
  DOCKER_FOREIGN_LAYER_TAR_GZIP,
  DOCKER_LAYER_TAR_GZIP,
  DOCKER_MANIFEST_LIST_V2,
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  DOCKER_MANIFEST_V2,
  MAX_MANIFEST_BYTES,
  OCI_EMPTY,
  OCI_EMPTY_DIGEST,
  OCI_EMPTY_SIZE,
  OCI_IMAGE_CONFIG,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  OCI_LAYER_TAR_GZIP,
  OCI_NONDISTRIBUTABLE_LAYER_TAR,
  OCI_NONDISTRIBUTABLE_LAYER_TAR_GZIP,
  assertManifestSize,
  parseManifest,
  type ParsedManifest,
} from '../../src/oci/index.js';
import { bytesOf, descriptorOf, sha256, sha512, throwsCode, violationsOf } from './helpers.js';

const CONFIG = descriptorOf(OCI_IMAGE_CONFIG, '{"architecture":"amd64","os":"linux"}');
const LAYER_A = descriptorOf(OCI_LAYER_TAR_GZIP, 'layer a');
const LAYER_B = descriptorOf(OCI_LAYER_TAR_GZIP, 'layer b');
const EMPTY_CONFIG = { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: OCI_EMPTY_SIZE };
const SUBJECT = descriptorOf(OCI_IMAGE_MANIFEST, '{"the":"subject"}');

function image(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: OCI_IMAGE_MANIFEST, config: CONFIG, layers: [LAYER_A, LAYER_B], ...extra };
}

function index(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: OCI_IMAGE_INDEX,
    manifests: [
      descriptorOf(OCI_IMAGE_MANIFEST, 'amd64 manifest', { platform: { architecture: 'amd64', os: 'linux' } }),
      descriptorOf(OCI_IMAGE_MANIFEST, 'arm64 manifest', { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }),
    ],
    ...extra,
  };
}

function parse(value: unknown, contentType?: string): ParsedManifest {
  return parseManifest(bytesOf(value), contentType);
}

/** Parses and expects MANIFEST_INVALID; returns the violation pointers (in order) and the error. */
function refused(value: unknown, contentType?: string, pattern?: RegExp) {
  const bytes = value instanceof Uint8Array ? value : bytesOf(value);
  const error = throwsCode(() => parseManifest(bytes, contentType), 'MANIFEST_INVALID', pattern);
  assert.equal(error.status, 400);
  const violations = violationsOf(error);
  return { error, violations, pointers: violations.map((v) => v.pointer) };
}

const ref = (kind: string, d: Record<string, unknown>, mustExist: boolean) => ({
  kind,
  digest: d.digest,
  size: d.size,
  mediaType: d.mediaType,
  mustExist,
});

describe('oci/manifest', () => {
  describe('OCI image manifests', () => {
    it('parses an image manifest with config, layers and annotations', () => {
      const parsed = parse(image({ annotations: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' } }), OCI_IMAGE_MANIFEST);
      assert.deepEqual(parsed, {
        mediaType: OCI_IMAGE_MANIFEST,
        kind: 'image',
        artifactType: OCI_IMAGE_CONFIG,
        configMediaType: OCI_IMAGE_CONFIG,
        subject: null,
        annotations: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' },
        references: [ref('config', CONFIG, true), ref('layer', LAYER_A, true), ref('layer', LAYER_B, true)],
      });
    });

    it('accepts an image manifest with no layers', () => {
      const parsed = parse(image({ layers: [] }));
      assert.equal(parsed.kind, 'image');
      assert.deepEqual(parsed.references, [ref('config', CONFIG, true)]);
    });

    it('requires layers to be present, even if empty', () => {
      const document = image();
      delete document.layers;
      const { pointers, violations } = refused(document);
      assert.deepEqual(pointers, ['/layers']);
      assert.match(violations[0]!.message, /required/);
    });

    it('requires config', () => {
      const document = image();
      delete document.config;
      assert.deepEqual(refused(document).pointers, ['/config']);
    });

    it('parses an artifact manifest (artifactType + empty config)', () => {
      const blob = descriptorOf('application/vnd.example.sbom.v1+json', '{"sbom":true}', { annotations: { 'org.opencontainers.image.title': 'sbom.json' } });
      const parsed = parse(
        { schemaVersion: 2, mediaType: OCI_IMAGE_MANIFEST, artifactType: 'application/vnd.example.sbom.v1', config: EMPTY_CONFIG, layers: [blob], subject: SUBJECT },
        OCI_IMAGE_MANIFEST,
      );
      assert.equal(parsed.artifactType, 'application/vnd.example.sbom.v1');
      assert.equal(parsed.configMediaType, OCI_EMPTY);
      assert.deepEqual(parsed.subject, SUBJECT);
      assert.deepEqual(parsed.references, [ref('config', EMPTY_CONFIG, true), ref('layer', blob, true), ref('subject', SUBJECT, false)]);
    });

    it('reports config.mediaType as artifactType when the manifest has none (empty string counts as none)', () => {
      assert.equal(parse(image({ config: EMPTY_CONFIG })).artifactType, OCI_EMPTY);
      assert.equal(parse(image({ artifactType: '' })).artifactType, OCI_IMAGE_CONFIG);
    });

    it('refuses an artifactType that is not a media type', () => {
      const { violations } = refused(image({ artifactType: 'sbom' }));
      assert.deepEqual(violations, [{ pointer: '/artifactType', message: 'must be a media type (type/subtype, RFC 6838), got "sbom"' }]);
      assert.deepEqual(refused(image({ artifactType: 7 })).pointers, ['/artifactType']);
    });

    it('captures subject with mustExist false and only its known fields', () => {
      const subject = { ...SUBJECT, annotations: { a: 'b' }, 'x-unknown': [1, 2] };
      const parsed = parse(image({ subject }));
      assert.deepEqual(parsed.subject, { ...SUBJECT, annotations: { a: 'b' } });
      const last = parsed.references.at(-1);
      assert.deepEqual(last, ref('subject', SUBJECT, false));
    });

    it('marks non-distributable layers, Docker foreign layers and layers with urls mustExist false', () => {
      const nd = descriptorOf(OCI_NONDISTRIBUTABLE_LAYER_TAR_GZIP, 'nd gzip');
      const ndTar = descriptorOf(OCI_NONDISTRIBUTABLE_LAYER_TAR, 'nd tar');
      const withUrls = descriptorOf(OCI_LAYER_TAR_GZIP, 'remote', { urls: ['https://example.com/layer.tgz'] });
      const foreign = descriptorOf(DOCKER_FOREIGN_LAYER_TAR_GZIP, 'foreign');
      const parsed = parse(image({ layers: [LAYER_A, nd, ndTar, withUrls, foreign] }));
      assert.deepEqual(
        parsed.references.map((r) => [r.kind, r.mustExist]),
        [
          ['config', true],
          ['layer', true],
          ['layer', false],
          ['layer', false],
          ['layer', false],
          ['layer', false],
        ],
      );
    });

    it('accepts and ignores unknown fields everywhere', () => {
      const parsed = parse(
        image({
          'com.example.custom': { nested: [1, 2, { deep: true }] },
          layers: [{ ...LAYER_A, 'x-extra': 42 }],
          config: { ...CONFIG, future: null },
        }),
      );
      assert.deepEqual(parsed.references, [ref('config', CONFIG, true), ref('layer', LAYER_A, true)]);
    });

    it('keeps a __proto__ annotation key as plain data', () => {
      const bytes = new TextEncoder().encode(
        `{"schemaVersion":2,"mediaType":"${OCI_IMAGE_MANIFEST}","config":${JSON.stringify(CONFIG)},"layers":[],"annotations":{"__proto__":"x","k":"v"}}`,
      );
      const parsed = parseManifest(bytes, undefined);
      assert.ok(parsed.annotations);
      assert.deepEqual(Object.keys(parsed.annotations), ['__proto__', 'k']);
      assert.equal(Object.getPrototypeOf(parsed.annotations), Object.prototype);
    });

    it('refuses an image manifest that also has `manifests`', () => {
      assert.deepEqual(refused(image({ manifests: [] })).pointers, ['/manifests']);
    });

    it('requires schemaVersion 2', () => {
      const document = image();
      delete document.schemaVersion;
      assert.deepEqual(refused(document).pointers, ['/schemaVersion']);
      const { violations } = refused(image({ schemaVersion: 3 }));
      assert.deepEqual(violations, [{ pointer: '/schemaVersion', message: 'must be 2, got 3' }]);
      assert.deepEqual(refused(image({ schemaVersion: '2' })).pointers, ['/schemaVersion']);
    });

    it('refuses non-string annotation values and non-object annotations', () => {
      assert.deepEqual(refused(image({ annotations: { ok: 'x', bad: 1, worse: null } })).pointers, ['/annotations/bad', '/annotations/worse']);
      assert.deepEqual(refused(image({ annotations: ['x'] })).pointers, ['/annotations']);
    });
  });

  describe('indexes', () => {
    it('parses an index with platforms', () => {
      const document = index({ annotations: { k: 'v' } });
      const parsed = parse(document, OCI_IMAGE_INDEX);
      const manifests = document.manifests as Array<Record<string, unknown>>;
      assert.deepEqual(parsed, {
        mediaType: OCI_IMAGE_INDEX,
        kind: 'index',
        artifactType: null,
        configMediaType: null,
        subject: null,
        annotations: { k: 'v' },
        references: manifests.map((m) => ref('manifest', m, true)),
      });
    });

    it('reports an index artifactType and subject', () => {
      const parsed = parse(index({ artifactType: 'application/vnd.example.bundle', subject: SUBJECT }));
      assert.equal(parsed.artifactType, 'application/vnd.example.bundle');
      assert.deepEqual(parsed.subject, SUBJECT);
      assert.deepEqual(parsed.references.at(-1), ref('subject', SUBJECT, false));
    });

    it('parses a nested index (index of indexes)', () => {
      const child = descriptorOf(OCI_IMAGE_INDEX, 'child index');
      const parsed = parse({ schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: [child, descriptorOf(OCI_IMAGE_MANIFEST, 'm')] });
      assert.equal(parsed.kind, 'index');
      assert.deepEqual(parsed.references[0], ref('manifest', child, true));
      assert.equal(parsed.references.length, 2);
    });

    it('accepts an empty index', () => {
      assert.deepEqual(parse({ schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: [] }).references, []);
    });

    it('refuses an index with config or layers, or without manifests', () => {
      assert.deepEqual(refused(index({ config: CONFIG, layers: [] })).pointers, ['/config', '/layers']);
      const document = index();
      delete document.manifests;
      assert.deepEqual(refused(document).pointers, ['/manifests']);
      assert.deepEqual(refused(index({ manifests: {} })).pointers, ['/manifests']);
    });

    it('validates platform fields and keeps unknown platform fields', () => {
      const good = descriptorOf(OCI_IMAGE_MANIFEST, 'w', {
        platform: { architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.1', 'os.features': ['win32k'], features: [], 'x-new': 1 },
      });
      assert.equal(parse(index({ manifests: [good] })).references.length, 1);
      const bad = descriptorOf(OCI_IMAGE_MANIFEST, 'b', { platform: { architecture: 5, variant: 1, 'os.features': 'win32k' } });
      assert.deepEqual(refused(index({ manifests: [bad, descriptorOf(OCI_IMAGE_MANIFEST, 'c', { platform: 'linux' })] })).pointers, [
        '/manifests/0/platform/architecture',
        '/manifests/0/platform/os',
        '/manifests/0/platform/variant',
        '/manifests/0/platform/os.features',
        '/manifests/1/platform',
      ]);
    });
  });

  describe('Docker schema 2', () => {
    it('parses a Docker schema 2 manifest, foreign layers not required', () => {
      const config = descriptorOf(DOCKER_CONTAINER_CONFIG, 'docker config');
      const layer = descriptorOf(DOCKER_LAYER_TAR_GZIP, 'docker layer');
      const foreign = descriptorOf(DOCKER_FOREIGN_LAYER_TAR_GZIP, 'windows base', { urls: ['https://mcr.microsoft.com/blob'] });
      const parsed = parse({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_V2, config, layers: [foreign, layer] }, DOCKER_MANIFEST_V2);
      assert.deepEqual(parsed, {
        mediaType: DOCKER_MANIFEST_V2,
        kind: 'image',
        artifactType: DOCKER_CONTAINER_CONFIG,
        configMediaType: DOCKER_CONTAINER_CONFIG,
        subject: null,
        annotations: null,
        references: [ref('config', config, true), ref('layer', foreign, false), ref('layer', layer, true)],
      });
    });

    it('parses a Docker manifest list', () => {
      const entry = descriptorOf(DOCKER_MANIFEST_V2, 'amd64', { platform: { architecture: 'amd64', os: 'linux' } });
      const parsed = parse({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST_V2, manifests: [entry] }, DOCKER_MANIFEST_LIST_V2);
      assert.equal(parsed.kind, 'index');
      assert.equal(parsed.mediaType, DOCKER_MANIFEST_LIST_V2);
      assert.deepEqual(parsed.references, [ref('manifest', entry, true)]);
    });

    it('requires the mediaType field on Docker content', () => {
      const { violations } = refused({ schemaVersion: 2, config: CONFIG, layers: [] }, DOCKER_MANIFEST_V2);
      assert.deepEqual(violations.map((v) => v.pointer), ['/mediaType']);
      assert.match(violations[0]!.message, /required for Docker schema 2/);
    });
  });

  describe('media type resolution', () => {
    it('refuses Docker schema 1 by mediaType, by Content-Type and by structure', () => {
      const message = /Docker schema 1 manifests are not supported; push with a client that produces schema 2 or OCI/;
      const schema1 = { schemaVersion: 1, name: 'a', tag: 'b', architecture: 'amd64', fsLayers: [{ blobSum: sha256('x') }], history: [] };
      refused({ ...schema1, mediaType: DOCKER_MANIFEST_V1_SIGNED }, undefined, message);
      refused(schema1, DOCKER_MANIFEST_V1, message);
      refused(schema1, `${DOCKER_MANIFEST_V1_SIGNED}; charset=utf-8`, message);
      const { pointers } = refused(schema1, undefined, message);
      assert.deepEqual(pointers, ['']);
    });

    it('refuses a Content-Type that disagrees with mediaType', () => {
      const { violations } = refused(image(), OCI_IMAGE_INDEX, /Content-Type header says/);
      assert.deepEqual(violations.map((v) => v.pointer), ['/mediaType']);
      refused(index(), DOCKER_MANIFEST_LIST_V2, /must agree/);
    });

    it('ignores Content-Type parameters and case, and generic Content-Types', () => {
      assert.equal(parse(image(), `${OCI_IMAGE_MANIFEST}; charset=utf-8`).mediaType, OCI_IMAGE_MANIFEST);
      assert.equal(parse(image(), OCI_IMAGE_MANIFEST.toUpperCase()).mediaType, OCI_IMAGE_MANIFEST);
      assert.equal(parse(image(), 'application/json').mediaType, OCI_IMAGE_MANIFEST);
      assert.equal(parse(index(), 'application/octet-stream').mediaType, OCI_IMAGE_INDEX);
      assert.equal(parse(index(), '').mediaType, OCI_IMAGE_INDEX);
    });

    it('takes the media type from Content-Type when the field is absent', () => {
      const document = image();
      delete document.mediaType;
      assert.equal(parse(document, OCI_IMAGE_MANIFEST).mediaType, OCI_IMAGE_MANIFEST);
      const list = index();
      delete list.mediaType;
      assert.equal(parse(list, OCI_IMAGE_INDEX).kind, 'index');
    });

    it('infers the type from the structure when nothing declares it', () => {
      const document = image({ mediaType: '' });
      assert.equal(parse(document).mediaType, OCI_IMAGE_MANIFEST);
      const list = index();
      delete list.mediaType;
      const parsed = parse(list, 'application/json');
      assert.equal(parsed.mediaType, OCI_IMAGE_INDEX);
      assert.equal(parsed.kind, 'index');
    });

    it('refuses a document whose type cannot be told or is ambiguous', () => {
      refused({ schemaVersion: 2 }, undefined, /cannot tell the manifest type/);
      refused({ schemaVersion: 2, config: CONFIG, layers: [], manifests: [] }, undefined, /ambiguous/);
    });

    it('refuses unknown media types, naming them', () => {
      refused(image({ mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }), undefined, /unsupported manifest media type "application\/vnd\.oci\.artifact\.manifest\.v1\+json"/);
      const document = image();
      delete document.mediaType;
      const { pointers } = refused(document, 'text/plain', /unsupported manifest media type "text\/plain"/);
      assert.deepEqual(pointers, ['']);
    });

    it('refuses a mediaType field that is not a string', () => {
      const { violations } = refused(image({ mediaType: 2 }));
      assert.deepEqual(violations, [{ pointer: '/mediaType', message: 'must be a string, got number' }]);
    });
  });

  describe('malformed documents', () => {
    it('refuses bytes that are not JSON', () => {
      const { pointers } = refused(new TextEncoder().encode('{"schemaVersion": 2,'), OCI_IMAGE_MANIFEST, /not valid JSON/);
      assert.deepEqual(pointers, ['']);
      refused(new Uint8Array(0), undefined, /not valid JSON/);
    });

    it('refuses JSON that is not an object', () => {
      refused([image()], OCI_IMAGE_MANIFEST, /must be a JSON object, got array/);
      refused('manifest', undefined, /got string/);
      refused(null, undefined, /got null/);
      refused(2, undefined, /got number/);
    });

    it('refuses invalid UTF-8 and a byte order mark', () => {
      const text = new TextEncoder().encode(JSON.stringify(image({ annotations: { k: 'é' } })));
      const broken = text.slice();
      const at = broken.indexOf(0xc3);
      assert.ok(at > 0);
      broken[at + 1] = 0x28; // a lead byte followed by a non-continuation byte
      refused(broken, undefined, /not valid UTF-8/);
      const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...text]);
      refused(bom, undefined, /not valid JSON/);
    });
  });

  describe('descriptors', () => {
    it('lists every violation with its pointer', () => {
      const { violations, error } = refused(
        image({
          config: { mediaType: OCI_IMAGE_CONFIG, size: 10 },
          layers: [
            { ...LAYER_A, size: -1 },
            { ...LAYER_A, digest: `sha384:${'a'.repeat(96)}` },
            { ...LAYER_A, mediaType: 'not a type' },
            { ...LAYER_A, annotations: { k: 1 } },
            { ...LAYER_A, urls: [5, 'not a url'] },
            'layer',
            { ...LAYER_A, size: 1.5, digest: 'sha256:ABC', mediaType: 7 },
            { digest: LAYER_A.digest },
            { ...LAYER_A, size: 2 ** 53 },
            { ...LAYER_A, artifactType: 'nope' },
          ],
          subject: { ...SUBJECT, size: '12' },
        }),
      );
      assert.deepEqual(
        violations.map((v) => v.pointer),
        [
          '/config/digest',
          '/layers/0/size',
          '/layers/1/digest',
          '/layers/2/mediaType',
          '/layers/3/annotations/k',
          '/layers/4/urls/0',
          '/layers/5',
          '/layers/6/mediaType',
          '/layers/6/digest',
          '/layers/6/size',
          '/layers/7/mediaType',
          '/layers/7/size',
          '/layers/8/size',
          '/layers/9/artifactType',
          '/subject/size',
        ],
      );
      assert.match(error.detail, /^15 violations: \/config\/digest: required field is missing; /);
      assert.match(error.detail, /and 12 more$/);
      const byPointer = new Map(violations.map((v) => [v.pointer, v.message]));
      assert.match(byPointer.get('/layers/1/digest')!, /sha384/);
      assert.match(byPointer.get('/layers/0/size')!, /non-negative integer, got -1/);
      assert.match(byPointer.get('/layers/5')!, /descriptor object, got string/);
    });

    it('refuses a url that is not a URI (checked once the list is all strings)', () => {
      assert.deepEqual(refused(image({ layers: [{ ...LAYER_A, urls: ['https://ok.example/x', 'not a url'] }] })).pointers, ['/layers/0/urls/1']);
      assert.deepEqual(refused(image({ layers: [{ ...LAYER_A, urls: 'https://x' }] })).pointers, ['/layers/0/urls']);
    });

    it('accepts a sha512 descriptor and a zero-size descriptor', () => {
      const layer = { mediaType: OCI_LAYER_TAR_GZIP, digest: sha512('big'), size: 3 };
      const zero = { mediaType: OCI_LAYER_TAR_GZIP, digest: sha256(''), size: 0 };
      assert.deepEqual(parse(image({ layers: [layer, zero] })).references.slice(1), [ref('layer', layer, true), ref('layer', zero, true)]);
    });

    describe('data field', () => {
      it('accepts embedded data matching size and digest (sha256 and sha512)', () => {
        const config = { ...EMPTY_CONFIG, data: Buffer.from('{}').toString('base64') };
        const layer = { mediaType: 'text/plain', digest: sha512('hello'), size: 5, data: Buffer.from('hello').toString('base64') };
        const parsed = parse(image({ config, layers: [layer] }));
        assert.deepEqual(parsed.references, [ref('config', EMPTY_CONFIG, true), ref('layer', layer, true)]);
      });

      it('refuses data whose length differs from size', () => {
        const config = { ...EMPTY_CONFIG, size: 3, data: Buffer.from('{}').toString('base64') };
        const { violations } = refused(image({ config }));
        // The bytes do hash to the digest, so only the size is wrong.
        assert.deepEqual(violations, [{ pointer: '/config/data', message: 'decodes to 2 bytes but size is 3' }]);
      });

      it('refuses data whose digest differs', () => {
        const config = { ...EMPTY_CONFIG, data: Buffer.from('[]').toString('base64') };
        const { violations } = refused(image({ config }));
        assert.deepEqual(violations, [
          { pointer: '/config/data', message: `decoded content has digest ${sha256('[]')}, not ${OCI_EMPTY_DIGEST}` },
        ]);
      });

      it('refuses data that is not padded base64', () => {
        for (const data of ['e30', 'e3 0=', '!!!!', 5]) {
          const { pointers } = refused(image({ config: { ...EMPTY_CONFIG, data } }));
          assert.deepEqual(pointers, ['/config/data'], `data ${JSON.stringify(data)}`);
        }
      });

      it('accepts empty data for an empty blob', () => {
        const layer = { mediaType: 'text/plain', digest: sha256(''), size: 0, data: '' };
        assert.equal(parse(image({ layers: [layer] })).references.length, 2);
      });
    });
  });

  describe('size limit', () => {
    it('accepts up to the limit and refuses beyond it with 413', () => {
      assert.doesNotThrow(() => assertManifestSize(MAX_MANIFEST_BYTES));
      const error = throwsCode(() => assertManifestSize(MAX_MANIFEST_BYTES + 1), 'MANIFEST_TOO_LARGE', /4194305 bytes; the limit is 4194304/);
      assert.equal(error.status, 413);
      throwsCode(() => assertManifestSize(11, 10), 'MANIFEST_TOO_LARGE');
      assert.doesNotThrow(() => assertManifestSize(10, 10));
    });
  });
});
