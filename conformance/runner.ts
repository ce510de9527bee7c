// In-process entry point of the OCI distribution-spec conformance runner.
//
//   const report = await runConformance({ url: `http://127.0.0.1:${port}` });
//   assert.equal(report.failed, 0, formatFailures(report));
//
// Checks run one after another; each pushes whatever it needs (memoised per run), so any
// subset (by workflow or by name) runs on its own.
import { RegistryClient } from './client.js';
import { Check, CheckFailure, Context, Workflow, WORKFLOWS } from './checks/common.js';
import { discoveryChecks } from './checks/discovery.js';
import { managementChecks } from './checks/management.js';
import { pullChecks } from './checks/pull.js';
import { pushChecks } from './checks/push.js';
import { Fixtures } from './fixtures/data.js';

export type { Workflow } from './checks/common.js';
export { WORKFLOWS } from './checks/common.js';

export const allChecks: readonly Check[] = [...pullChecks, ...pushChecks, ...discoveryChecks, ...managementChecks];

export interface ConformanceOptions {
  /** Registry base URL, e.g. http://127.0.0.1:5000 */
  url: string;
  /** Repository the checks push to (default conformance/a). */
  repo?: string;
  /** Second repository, target of cross-repository mounts (default conformance/b). */
  crossRepo?: string;
  /** Workflows to run (default all). */
  workflows?: Workflow[];
  /** Only run checks whose name matches. */
  grep?: RegExp | string;
  /** Distinguishes this run's tags and content from other runs (default: time + random). */
  runId?: string;
  /** Seed of the generated content (default: the run id). */
  seed?: string;
  /** Headers sent with every request (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Timeout of one HTTP request in ms (default 30 000). */
  requestTimeoutMs?: number;
  /** Timeout of one check in ms (default 120 000). */
  checkTimeoutMs?: number;
  /** Called after each check, in order. */
  onResult?: (result: CheckResult) => void;
}

export interface CheckResult {
  workflow: Workflow;
  name: string;
  ok: boolean;
  /** Optional checks are reported but do not count as failures. */
  optional: boolean;
  /** On success what was observed; on failure the reason. */
  detail: string;
  durationMs: number;
}

export interface WorkflowSummary {
  passed: number;
  failed: number;
  optionalPassed: number;
  optionalFailed: number;
}

export interface ConformanceReport {
  url: string;
  repo: string;
  crossRepo: string;
  runId: string;
  startedAt: string;
  durationMs: number;
  results: CheckResult[];
  workflows: Partial<Record<Workflow, WorkflowSummary>>;
  /** Checks that passed, optional ones included. */
  passed: number;
  /** Required checks that failed. */
  failed: number;
  /** Optional checks that failed (not counted in `failed`). */
  optionalFailed: number;
  /** True when no required check failed. */
  ok: boolean;
}

const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

export function defaultRunId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0')}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailure(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function reason(err: unknown): string {
  if (err instanceof CheckFailure) return err.message;
  if (err instanceof Error) return `${err.name === 'Error' ? 'error' : err.name}: ${err.message}`;
  return String(err);
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const repo = options.repo ?? 'conformance/a';
  const crossRepo = options.crossRepo ?? 'conformance/b';
  for (const [flag, v] of [['repo', repo], ['crossRepo', crossRepo]] as const) {
    if (!NAME_RE.test(v)) throw new Error(`${flag} ${JSON.stringify(v)} is not a valid repository name`);
  }
  if (repo === crossRepo) throw new Error('repo and crossRepo must differ');
  const workflows = options.workflows ?? [...WORKFLOWS];
  for (const w of workflows) if (!WORKFLOWS.includes(w)) throw new Error(`unknown workflow ${JSON.stringify(w)} (known: ${WORKFLOWS.join(', ')})`);
  const runId = (options.runId ?? defaultRunId()).toLowerCase();
  if (!/^[a-z0-9]{1,40}$/.test(runId)) throw new Error(`runId must be 1-40 lowercase letters or digits`);

  const client = new RegistryClient(options.url, { headers: options.headers, timeoutMs: options.requestTimeoutMs ?? 30_000 });
  const ctx = new Context(client, repo, crossRepo, runId, new Fixtures(options.seed ?? runId));
  const grep = options.grep === undefined ? undefined : typeof options.grep === 'string' ? new RegExp(options.grep, 'i') : options.grep;
  const selected = allChecks.filter((c) => workflows.includes(c.workflow) && (!grep || grep.test(c.name)));

  const started = Date.now();
  const results: CheckResult[] = [];
  for (const check of selected) {
    const t0 = Date.now();
    let ok = false;
    let detail = '';
    try {
      detail = (await withTimeout(check.run(ctx), options.checkTimeoutMs ?? 120_000, 'check')) ?? '';
      ok = true;
    } catch (err) {
      detail = reason(err);
    }
    const result: CheckResult = { workflow: check.workflow, name: check.name, ok, optional: check.optional === true, detail, durationMs: Date.now() - t0 };
    results.push(result);
    options.onResult?.(result);
  }

  const summary: Partial<Record<Workflow, WorkflowSummary>> = {};
  for (const w of WORKFLOWS.filter((x) => workflows.includes(x))) {
    const rs = results.filter((r) => r.workflow === w);
    if (rs.length === 0) continue;
    summary[w] = {
      passed: rs.filter((r) => r.ok).length,
      failed: rs.filter((r) => !r.ok && !r.optional).length,
      optionalPassed: rs.filter((r) => r.ok && r.optional).length,
      optionalFailed: rs.filter((r) => !r.ok && r.optional).length,
    };
  }
  const failed = results.filter((r) => !r.ok && !r.optional).length;
  return {
    url: options.url,
    repo,
    crossRepo,
    runId,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    results,
    workflows: summary,
    passed: results.filter((r) => r.ok).length,
    failed,
    optionalFailed: results.filter((r) => !r.ok && r.optional).length,
    ok: failed === 0,
  };
}

/** One line per check: "PASS [push] name — detail". */
export function formatResult(r: CheckResult): string {
  const status = r.ok ? 'PASS' : r.optional ? 'WARN' : 'FAIL';
  return `${status} [${r.workflow}]${r.optional ? ' (optional)' : ''} ${r.name}${r.detail ? ` — ${r.detail}` : ''}`;
}

/** The failing checks, one per line, for assertion messages. */
export function formatFailures(report: ConformanceReport): string {
  return report.results
    .filter((r) => !r.ok && !r.optional)
    .map(formatResult)
    .join('\n');
}
