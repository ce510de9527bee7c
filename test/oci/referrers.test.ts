import { strict as assert } from 'node:assert';
import {
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  REFERRERS_CONTENT_TYPE,
  parseManifest,
  referrerDescriptor,
  referrersIndex,
} from '../../src/oci/index.js';
import { sha256 } from './helpers.js';

const DIGEST = sha256('referrer');

describe('oci/referrers', () => {
  it('builds a descriptor with artifactType and a copy of the annotations', () => {
    const annotations = { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' };
    const descriptor = referrerDescriptor({ mediaType: OCI_IMAGE_MANIFEST, digest: DIGEST, size: 321, artifactType: 'application/vnd.example.sbom.v1', annotations });
    assert.deepEqual(descriptor, { mediaType: OCI_IMAGE_MANIFEST, digest: DIGEST, size: 321, artifactType: 'application/vnd.example.sbom.v1', annotations });
    assert.deepEqual(Object.keys(descriptor), ['mediaType', 'digest', 'size', 'artifactType', 'annotations']);
    assert.notEqual(descriptor.annotations, annotations, 'annotations are copied, not shared');
  });

  it('omits a null artifactType and null or empty annotations', () => {
    const row = { mediaType: OCI_IMAGE_INDEX, digest: DIGEST, size: 9, artifactType: null, annotations: null };
    assert.deepEqual(referrerDescriptor(row), { mediaType: OCI_IMAGE_INDEX, digest: DIGEST, size: 9 });
    const withEmpty = referrerDescriptor({ ...row, annotations: {} });
    assert.equal(Object.hasOwn(withEmpty, 'annotations'), false);
    assert.equal(Object.hasOwn(withEmpty, 'artifactType'), false);
  });

  it('serializes an image index of the descriptors, in order', () => {
    const a = referrerDescriptor({ mediaType: OCI_IMAGE_MANIFEST, digest: sha256('a'), size: 1, artifactType: 'application/vnd.a', annotations: { k: 'v' } });
    const b = referrerDescriptor({ mediaType: OCI_IMAGE_INDEX, digest: sha256('b'), size: 2, artifactType: null, annotations: null });
    const bytes = referrersIndex([a, b]);
    assert.ok(bytes instanceof Uint8Array);
    const document = JSON.parse(new TextDecoder().decode(bytes));
    assert.deepEqual(document, { schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: [a, b] });
    assert.equal(REFERRERS_CONTENT_TYPE, OCI_IMAGE_INDEX);
  });

  it('serializes an empty index when there are no referrers, and the result is a valid index', () => {
    const bytes = referrersIndex([]);
    assert.equal(new TextDecoder().decode(bytes), `{"schemaVersion":2,"mediaType":"${OCI_IMAGE_INDEX}","manifests":[]}`);
    const parsed = parseManifest(bytes, REFERRERS_CONTENT_TYPE);
    assert.equal(parsed.kind, 'index');
    assert.deepEqual(parsed.references, []);
  });

  it('round-trips a manifest through parseManifest into its referrer descriptor', () => {
    const subject = { mediaType: OCI_IMAGE_MANIFEST, digest: sha256('subject'), size: 7 };
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_IMAGE_MANIFEST,
      config: { mediaType: 'application/vnd.example.sig.config', digest: sha256('c'), size: 1 },
      layers: [],
      subject,
      annotations: { signed: 'yes' },
    };
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const parsed = parseManifest(bytes, OCI_IMAGE_MANIFEST);
    const descriptor = referrerDescriptor({ mediaType: parsed.mediaType, digest: sha256(bytes), size: bytes.length, artifactType: parsed.artifactType, annotations: parsed.annotations });
    assert.deepEqual(descriptor, {
      mediaType: OCI_IMAGE_MANIFEST,
      digest: sha256(bytes),
      size: bytes.length,
      artifactType: 'application/vnd.example.sig.config',
      annotations: { signed: 'yes' },
    });
  });
});
