#!/usr/bin/env bash
# pg_partman for the services' Postgres (scripts/services.sh), from Debian's
# postgresql-<major>-partman (4.7 on Debian 12): for the test of video_snapshots under pg_partman
# and for trying it. Native servers only (the Docker image has no such package).
#
#   scripts/pg-partman.sh install     the package, when the server lacks the extension (as root
#                                     with apt; anyone else is told what to install)
#   scripts/pg-partman.sh enable DB   CREATE EXTENSION pg_partman (schema partman) in database DB,
#                                     usable by the database's owner, which runs the migrations
#                                     and the workers (see README, "Postgres at archive scale")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SVC="$ROOT/.services"
APT_LOG="$SVC/apt.log"

say() { printf '%s\n' "$*"; }
die() { printf 'pg-partman: %s\n' "$*" >&2; exit 1; }
fail_log() { die "$1; see ${2#"$ROOT"/}"; }
# shellcheck source=lib/apt.sh
. "$ROOT/scripts/lib/apt.sh"

admin() { bash "$ROOT/scripts/services.sh" admin-psql -q -A -t -v ON_ERROR_STOP=1 "$@"; }
version() { admin -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_partman'"; }

cmd_install() {
  local major
  if [[ -z $(version) ]]; then
    major=$(admin -d postgres -c "SELECT current_setting('server_version_num')::int / 10000")
    can_apt || die "pg_partman is not installed for PostgreSQL $major; install it (Debian: apt-get install postgresql-$major-partman) and run this again"
    mkdir -p "$SVC"
    apt_install "postgresql-$major-partman"
    [[ -n $(version) ]] || die "postgresql-$major-partman is installed, but the server still lacks pg_partman"
  fi
  say "pg-partman: available ($(version))"
}

cmd_enable() {
  local db=${1:-}
  [[ -n $db ]] || die "enable needs a database name: scripts/pg-partman.sh enable DB"
  # partman's functions run as their caller, so the owner needs the schema and its tables.
  admin -d "$db" <<'SQL' || die "enabling pg_partman in $db failed"
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
DO $$
DECLARE owner text := (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database());
BEGIN
  EXECUTE format('GRANT ALL ON SCHEMA partman TO %I', owner);
  EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA partman TO %I', owner);
  EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO %I', owner);
  EXECUTE format('GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO %I', owner);
END $$;
SQL
  say "pg-partman: enabled in $db"
}

case ${1:-} in
  install) cmd_install ;;
  enable) cmd_enable "${2:-}" ;;
  *) say "usage: scripts/pg-partman.sh install | enable DB" >&2; exit 2 ;;
esac
