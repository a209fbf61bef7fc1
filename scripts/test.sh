#!/usr/bin/env bash
# The project's test command (npm test): type-check the harness and the k6 scripts, then run every
# vitest suite — unit tests and integration tests on real servers — and end with one line
# "N passed, N failed" counted by the test runner (type-check failures count as failed tests).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .runs
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
npx vitest run --reporter=default --reporter=json --outputFile.json=.runs/test-results.json "$@"
vitest_rc=$?
node scripts/test-counts.js .runs/test-results.json "$passed_checks" "$failed_checks"
counts_rc=$?
if [ "$vitest_rc" -ne 0 ] || [ "$counts_rc" -ne 0 ] || [ "$failed_checks" -ne 0 ]; then exit 1; fi
