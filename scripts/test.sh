#!/usr/bin/env bash
# The project's test command (npm test): type-check the harness and the k6 scripts, then run every
# vitest suite — unit tests and integration tests on real servers — and end with one line
# "N passed, N failed, N skipped" (scripts/test-counts.js): type-check failures, test files whose
# hooks threw and unhandled errors count as failed; with CI=true so do tests skipped for want of
# something this machine could have.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .runs
report=.runs/test-results.json
extras=.runs/test-extras.json
# An old report must never pass for this run's (vitest writes none when it cannot start).
rm -f "$report" "$extras"
failed_checks=0
passed_checks=0
for project in tsconfig.json loadtests/tsconfig.json; do
  if npx tsc --noEmit -p "$project"; then
    passed_checks=$((passed_checks + 1))
  else
    echo "type-check failed: $project"
    failed_checks=$((failed_checks + 1))
  fi
done
BENCH_TEST_EXTRAS="$extras" npx vitest run --reporter=default --reporter=json --outputFile.json="$report" \
  --reporter=./scripts/vitest-extras-reporter.js "$@"
vitest_rc=$?
node scripts/test-counts.js "$report" "$passed_checks" "$failed_checks" "$extras"
counts_rc=$?
if [ "$vitest_rc" -ne 0 ] || [ "$counts_rc" -ne 0 ] || [ "$failed_checks" -ne 0 ]; then exit 1; fi
