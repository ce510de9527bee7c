/** Shared inputs for the manifest tests. Every call returns fresh objects. */
import type { BuildManifestInput } from '../../src/manifest/index.js';

export const REPORT = {
  blake3: 'blake3:6fa705dce0bb7c5b5dfef9b57eab2f450fb8c820c8d3ebdf441c03d85b9037ef',
  sha256: 'sha256:224f1d44070761b167ab1d338a429921d0c63f4c0bd177c2fed6ff800e29d3b0',
  size: 20,
};
export const RUN_JSON = {
  blake3: 'blake3:d0bee28f0b1b5ca271c6aa88ebb677245b9418266d33052f83b146c6e9f166d1',
  sha256: 'sha256:b215ff190a08ad5dcf98fbe6ee599c5a3a2b5b7034c6b526eeeaa887f67ae648',
  size: 20,
};
export const LOG = {
  blake3: 'blake3:4863e972bed84356a2412804448a978416bc5cce18bc868b64d26758994968c6',
  sha256: 'sha256:8e722e34af271ba626bdbdf618ebf1386eaad27b073b6421d329bf5ffca22637',
  size: 9,
};

function file(relative_path: string, media_type: string, content: typeof REPORT) {
  return { relative_path, media_type, size: content.size, content_address: content.blake3, digest_sha256: content.sha256 };
}

function receipt(content: typeof REPORT, stored_at: string) {
  const hex = content.blake3.slice('blake3:'.length);
  return { content_address: content.blake3, backend: 'local', object_key: `blake3/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`, retrieval_tier: 'hot', stored_at };
}

/**
 * A guide-board run: four files in arbitrary order, two sharing one object,
 * and one receipt row per file (so the shared object's receipt appears twice).
 */
export function sampleInput(): BuildManifestInput {
  return {
    package: {
      id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      name: 'guide-board run 42',
      producer: 'guide-board',
      subject: 'suite/smoke',
      retention_class: 'raw-evidence',
      metadata: { run: { id: 42, passed: true, tags: ['smoke', 'nightly'] }, 'git.sha': 'abc123', note: null },
      created_at: '2025-03-01T12:00:00.000Z',
    },
    files: [
      file('run.json', 'application/json', RUN_JSON),
      file('reports/index.html', 'text/html', REPORT),
      file('evidence/copy-of-run.json', 'application/json', RUN_JSON),
      file('logs/run.log', 'text/plain', LOG),
    ],
    storage_receipts: [
      receipt(RUN_JSON, '2025-03-01T12:01:00.000Z'),
      receipt(REPORT, '2025-03-01T12:02:00.000Z'),
      receipt(RUN_JSON, '2025-03-01T12:01:00.000Z'),
      receipt(LOG, '2025-03-01T12:03:00.000Z'),
    ],
    retention_summary: { retention_class: 'raw-evidence', expires_at: '2025-06-01T12:00:00.000Z' },
    provenance: { actor: 'ci-token:guide-board', finalized_at: '2025-03-01T12:05:00.250Z', event_sequence: 17 },
  };
}
