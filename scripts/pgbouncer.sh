#!/usr/bin/env bash
# PgBouncer in transaction mode in front of the services' Postgres, from Debian's pgbouncer
# package (installed with apt when missing), for tests and for trying HA_PG_PREPARED_STATEMENTS.
#
#   scripts/pgbouncer.sh up | down | url
#
# Every database of the services' Postgres is reachable through it, as user archiver.
# Env: HA_PGBOUNCER_PORT (64432), HA_PGBOUNCER_POOL_SIZE (server connections per database, 2:
#      small, so that transactions of one client really land on different server connections),
#      HA_PG_PORT (else the port of the last `services.sh up`, else 54329).
# State lives in .services/pgbouncer-<port>/, so several can run side by side.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SVC="$ROOT/.services"
PORT=${HA_PGBOUNCER_PORT:-64432}
POOL_SIZE=${HA_PGBOUNCER_POOL_SIZE:-2}
DIR="$SVC/pgbouncer-$PORT"
PIDFILE="$DIR/pgbouncer.pid"
LOG="$DIR/pgbouncer.log"
WAIT_SECS=30

say() { printf '%s\n' "$*"; }
die() { printf 'pgbouncer: %s\n' "$*" >&2; exit 1; }

pg_port() {
  local recorded=""
  [[ -f $SVC/ports ]] && recorded=$(sed -n 's/^HA_PG_PORT=//p' "$SVC/ports")
  printf '%s' "${HA_PG_PORT:-${recorded:-54329}}"
}

ensure_installed() {
  command -v pgbouncer >/dev/null 2>&1 && return
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "pgbouncer is missing; install it: apt-get install pgbouncer"
    sudo=sudo
  fi
  mkdir -p "$SVC"
  say "installing pgbouncer (log: .services/apt.log)"
  { $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbouncer; } \
    >>"$SVC/apt.log" 2>&1 || die "apt-get install pgbouncer failed; see .services/apt.log"
}

# PgBouncer refuses to run as root: as root, run it as the user services.sh runs Postgres as.
as_user() {
  if [[ $(id -u) -ne 0 ]]; then
    "$@"
  else
    local user
    user=$(stat -c %U "$SVC/pg" 2>/dev/null) || die "no .services/pg; run scripts/services.sh up first"
    chown -R "$user:" "$DIR"
    runuser -u "$user" -- "$@"
  fi
}

alive() { [[ -f $PIDFILE ]] && kill -0 "$(tr -dc 0-9 <"$PIDFILE")" 2>/dev/null; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

cmd_up() {
  if alive; then say "pgbouncer: already running on 127.0.0.1:$PORT"; return; fi
  ensure_installed
  answers && die "port $PORT is in use; set HA_PGBOUNCER_PORT"
  mkdir -p "$DIR"
  chmod 755 "$SVC"
  rm -f "$PIDFILE"
  printf '"archiver" "archiver"\n' >"$DIR/userlist.txt"
  cat >"$DIR/pgbouncer.ini" <<INI
; Written by scripts/pgbouncer.sh on every start; edits are lost.
[databases]
* = host=127.0.0.1 port=$(pg_port)

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $DIR/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 500
pidfile = $PIDFILE
logfile = $LOG
INI
  as_user pgbouncer -d "$DIR/pgbouncer.ini" >>"$DIR/start.log" 2>&1 || { tail -n 5 "$LOG" "$DIR/start.log" >&2; die "pgbouncer failed to start"; }
  local i
  for ((i = 0; i < WAIT_SECS * 5; i++)); do
    answers && { say "pgbouncer: started (127.0.0.1:$PORT, transaction mode, pool $POOL_SIZE)"; return; }
    sleep 0.2
  done
  tail -n 5 "$LOG" >&2
  die "pgbouncer not answering on $PORT after ${WAIT_SECS}s"
}

cmd_down() {
  alive || { say "pgbouncer: not running"; return; }
  local pid i
  pid=$(tr -dc 0-9 <"$PIDFILE")
  kill -INT "$pid" # SIGINT: safe shutdown, waits for the clients' transactions to end
  for ((i = 0; i < WAIT_SECS * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -rf "$DIR"; say "pgbouncer: stopped"; return; }
    sleep 0.2
  done
  kill -TERM "$pid" 2>/dev/null || true
  say "pgbouncer: terminated"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  url) say "postgres://archiver:archiver@127.0.0.1:$PORT/archiver" ;;
  *) say "usage: scripts/pgbouncer.sh up|down|url" >&2; exit 2 ;;
esac
