#!/usr/bin/env bash
# `npm run bench` / `npm run bench:rate`: brings Redis and PostgreSQL up (scripts/services.sh),
# then runs bench/main.ts or bench/rate.ts against them. Progress goes to stderr, the table to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
bash scripts/services.sh up >&2
set -a
# shellcheck disable=SC1091
. .services/env
set +a
case ${1:-main} in
  main) exec node --import tsx bench/main.ts ;;
  rate) exec node --import tsx bench/rate.ts ;;
  *) echo "usage: bench/run.sh main|rate" >&2; exit 2 ;;
esac
