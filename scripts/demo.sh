#!/usr/bin/env bash
# `npm run demo`: installs, brings the services up, migrates, and archives one hashtag — against
# the built-in Crawlora simulator unless CRAWLORA_API_KEY is set.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
bash scripts/services.sh up
set -a
# shellcheck disable=SC1091
[ -n "${DATABASE_URL:-}" ] || . .services/env
set +a
exec node bin/hashtag-archiver.js demo "$@"
