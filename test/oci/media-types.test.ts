import { strict as assert } from 'node:assert';
import { ERROR_CODES } from '../../src/errors/index.js';
import {
  DOCKER_FOREIGN_LAYER_TAR_GZIP,
  DOCKER_LAYER_TAR_GZIP,
  DOCKER_MANIFEST_LIST_V2,
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  DOCKER_MANIFEST_V2,
  OCI_ERROR_CODES,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  OCI_LAYER_TAR_GZIP,
  OCI_NONDISTRIBUTABLE_LAYER_TAR,
  OCI_NONDISTRIBUTABLE_LAYER_TAR_GZIP,
  OCI_NONDISTRIBUTABLE_LAYER_TAR_ZSTD,
  isImageManifestType,
  isIndexManifestType,
  isMediaTypeName,
  isNonDistributableLayerType,
  isSchema1ManifestType,
  specificContentType,
} from '../../src/oci/index.js';

describe('oci/media-types', () => {
  it('classifies manifest types', () => {
    assert.equal(isImageManifestType(OCI_IMAGE_MANIFEST), true);
    assert.equal(isImageManifestType(DOCKER_MANIFEST_V2), true);
    assert.equal(isImageManifestType(OCI_IMAGE_INDEX), false);
    assert.equal(isIndexManifestType(OCI_IMAGE_INDEX), true);
    assert.equal(isIndexManifestType(DOCKER_MANIFEST_LIST_V2), true);
    assert.equal(isIndexManifestType(DOCKER_MANIFEST_V2), false);
    assert.equal(isSchema1ManifestType(DOCKER_MANIFEST_V1), true);
    assert.equal(isSchema1ManifestType(DOCKER_MANIFEST_V1_SIGNED), true);
    assert.equal(isSchema1ManifestType(DOCKER_MANIFEST_V2), false);
  });

  it('classifies non-distributable layers', () => {
    for (const type of [OCI_NONDISTRIBUTABLE_LAYER_TAR, OCI_NONDISTRIBUTABLE_LAYER_TAR_GZIP, OCI_NONDISTRIBUTABLE_LAYER_TAR_ZSTD, DOCKER_FOREIGN_LAYER_TAR_GZIP]) {
      assert.equal(isNonDistributableLayerType(type), true, type);
    }
    assert.equal(isNonDistributableLayerType(OCI_LAYER_TAR_GZIP), false);
    assert.equal(isNonDistributableLayerType(DOCKER_LAYER_TAR_GZIP), false);
  });

  it('recognises RFC 6838 media type names', () => {
    for (const ok of [OCI_IMAGE_MANIFEST, 'text/plain', 'application/vnd.example.sbom.v1', 'application/x-tar+gzip']) assert.equal(isMediaTypeName(ok), true, ok);
    for (const bad of ['', 'text', 'text/', '/plain', 'text/plain; charset=utf-8', 'a/b/c', ' text/plain', `a/${'b'.repeat(128)}`, 3]) {
      assert.equal(isMediaTypeName(bad), false, String(bad));
    }
  });

  it('extracts the specific type of a Content-Type header', () => {
    assert.equal(specificContentType(undefined), null);
    assert.equal(specificContentType(''), null);
    assert.equal(specificContentType('application/json'), null);
    assert.equal(specificContentType('Application/JSON; charset=utf-8'), null);
    assert.equal(specificContentType('application/octet-stream'), null);
    assert.equal(specificContentType(` ${OCI_IMAGE_MANIFEST.toUpperCase()} ; charset=utf-8`), OCI_IMAGE_MANIFEST);
  });

  it('declares error codes that the error registry defines with the same status and OCI code', () => {
    const codes = OCI_ERROR_CODES.map((entry) => entry.code);
    for (const needed of ['NAME_INVALID', 'TAG_INVALID', 'DIGEST_INVALID', 'MANIFEST_INVALID', 'MANIFEST_TOO_LARGE', 'PAGINATION_NUMBER_INVALID']) {
      assert.ok(codes.includes(needed as never), needed);
    }
    for (const entry of OCI_ERROR_CODES) {
      const registered = ERROR_CODES[entry.code] as { status: number; oci?: string };
      assert.equal(registered.status, entry.status, entry.code);
      assert.equal(registered.oci, entry.ociCode, entry.code);
    }
  });
});
