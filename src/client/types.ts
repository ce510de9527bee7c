/**
 * @module client/types
 * The native API's JSON objects as they travel on the wire (snake_case, see
 * docs/api/native.md). The client hands them to callers unchanged.
 */

/** `created` until finalized; `finalized` once its manifest is sealed. */
export type PackageStatus = 'created' | 'finalized' | 'deleted';

/** A package. */
export interface Package {
  readonly id: string;
  readonly name: string;
  readonly producer: string;
  readonly subject: string | null;
  readonly retention_class: string;
  readonly metadata: Record<string, unknown>;
  /** The metadata schema the package conforms to, or null. */
  readonly metadata_schema: string | null;
  readonly status: PackageStatus;
  readonly manifest_digest: string | null;
  readonly created_by: string;
  readonly created_at: string;
  readonly finalized_at: string | null;
  readonly deleted_at: string | null;
  readonly expires_at: string | null;
  readonly file_count: number;
  readonly total_size: number;
  readonly last_event_sequence: number;
}

/** A file of a package. */
export interface FileRecord {
  readonly id: string;
  readonly package_id: string;
  readonly relative_path: string;
  readonly media_type: string;
  readonly size: number;
  /** `blake3:<hex>`, the primary content address. */
  readonly content_address: string;
  /** `sha256:<hex>`. */
  readonly digest_sha256: string;
  readonly digests: { readonly blake3: string; readonly sha256: string };
  readonly created_at: string;
}

/** A resumable upload session. */
export interface UploadSession {
  readonly id: string;
  readonly package_id: string;
  readonly relative_path: string;
  readonly media_type: string;
  /** Bytes received so far. */
  readonly offset: number;
  readonly size: number | null;
  readonly blake3: string | null;
  readonly sha256: string | null;
  readonly created_at: string;
  readonly expires_at: string;
  readonly location: string;
}

/** One event of the log. */
export interface RemoteEvent {
  readonly sequence: number;
  readonly created_at: string;
  readonly event_type: string;
  readonly subject_kind: string;
  readonly subject_id: string;
  readonly actor: string;
  readonly payload: unknown;
  /** Base64 of the canonical CBOR payload. */
  readonly payload_cbor: string;
  readonly payload_digest: string;
}

/** Body of `POST /packages`. */
export interface CreatePackageRequest {
  readonly name: string;
  readonly producer: string;
  readonly subject?: string | null;
  readonly retention_class: string;
  readonly metadata?: Record<string, unknown>;
  /** A registered metadata schema the metadata must conform to. */
  readonly metadata_schema?: string | null;
}

/** Body of `POST /packages/{id}/uploads`. */
export interface StartUploadRequest {
  readonly relative_path: string;
  readonly media_type: string;
  readonly size?: number;
  /** `blake3:<hex>` the completed upload must hash to. */
  readonly blake3?: string;
  /** `sha256:<hex>` the completed upload must hash to. */
  readonly sha256?: string;
}

/** Filters of `GET /packages`. */
export interface PackageQuery {
  readonly producer?: string;
  readonly subject?: string;
  readonly retention_class?: string;
  readonly status?: PackageStatus;
  /** `metadata.<key>=<value>` filters, ANDed. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Page size (1–1000). The iterator follows every page regardless. */
  readonly limit?: number;
}

/** One page of `GET /packages`. */
export interface PackagePage {
  readonly items: Package[];
  readonly next_cursor: string | null;
}

/** Filters of `GET /events`. */
export interface EventQuery {
  /** Events with a greater sequence (default 0). */
  readonly since?: number;
  /** Page size (1–1000). */
  readonly limit?: number;
  /** Exact type, or a prefix when it ends with `.`. */
  readonly event_type?: string;
  readonly subject_kind?: string;
  readonly subject_id?: string;
}

/** One page of `GET /events`. */
export interface EventPage {
  readonly events: RemoteEvent[];
  readonly next_since: number;
}

/** Result of `POST /packages/{id}/finalize`. */
export interface FinalizeResult {
  readonly package_id: string;
  readonly manifest_digest: string;
}

/** A manifest's bytes and the digest the server names for them. */
export interface ManifestBytes {
  readonly format: 'cbor' | 'json';
  readonly bytes: Buffer;
  /** The manifest digest from the `ETag` (`blake3:<hex>`). */
  readonly digest: string;
}
