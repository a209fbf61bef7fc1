// Prints the closing line "N passed, N failed, N skipped" from vitest's JSON report (and the
// extras of scripts/vitest-extras-reporter.js) plus the type-check results; exits 1 when anything
// failed or nothing ran.
//
//   node scripts/test-counts.js <vitest.json> [checksPassed] [checksFailed] [extras.json]
//
// Counted as failed besides failed tests: a test file that failed with no failed test in it (it
// did not load, or a beforeAll/afterAll threw), and every unhandled error. With CI=true, a test
// skipped because something is missing fails the run too, unless its name or skip note names what
// CI_SKIP_ALLOWED says this machine cannot have.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** What CI may skip: matched (case-insensitive) against a skipped test's full name and note. */
export const CI_SKIP_ALLOWED = [
  { match: 'k6 binary', why: 'the live k6 end-to-end test: no k6 binary is packaged for this machine' },
];

/**
 * The counts of one run. Pure: `report` is vitest's JSON report, `extras` the extras reporter's
 * file (null when it is missing), `ci` whether disallowed skips fail the run.
 */
export function tally(report, { checksPassed = 0, checksFailed = 0, extras = null, ci = false, allowed = CI_SKIP_ALLOWED } = {}) {
  const problems = [];
  const files = report.testResults ?? [];
  // A file that failed without a failed test: it did not load, or one of its hooks threw. Its
  // tests show as passed or skipped, so only the file's status tells.
  const hookFailures = files.filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  for (const f of hookFailures) problems.push(`${f.name}: failed outside any test (a hook threw, or it did not load)${f.message ? `: ${f.message.split('\n')[0]}` : ''}`);
  let unhandled = 0;
  if (extras && Number.isInteger(extras.unhandledErrors)) {
    unhandled = extras.unhandledErrors;
    for (const e of extras.errors ?? []) problems.push(`unhandled error: ${e}`);
  } else if (report.success === false && report.numFailedTests === 0 && hookFailures.length === 0) {
    // Without the extras, vitest's JSON says only that the run failed: count one.
    unhandled = 1;
    problems.push('the run failed outside any test (an unhandled error?): see the output above');
  }
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  let disallowedSkips = 0;
  if (ci) {
    const failedFiles = new Set(hookFailures.map((f) => f.name));
    const notes = new Map((extras?.skipped ?? []).map((s) => [`${s.file}\u0000${s.name}`, s.note ?? '']));
    for (const f of files) {
      if (failedFiles.has(f.name)) continue; // its tests were skipped because the file failed: counted already
      for (const a of f.assertionResults ?? []) {
        if (a.status !== 'skipped' && a.status !== 'pending') continue;
        // the extras reporter names a test as vitest's TestCase.fullName does: titles joined by " > "
        const name = [...(a.ancestorTitles ?? []), a.title].join(' > ');
        const note = notes.get(`${f.name}\u0000${name}`) ?? '';
        const text = `${name} ${note}`.toLowerCase();
        if (allowed.some((x) => text.includes(x.match.toLowerCase()))) continue;
        disallowedSkips += 1;
        problems.push(`skipped in CI: ${name}${note ? ` (${note})` : ''}: install what it needs, or add it to CI_SKIP_ALLOWED in scripts/test-counts.js if this machine cannot have it`);
      }
    }
  }
  const passed = (report.numPassedTests ?? 0) + Number(checksPassed);
  const failed = (report.numFailedTests ?? 0) + hookFailures.length + unhandled + disallowedSkips + Number(checksFailed);
  return { passed, failed, skipped, problems, line: `${passed} passed, ${failed} failed, ${skipped} skipped` };
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function main(argv, env) {
  const [file, checksPassed = '0', checksFailed = '0', extrasFile] = argv;
  let report;
  try {
    report = readJson(file);
  } catch (e) {
    console.log(`0 passed, ${1 + Number(checksFailed)} failed, 0 skipped`);
    console.error(`no test report at ${file}: ${e.message}`);
    return 1;
  }
  let extras = null;
  if (extrasFile) {
    try {
      extras = readJson(extrasFile);
    } catch (e) {
      console.error(`no extras report at ${extrasFile} (${e.message}): unhandled errors and skip notes are not known`);
    }
  }
  const t = tally(report, { checksPassed: Number(checksPassed), checksFailed: Number(checksFailed), extras, ci: env.CI === 'true' || env.CI === '1' });
  for (const p of t.problems) console.error(p);
  console.log(t.line);
  return t.failed > 0 || t.passed === 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(main(process.argv.slice(2), process.env));
