import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { checkUploadId, isUploadId } from '../../src/storage/index.js';
import { checkUploadOffset } from '../../src/storage/upload-id.js';
import { throwsWithCode } from './support.js';
import { MALFORMED_UPLOAD_IDS } from './upload-suite.js';

describe('upload ids', function () {
  it('accepts lowercase UUIDs', function () {
    for (const id of [randomUUID(), '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', 'ffffffff-ffff-ffff-ffff-ffffffffffff']) {
      assert.equal(isUploadId(id), true, id);
      assert.equal(checkUploadId(id), id);
    }
  });

  it('refuses everything else with UPLOAD_ID_INVALID', function () {
    for (const id of [...MALFORMED_UPLOAD_IDS, 42, null, undefined, {}]) {
      assert.equal(isUploadId(id), false, String(id));
      throwsWithCode(() => checkUploadId(id), 'UPLOAD_ID_INVALID');
    }
  });

  it('accepts non-negative safe integer offsets only', function () {
    for (const offset of [0, 1, Number.MAX_SAFE_INTEGER]) assert.equal(checkUploadOffset(offset), offset);
    for (const offset of [-1, 0.5, Number.NaN, 2 ** 53, '1', null]) throwsWithCode(() => checkUploadOffset(offset), 'FIELD_INVALID');
  });
});
