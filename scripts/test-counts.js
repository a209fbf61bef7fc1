// Prints the closing line "N passed, N failed[, N skipped]" from vitest's JSON report plus the
// type-check results; exits 1 when anything failed or nothing ran.
import { readFileSync } from 'node:fs';

const [file, checksPassed = '0', checksFailed = '0'] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.log(`0 passed, ${1 + Number(checksFailed)} failed`);
  console.error(`no test report at ${file}: ${e.message}`);
  process.exit(1);
}
const passed = report.numPassedTests + Number(checksPassed);
// Suites that fail to load (syntax, import errors) report no test: count each as a failure.
const brokenSuites = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
const failed = report.numFailedTests + brokenSuites + Number(checksFailed);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
