#!/usr/bin/env bash
# `npm test`: installs what is missing, brings Redis and PostgreSQL up on loopback, runs vitest
# against them. Extra arguments go to vitest (e.g. `npm test -- test/decide.test.ts`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
bash scripts/services.sh up
set -a
# shellcheck disable=SC1091
. .services/env
set +a
exec npx vitest run "$@"
