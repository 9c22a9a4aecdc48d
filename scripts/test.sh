#!/usr/bin/env bash
# `npm test`: the main suite in parallel, then the files that exercise Redis's scripts and the
# queue again on a Redis Cluster (vitest.cluster.config.ts starts scripts/redis-cluster.sh's),
# then the disruptive suite alone (it kills workers and restarts the shared Redis and Postgres,
# which would upset tests running beside it).
# Arguments go to the main suite only (e.g. `npm test -- test/decide.test.ts`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-chromium.sh
results=test-artifacts/results
rm -rf "$results" && mkdir -p "$results"
reporters=(--reporter=default --reporter=json)
bash scripts/with-services.sh npx vitest run "${reporters[@]}" --outputFile="$results/main.json" "$@"
if [ $# -eq 0 ]; then
  bash scripts/with-services.sh npx vitest run --config vitest.cluster.config.ts "${reporters[@]}" --outputFile="$results/cluster.json"
  bash scripts/with-services.sh npx vitest run --config vitest.disruptive.config.ts "${reporters[@]}" --outputFile="$results/disruptive.json"
fi
# One closing line over both suites, in the plain form CI logs are read for.
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0;
  for (const file of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(`${process.argv[1]}/${file}`, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests;
  }
  console.log(`${passed} passed, ${failed} failed`);
' "$results"
