#!/usr/bin/env bash
# Runs a command with Redis and PostgreSQL up and DATABASE_URL / REDIS_URL exported, installing
# the npm dependencies first on a fresh clone. Behind `npm test`, `npm run demo`, chaos and bench.
# URLs already in the environment win over the ones the services script started.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
bash scripts/services.sh up >&2
given_db=${DATABASE_URL:-}
given_redis=${REDIS_URL:-}
set -a
# shellcheck disable=SC1091
. .services/env
set +a
[ -z "$given_db" ] || export DATABASE_URL="$given_db"
[ -z "$given_redis" ] || export REDIS_URL="$given_redis"
exec "$@"
