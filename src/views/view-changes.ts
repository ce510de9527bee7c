/**
 * @module views/view-changes
 * The vocabulary projectors speak. A projector never touches the database: it
 * turns one event into a list of {@link ViewChange}s, and an applier carries
 * them out — row by row on the live path, in multi-row batches during replay,
 * or into memory when `verify` rebuilds the views to compare. Because the
 * live path and replay run the very same projector, they cannot drift.
 */

/** A column value in a view row. */
export type ViewValue = string | number | boolean | null;

/** One view row. Projectors set every column explicitly. */
export type ViewRow = Record<string, ViewValue>;

/** A change to the views, produced by a projector. */
export type ViewChange =
  /** Insert a row that must not exist yet. */
  | { readonly op: 'insert'; readonly table: ViewTable; readonly row: ViewRow }
  /** Insert a row unless one with the same primary key exists. */
  | { readonly op: 'insertIfAbsent'; readonly table: ViewTable; readonly row: ViewRow }
  /** Set columns (absolute values, never increments) on the row with this primary key. */
  | { readonly op: 'update'; readonly table: ViewTable; readonly key: ViewRow; readonly set: ViewRow }
  /** Insert the row, or replace every given column of the row with the same primary key. */
  | { readonly op: 'upsert'; readonly table: ViewTable; readonly row: ViewRow }
  /** Delete every row whose columns equal `where` (any subset of columns; zero rows is fine). */
  | { readonly op: 'delete'; readonly table: ViewTable; readonly where: ViewRow };

/**
 * Every view table with its primary key, in dependency order: a table's
 * foreign keys point only at tables listed before it. Replay clears them in
 * reverse order and batch-inserts in this order.
 */
export const VIEW_TABLES = {
  objects: ['content_address'],
  storage_locations: ['content_address', 'backend_id'],
  artifact_packages: ['id'],
  artifact_package_metadata: ['package_id', 'key'],
  artifact_files: ['id'],
  retention_state: ['package_id'],
  retention_holds: ['id'],
  oci_repositories: ['name'],
  oci_blob_links: ['repository', 'digest'],
  oci_manifests: ['repository', 'digest'],
  oci_manifest_references: ['repository', 'manifest_digest', 'position'],
  oci_tags: ['repository', 'tag'],
  metadata_schemas: ['name'],
} as const satisfies Record<string, readonly string[]>;

/** A view table name. */
export type ViewTable = keyof typeof VIEW_TABLES;

/** View table names in dependency order. */
export const VIEW_TABLE_ORDER = Object.keys(VIEW_TABLES) as ViewTable[];

/** The primary-key string of `row` in `table` (used to merge and compare rows). */
export function primaryKeyOf(table: ViewTable, row: ViewRow): string {
  return VIEW_TABLES[table].map((column) => String(row[column])).join('\u0000');
}

/** True when `where` names exactly the primary-key columns of `table`. */
export function isPrimaryKeyFilter(table: ViewTable, where: ViewRow): boolean {
  const columns = Object.keys(where);
  const key: readonly string[] = VIEW_TABLES[table];
  return columns.length === key.length && key.every((column) => Object.hasOwn(where, column));
}

/** True when `row` has every column value of `where`. */
export function rowMatches(row: ViewRow, where: ViewRow): boolean {
  return Object.entries(where).every(([column, value]) => row[column] === value);
}

/** Carries out view changes somewhere (a database transaction, a batch, memory). */
export interface ViewApplier {
  apply(changes: readonly ViewChange[]): Promise<void>;
}
