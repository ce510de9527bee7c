// CLI of the OCI distribution-spec conformance runner.
//
//   tsx conformance/run.ts --url http://127.0.0.1:5000 [--repo conformance/a]
//       [--cross-repo conformance/b] [--workflows pull,push,discovery,management]
//       [--grep <regex>] [--run-id <id>] [--json]
//
// Prints one PASS/FAIL (WARN for optional checks) line per check, a summary per workflow
// and a final "N passed, N failed" line; exits 1 when a required check failed, 2 on usage errors.
import { parseArgs } from 'node:util';
import { ConformanceReport, formatResult, runConformance, Workflow, WORKFLOWS } from './runner.js';

const USAGE = `usage: tsx conformance/run.ts --url <registry-url> [--repo <name>] [--cross-repo <name>]
       [--workflows ${WORKFLOWS.join(',')}] [--grep <regex>] [--run-id <id>] [--json]`;

function printSummary(report: ConformanceReport): void {
  console.log('');
  for (const [w, s] of Object.entries(report.workflows)) {
    if (!s) continue;
    const opt = s.optionalPassed + s.optionalFailed > 0 ? ` (optional: ${s.optionalPassed} passed, ${s.optionalFailed} not supported)` : '';
    console.log(`${w.padEnd(10)} ${s.passed} passed, ${s.failed} failed${opt}`);
  }
  if (report.optionalFailed > 0) console.log(`${report.optionalFailed} optional check(s) not supported (not counted as failures)`);
  console.log(`run ${report.runId} against ${report.url} (${report.repo}, ${report.crossRepo}) in ${(report.durationMs / 1000).toFixed(1)} s`);
  console.log(`${report.passed} passed, ${report.failed} failed`);
}

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        repo: { type: 'string' },
        'cross-repo': { type: 'string' },
        workflows: { type: 'string' },
        grep: { type: 'string' },
        'run-id': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const url = values.url as string | undefined;
  if (!url) {
    console.error(`--url is required\n${USAGE}`);
    return 2;
  }
  const workflows = values.workflows
    ? (String(values.workflows)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean) as Workflow[])
    : undefined;
  const json = values.json === true;
  let report: ConformanceReport;
  try {
    report = await runConformance({
      url,
      repo: values.repo as string | undefined,
      crossRepo: values['cross-repo'] as string | undefined,
      workflows,
      grep: values.grep as string | undefined,
      runId: values['run-id'] as string | undefined,
      onResult: json ? undefined : (r) => console.log(formatResult(r)),
    });
  } catch (err) {
    console.error(`conformance: ${(err as Error).message}`);
    return 2;
  }
  if (json) console.log(JSON.stringify(report, null, 2));
  else printSummary(report);
  return report.failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 2;
  },
);
