#!/usr/bin/env bash
# Debian's Chromium for test/browser.test.ts (playwright-core downloads no browser of its own).
# As root it is installed when missing, the way services.sh installs redis-server; anyone else
# is told in one line what to install, and the browser tests skip outside CI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
say() { printf '%s\n' "$*"; }
fail_log() {
  printf 'chromium: %s\n' "$1" >&2
  [[ -s $2 ]] && tail -n 15 "$2" | cut -c1-160 >&2
  exit 1
}
[[ -x /usr/bin/chromium ]] && exit 0
APT_LOG="$ROOT/.services/apt.log"
# shellcheck source=lib/apt.sh
. "$ROOT/scripts/lib/apt.sh"
if can_apt; then
  mkdir -p "$ROOT/.services"
  apt_install chromium
else
  say "chromium: /usr/bin/chromium is missing, so the browser tests will not run; install Debian's chromium (apt-get install chromium) as root"
fi
