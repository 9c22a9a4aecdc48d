#!/usr/bin/env bash
# `npm run demo`: installs, brings the services up, migrates, and archives one hashtag — against
# the built-in Crawlora simulator unless CRAWLORA_API_KEY is set.
set -euo pipefail
exec bash "$(dirname "$0")/with-services.sh" node bin/hashtag-archiver.js demo "$@"
