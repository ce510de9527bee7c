/**
 * @module observability/database
 * Times database queries from knex's own events (`query`, `query-response`,
 * `query-error`), matched by knex's per-query uid. Transaction control
 * statements (BEGIN/COMMIT) carry no uid and no response event, so they
 * are not timed; everything built or raw through knex is.
 */
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import type { QueryOperation } from './metrics.js';

/** Receives one timed query. Must not throw (a throwing observer is ignored). */
export type QueryObserver = (operation: QueryOperation, seconds: number, ok: boolean) => void;

/** What knex passes with its query events (the fields used here). */
interface QueryData {
  readonly __knexQueryUid?: string;
  readonly method?: string;
  readonly sql?: string;
}

/** Queries in flight tracked at most; beyond it the oldest are forgotten (a response that never came). */
const MAX_PENDING = 10_000;

const METHOD_OPERATIONS: Record<string, QueryOperation> = {
  select: 'select',
  first: 'select',
  pluck: 'select',
  columnInfo: 'select',
  insert: 'insert',
  upsert: 'insert',
  update: 'update',
  counter: 'update',
  del: 'delete',
  delete: 'delete',
  truncate: 'delete',
};

/** The operation kind of a query: from the builder's method, or the first SQL keyword of a raw query. */
export function queryOperationOf(data: { method?: string; sql?: string }): QueryOperation {
  const fromMethod = data.method === undefined || data.method === 'raw' ? undefined : METHOD_OPERATIONS[data.method];
  if (fromMethod) return fromMethod;
  const keyword = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*([A-Za-z]+)/.exec(data.sql ?? '')?.[1]?.toLowerCase();
  switch (keyword) {
    case 'select':
    case 'insert':
    case 'update':
    case 'delete':
      return keyword;
    default:
      return 'other';
  }
}

/**
 * Reports every query of `knex` to `observe`. Returns a function that
 * detaches the listeners.
 */
export function instrumentDatabase(knex: Knex, observe: QueryObserver): () => void {
  const pending = new Map<string, { started: number; operation: QueryOperation }>();
  const onQuery = (data: QueryData): void => {
    const uid = data.__knexQueryUid;
    if (uid === undefined) return;
    if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value as string);
    pending.set(uid, { started: performance.now(), operation: queryOperationOf(data) });
  };
  const finish = (data: QueryData | undefined, ok: boolean): void => {
    const uid = data?.__knexQueryUid;
    if (uid === undefined) return;
    const entry = pending.get(uid);
    if (!entry) return;
    pending.delete(uid);
    try {
      observe(entry.operation, (performance.now() - entry.started) / 1000, ok);
    } catch {
      // Metrics must never fail a query.
    }
  };
  const onResponse = (_response: unknown, data: QueryData | undefined): void => finish(data, true);
  const onError = (_error: unknown, data: QueryData | undefined): void => finish(data, false);
  knex.on('query', onQuery);
  knex.on('query-response', onResponse);
  knex.on('query-error', onError);
  return () => {
    knex.off('query', onQuery);
    knex.off('query-response', onResponse);
    knex.off('query-error', onError);
    pending.clear();
  };
}
