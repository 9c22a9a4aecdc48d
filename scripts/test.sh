#!/usr/bin/env bash
# `npm test`: the main suite in parallel, then the disruptive suite alone (it kills workers and
# restarts the shared Redis and Postgres, which would upset tests running beside it).
# Arguments go to the main suite only (e.g. `npm test -- test/decide.test.ts`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/with-services.sh npx vitest run "$@"
if [ $# -eq 0 ]; then
  bash scripts/with-services.sh npx vitest run --config vitest.disruptive.config.ts
fi
