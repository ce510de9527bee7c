/**
 * A small OCI client over supertest for tests: push blobs and manifests,
 * read them back. Assertions stay in the tests.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';

/** `sha256:<hex>` of `bytes`. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Helpers bound to one app. */
export function ociClient(app: Express) {
  const agent = request(app);
  return {
    agent,
    /** Monolithic POST ?digest= push; returns the digest. */
    async pushBlob(name: string, bytes: Uint8Array | string): Promise<string> {
      const digest = sha256(bytes);
      const response = await agent.post(`/v2/${name}/blobs/uploads/?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(Buffer.from(bytes));
      if (response.status !== 201) throw new Error(`push blob: ${response.status} ${response.text}`);
      return digest;
    },
    /** PUT a JSON manifest; returns the response. */
    putManifest(name: string, reference: string, manifest: unknown, mediaType = 'application/vnd.oci.image.manifest.v1+json') {
      // A string body goes out byte for byte; superagent would JSON-encode a Buffer under a +json type.
      const body = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
      return agent.put(`/v2/${name}/manifests/${reference}`).set('Content-Type', mediaType).send(body);
    },
    /** An OCI image manifest over a pushed config and layers. */
    async pushImage(name: string, tag: string, layers: string[], extra: Record<string, unknown> = {}): Promise<{ digest: string; body: Buffer }> {
      const config = await this.pushBlob(name, `{"architecture":"amd64","os":"linux","tag":"${tag}"}`);
      const layerDescriptors = [];
      for (const layer of layers) layerDescriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await this.pushBlob(name, layer), size: Buffer.byteLength(layer) });
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: Buffer.byteLength(`{"architecture":"amd64","os":"linux","tag":"${tag}"}`) },
        layers: layerDescriptors,
        ...extra,
      };
      const body = Buffer.from(JSON.stringify(manifest));
      const response = await this.putManifest(name, tag, body.toString());
      if (response.status !== 201) throw new Error(`push manifest: ${response.status} ${response.text}`);
      return { digest: sha256(body), body };
    },
  };
}
