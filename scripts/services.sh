#!/usr/bin/env bash
# Local Redis + PostgreSQL for hashtag-archiver (README, tests, CI).
#
#   scripts/services.sh up [--redis-cluster] [--redis-sentinel] | down | status | env | purge
#   scripts/services.sh restart-redis | restart-postgres [seconds down]
#   scripts/services.sh admin-psql [psql args]
#
# With a working Docker engine this drives docker-compose.yml. Otherwise
# (the usual case: CI and dev boxes have no Docker daemon) it runs private
# servers: as root from Debian's packages (installed when missing) under
# the unprivileged `postgres` user; as anyone else, the redis-server and
# PostgreSQL binaries found on PATH, run as that user (no sudo, no apt).
# State lives in <repo>/.services/, or, when the servers' user cannot reach
# the checkout (a clone under a 0700 home folder), in a folder per checkout
# under /var/lib/hashtag-archiver/. The system's own servers are never
# touched.
#
# Env: HA_PG_PORT, HA_REDIS_PORT (default: 54329 and 63790, or the next
#      free ones when those are taken, e.g. by a second checkout; the ports
#      chosen are kept in .services/ports for later runs),
#      HA_SERVICES_BACKEND=native|docker (default: auto-detect).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SVC="$ROOT/.services"
ENV_FILE="$SVC/env"
PORTS_FILE="$SVC/ports"     # ports used by the last `up`
BACKEND_FILE="$SVC/backend" # backend used by the last `up`
DATA_FILE="$SVC/datadir"    # where the servers' state went, when not in $SVC
# Outside the checkout, keyed by its path: two checkouts never share data.
OUTSIDE_DATA="/var/lib/hashtag-archiver/$(basename "$ROOT")-$(printf %s "$ROOT" | cksum | cut -d' ' -f1)"
WAIT_SECS=30
DEFAULT_PG_PORT=54329
DEFAULT_REDIS_PORT=63790

# The servers' state dir and every path under it.
set_data_dir() {
  DATA=$1
  PG_DIR="$DATA/pg"
  PG_DATA="$PG_DIR/data"
  PG_LOG="$PG_DIR/postgres.log"
  REDIS_DIR="$DATA/redis"
  REDIS_CONF="$REDIS_DIR/redis.conf"
  REDIS_PIDFILE="$REDIS_DIR/redis.pid"
  REDIS_LOG="$REDIS_DIR/redis.log"
}
if [[ -f $DATA_FILE ]]; then set_data_dir "$(<"$DATA_FILE")"; else set_data_dir "$SVC"; fi

say() { printf '%s\n' "$*"; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# One-line error, then the tail of the relevant log so CI output explains it.
fail_log() {
  local msg=$1 log=$2
  printf 'services: %s\n' "$msg" >&2
  if [[ -s $log ]]; then
    printf -- '--- tail of %s ---\n' "${log#"$ROOT"/}" >&2
    tail -n 15 "$log" | cut -c1-160 >&2
  fi
  exit 1
}

# Explicit env wins; else the ports of the last `up`, so that a plain
# `status`/`down`/`env` finds servers started with custom ports; else the
# defaults. Only explicit ports are binding: the others move to the next
# free port when something else holds them (see free_port).
load_ports() {
  local rec_pg="" rec_redis=""
  if [[ -f $PORTS_FILE ]]; then
    rec_pg=$(sed -n 's/^HA_PG_PORT=//p' "$PORTS_FILE")
    rec_redis=$(sed -n 's/^HA_REDIS_PORT=//p' "$PORTS_FILE")
  fi
  PG_PORT=${HA_PG_PORT:-${rec_pg:-$DEFAULT_PG_PORT}}
  REDIS_PORT=${HA_REDIS_PORT:-${rec_redis:-$DEFAULT_REDIS_PORT}}
  set_urls
}

set_urls() {
  DATABASE_URL="postgres://archiver:archiver@127.0.0.1:$PG_PORT/archiver"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
}

# Something accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first port from $1 on that nothing listens on. Ports a sibling
# checkout recorded but has not started yet are not seen: the global lock
# in take_lock keeps two `up`s from choosing at the same moment.
free_port() {
  local port=$1 tries
  for ((tries = 0; tries < 200; tries++)); do
    port_busy "$port" || { printf '%s\n' "$port"; return; }
    port=$((port + 1))
  done
  return 1
}

# Moves an unpinned port off one another server holds. $1: redis|postgres.
reassign_port() {
  local name=$1 var env_var port
  if [[ $name == redis ]]; then var=REDIS_PORT env_var=HA_REDIS_PORT; else var=PG_PORT env_var=HA_PG_PORT; fi
  [[ -z ${!env_var:-} ]] || die "port ${!var} is used by another server; free it or set $env_var to another port"
  port=$(free_port "$((${!var} + 1))") || die "no free port for $name above ${!var}; set $env_var"
  say "$name: port ${!var} is taken by another server (another checkout?); using $port"
  printf -v "$var" '%s' "$port"
  set_urls
  # Kept at once: a failed `up` must not lose track of a server it started.
  record_ports
}

record_ports() { printf 'HA_PG_PORT=%s\nHA_REDIS_PORT=%s\n' "$PG_PORT" "$REDIS_PORT" >"$PORTS_FILE"; }

# Serialise concurrent up/down (e.g. parallel test workers calling `up`),
# and port choices across this user's checkouts (fd 8, one lock for all).
take_lock() {
  mkdir -p "$SVC"
  chmod 755 "$SVC"  # the unprivileged server user must traverse it
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$SVC/.lock"
  flock -w 120 9 || die "another services.sh holds $SVC/.lock"
  local ports_lock="${TMPDIR:-/tmp}/hashtag-archiver-ports-$(id -u).lock"
  exec 8>>"$ports_lock"
  flock -w 120 8 || die "another services.sh holds $ports_lock"
}

# ---------------------------------------------------------------- backend

docker_ok() {
  command -v docker >/dev/null 2>&1 &&
    timeout 5 docker info >/dev/null 2>&1 &&
    timeout 10 docker compose version >/dev/null 2>&1
}

pick_backend() {
  if [[ -n ${HA_SERVICES_BACKEND:-} ]]; then
    BACKEND=$HA_SERVICES_BACKEND
  elif [[ -f $BACKEND_FILE ]]; then
    # Stick to what `up` chose: the data lives in that backend.
    BACKEND=$(<"$BACKEND_FILE")
  elif docker_ok; then
    BACKEND=docker
  else
    BACKEND=native
  fi
  case $BACKEND in
    native | docker) ;;
    *) die "unknown backend '$BACKEND' (native|docker)" ;;
  esac
}

# ---------------------------------------------------------------- docker

compose() {
  HA_PG_PORT=$PG_PORT HA_REDIS_PORT=$REDIS_PORT \
    docker compose -f "$ROOT/docker-compose.yml" "$@" 8>&- 9>&-
}

# Compose progress output is long; keep it in a log, show it on failure.
compose_logged() {
  compose "$@" >>"$SVC/docker.log" 2>&1 ||
    fail_log "docker compose $1 failed" "$SVC/docker.log"
}

docker_redis_up() {
  [[ $(compose exec -T redis redis-cli ping 2>/dev/null | tr -d '\r') == PONG ]]
}
docker_pg_up() {
  compose exec -T postgres pg_isready -q -h 127.0.0.1 -U archiver >/dev/null 2>&1
}

# ---------------------------------------------------------------- native: deps

APT_LOG="$SVC/apt.log"
# shellcheck source=lib/apt.sh
. "$ROOT/scripts/lib/apt.sh"
# Note: the Debian packages may also start their own system servers on
# 6379/5432; harmless, we never use them (our ports differ).

# A dir with the PostgreSQL server (initdb, pg_ctl, postgres): the one on
# PATH first, else the newest of Debian's /usr/lib/postgresql/N/bin
# (postgresql-client alone creates it too, but without initdb/pg_ctl),
# Homebrew's and the PGDG RPMs'.
pg_bin_ok() { local t; for t in initdb pg_ctl postgres pg_isready psql; do [[ -x $1/$t ]] || return 1; done; }
find_pg_bin() {
  local d on_path
  PG_BIN=""
  # Resolved: a symlink on PATH (e.g. /usr/local/bin/initdb) points into the real bin dir.
  on_path=$(command -v initdb 2>/dev/null) && d=$(dirname "$(readlink -f "$on_path")") &&
    pg_bin_ok "$d" && { PG_BIN=$d; return; }
  while read -r d; do
    pg_bin_ok "$d" && PG_BIN=$d
  done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V
    compgen -G '/usr/pgsql-*/bin' | sort -V
    compgen -G '/opt/homebrew/opt/postgresql*/bin' | sort -V
    compgen -G '/usr/local/opt/postgresql*/bin' | sort -V)
  [[ -n $PG_BIN ]]
}

has_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

ensure_native_deps() {
  local missing=()
  has_redis || missing+=(redis-server)
  find_pg_bin || missing+=(postgresql)
  ((${#missing[@]} == 0)) && return
  if ! can_apt; then
    local what
    what=$(printf '%s and ' "${missing[@]/postgresql/PostgreSQL server (initdb, pg_ctl, postgres)}")
    what=${what% and }
    die "found no $what on PATH and no Docker engine; install them (Debian: apt-get install redis-server postgresql; macOS: brew install redis postgresql; Fedora: dnf install redis postgresql-server) or start Docker, then run this again"
  fi
  apt_install "${missing[@]}"
  has_redis || die "redis-server still missing"
  find_pg_bin || die "no PostgreSQL server under /usr/lib/postgresql/*/bin"
}

# PostgreSQL refuses to run as root, so as root we use an unprivileged
# user (the Debian `postgres` user, else our own). Redis runs as the same
# user: no reason to run a network daemon as root.
pick_user() {
  if ! is_root; then
    SVC_USER=$(id -un)
  elif getent passwd postgres >/dev/null; then
    SVC_USER=postgres
  else
    getent passwd haservices >/dev/null ||
      useradd --system --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin haservices
    SVC_USER=haservices
  fi
}

# Run a command as SVC_USER. cd / first: a cwd like /root is unreadable for
# that user and initdb/psql complain about it. 8>&- 9>&-: daemons must not
# inherit our lock fds, or they would hold the locks forever.
as_svc() {
  if ! is_root; then
    (cd / && "$@") 8>&- 9>&-
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$SVC_USER" -- "$@") 8>&- 9>&-
  else
    (cd / && su -s /bin/sh "$SVC_USER" -c "$(printf '%q ' "$@")") 8>&- 9>&-
  fi
}

# Root runs the servers as another user, who may be unable to reach the
# checkout (a clone under /root or a 0700 home folder): their state then
# goes to a folder of this checkout's own outside it. Chosen once, at the
# first `up`, and recorded, so `down`, later `up`s and `purge` find it.
pick_data_dir() {
  [[ -f $DATA_FILE ]] && return
  if is_root && ! as_svc test -x "$SVC"; then
    mkdir -p "$(dirname "$OUTSIDE_DATA")"
    chmod 755 "$(dirname "$OUTSIDE_DATA")"
    set_data_dir "$OUTSIDE_DATA"
    say "services: user $SVC_USER cannot reach $ROOT; keeping the servers' data in $DATA"
  fi
  [[ $DATA == "$SVC" ]] || printf '%s\n' "$DATA" >"$DATA_FILE"
}

# Give a state dir to SVC_USER and check it can really get there.
own_dir() {
  local dir=$1
  mkdir -p "$dir"
  if is_root && [[ $(stat -c %U "$dir") != "$SVC_USER" ]]; then
    chown -R "$SVC_USER:" "$dir"
  fi
  as_svc test -w "$dir" ||
    die "user $SVC_USER cannot write $dir (parent dirs need o+x)"
}

# Files we write as root inside the servers' dirs belong to SVC_USER.
give() { if is_root; then chown "$SVC_USER:" "$@"; fi; }

# Quote a value for postgresql.conf.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# Is pid $1 a live process named $2*? Zombies don't count: a stopped
# daemon can linger as one until its (re)parent reaps it.
proc_is() {
  local stat state
  [[ -n $1 ]] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  state=${stat##*) }
  [[ ${state%% *} != Z && $(cat "/proc/$1/comm" 2>/dev/null) == "$2"* ]]
}

# ---------------------------------------------------------------- native: redis

redis_pid() { [[ -f $REDIS_PIDFILE ]] && tr -dc 0-9 <"$REDIS_PIDFILE"; }
redis_alive() { local p; p=$(redis_pid) && proc_is "$p" redis; }
redis_ping() {
  [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}
# The server on the port is the one our pidfile names.
redis_ours() {
  local p
  p=$(redis_pid) || return 1
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info server 2>/dev/null |
    tr -d '\r' | grep -qx "process_id:$p"
}

redis_start() {
  if redis_alive; then
    if redis_ping && redis_ours; then
      say "redis: already running (pid $(redis_pid))"
      return
    fi
    die "redis (pid $(redis_pid)) not answering on $REDIS_PORT; run down"
  fi
  rm -f "$REDIS_PIDFILE" # stale after a crash / reboot
  if port_busy "$REDIS_PORT"; then reassign_port redis; fi
  own_dir "$REDIS_DIR"
  # Rewritten on each start so port changes apply. AOF on: queued jobs
  # must survive restarts (crash-safety tests).
  cat >"$REDIS_CONF" <<EOF
# Written by scripts/services.sh on every start; edits are lost.
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile "$REDIS_PIDFILE"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
appendonly yes
appendfsync everysec
EOF
  # Pre-create the log as SVC_USER: a root-owned one would stop redis.
  touch "$REDIS_LOG"
  give "$REDIS_CONF" "$REDIS_LOG"
  as_svc redis-server "$REDIS_CONF" >>"$REDIS_LOG" 2>&1 ||
    fail_log "redis-server failed to start" "$REDIS_LOG"
  local i
  for ((i = 0; i < WAIT_SECS * 5; i++)); do
    redis_ping && { say "redis: started (127.0.0.1:$REDIS_PORT)"; return; }
    # daemonize hides bind errors: fail fast if the process is gone.
    ((i > 10)) && ! redis_alive && fail_log "redis exited on start" "$REDIS_LOG"
    sleep 0.2
  done
  fail_log "redis not answering after ${WAIT_SECS}s" "$REDIS_LOG"
}

redis_stop() {
  local p
  redis_alive || { rm -f "$REDIS_PIDFILE"; say "redis: not running"; return; }
  p=$(redis_pid)
  # SHUTDOWN fsyncs the AOF; SIGTERM does the same if the port is odd.
  if redis_ping && redis_ours; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
  else
    kill -TERM "$p" 2>/dev/null || true
  fi
  local i
  for ((i = 0; i < WAIT_SECS * 5; i++)); do
    proc_is "$p" redis || { say "redis: stopped"; return; }
    sleep 0.2
  done
  fail_log "redis (pid $p) did not stop in ${WAIT_SECS}s" "$REDIS_LOG"
}

# ---------------------------------------------------------------- native: postgres

# Unix sockets are limited to ~107 bytes; a deep checkout path would
# overflow, so fall back to a per-repo dir under /tmp.
pg_sock_dir() {
  PG_SOCK=$PG_DIR
  if ((${#PG_SOCK} + 20 > 100)); then
    PG_SOCK="/tmp/ha-pg-$(printf %s "$ROOT" | cksum | cut -d' ' -f1)"
  fi
}

pg_pid() { [[ -f $PG_DATA/postmaster.pid ]] && head -n1 "$PG_DATA/postmaster.pid"; }
pg_alive() { local p; p=$(pg_pid) && proc_is "$p" postgres; }
# Line 4 of postmaster.pid is the port the running server listens on.
pg_running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null; }
pg_ready() { "$PG_BIN/pg_isready" -q -t 2 -h 127.0.0.1 -p "$PG_PORT"; }

pg_initdb() {
  # Our marker is written only after a complete initdb; anything else in
  # the data dir is the wreck of an interrupted one.
  [[ -f $PG_DATA/.services-initdb-ok ]] && return
  rm -rf "$PG_DATA"
  say "postgres: initdb (${PG_DATA#"$ROOT"/})"
  as_svc "$PG_BIN/initdb" -D "$PG_DATA" -U postgres \
    --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 --lc-collate=C \
    >"$PG_DIR/initdb.log" 2>&1 || fail_log "initdb failed" "$PG_DIR/initdb.log"
  # Our settings live in one file we rewrite on each start.
  printf "\ninclude_if_exists = 'services.conf'\n" >>"$PG_DATA/postgresql.conf"
  touch "$PG_DATA/.services-initdb-ok"
  give "$PG_DATA/.services-initdb-ok"
}

pg_write_conf() {
  local f="$PG_DATA/services.conf"
  cat >"$f" <<EOF
# Written by scripts/services.sh on every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
# Not /var/run/postgresql: an ordinary user may not write there.
unix_socket_directories = $(conf_quote "$PG_SOCK")
# Tests open one database (and pool) per test file, in parallel.
max_connections = 300
shared_buffers = 256MB
EOF
  give "$f" "$PG_DATA/postgresql.conf"
}

# Role/database setup runs once, over the trusted unix socket.
pg_bootstrap() {
  [[ -f $PG_DATA/.services-bootstrap-ok ]] && return
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" \
    -U postgres -d postgres >"$PG_DIR/bootstrap.log" 2>&1 <<'SQL' ||
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'archiver') THEN
    CREATE ROLE archiver;
  END IF;
END $$;
-- Not a superuser; CREATEDB because tests make one database per file.
ALTER ROLE archiver WITH LOGIN CREATEDB NOSUPERUSER PASSWORD 'archiver';
SELECT 'CREATE DATABASE archiver OWNER archiver'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'archiver')
\gexec
SQL
    fail_log "creating role/database failed" "$PG_DIR/bootstrap.log"
  # Prove the URL we hand out really works (TCP + scram password).
  PGPASSWORD=archiver PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -qAt \
    -d "$DATABASE_URL" -c 'select 1' >/dev/null 2>>"$PG_DIR/bootstrap.log" ||
    fail_log "login as archiver over TCP failed" "$PG_DIR/bootstrap.log"
  touch "$PG_DATA/.services-bootstrap-ok"
  give "$PG_DATA/.services-bootstrap-ok"
}

pg_start() {
  pg_sock_dir
  if pg_alive; then
    if [[ $(pg_running_port) == "$PG_PORT" ]] && pg_ready; then
      pg_bootstrap
      say "postgres: already running (pid $(pg_pid))"
      return
    fi
    die "postgres (pid $(pg_pid)) not ready on $PG_PORT; run down"
  fi
  if port_busy "$PG_PORT"; then reassign_port postgres; fi
  own_dir "$PG_DIR"
  [[ $PG_SOCK == "$PG_DIR" ]] || own_dir "$PG_SOCK"
  pg_initdb
  pg_write_conf
  # After a crash a postmaster.pid may name a recycled pid that belongs
  # to some other process; postgres would then refuse to start. We know
  # no postmaster of ours is alive here, so the lock files are stale.
  rm -f "$PG_DATA/postmaster.pid" "$PG_SOCK/.s.PGSQL.$PG_PORT.lock"
  as_svc "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECS" \
    start >>"$PG_DIR/pg_ctl.log" 2>&1 ||
    fail_log "postgres failed to start (see log)" "$PG_LOG"
  local i
  for ((i = 0; i < WAIT_SECS * 5; i++)); do
    pg_ready && break
    sleep 0.2
  done
  pg_ready || fail_log "postgres not accepting on $PG_PORT" "$PG_LOG"
  pg_bootstrap
  say "postgres: started (127.0.0.1:$PG_PORT)"
}

pg_stop() {
  pg_alive || { say "postgres: not running"; return; }
  as_svc "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 \
    stop >>"$PG_DIR/pg_ctl.log" 2>&1 ||
    fail_log "pg_ctl stop failed" "$PG_DIR/pg_ctl.log"
  say "postgres: stopped"
}

# ---------------------------------------------------------------- commands

write_env() {
  record_ports
  printf '%s\n' "$BACKEND" >"$BACKEND_FILE"
  printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$DATABASE_URL" "$REDIS_URL" >"$ENV_FILE"
  say "DATABASE_URL=${DATABASE_URL/:archiver@/:***@}"
  say "REDIS_URL=$REDIS_URL"
  say "wrote .services/env"
}

cmd_up() {
  take_lock
  if [[ $BACKEND == docker ]]; then
    say "starting via docker compose"
    compose_logged up -d --wait
    say "redis: up (127.0.0.1:$REDIS_PORT)"
    say "postgres: up (127.0.0.1:$PG_PORT)"
  else
    ensure_native_deps
    pick_user
    pick_data_dir
    redis_start
    pg_start
  fi
  write_env
}

cmd_down() {
  [[ -d $SVC ]] || { say "nothing to stop"; return; }
  take_lock
  if [[ $BACKEND == docker ]]; then
    # `down` without -v keeps the named volumes (the data).
    compose_logged down
    say "redis, postgres: stopped"
  else
    find_pg_bin || true
    pick_user
    redis_stop
    if [[ -n $PG_BIN ]]; then pg_stop; else say "postgres: not installed"; fi
  fi
}

cmd_status() {
  local r=down p=down
  if [[ $BACKEND == docker ]]; then
    docker_redis_up && r=up
    docker_pg_up && p=up
  else
    command -v redis-cli >/dev/null 2>&1 && redis_ping && r=up
    find_pg_bin && pg_ready && p=up
  fi
  say "redis: $r (127.0.0.1:$REDIS_PORT)"
  say "postgres: $p (127.0.0.1:$PG_PORT)"
  if [[ $BACKEND == docker ]]; then say "data: docker volumes"; else say "data: $DATA"; fi
  [[ $r == up && $p == up ]]
}

# Stops both servers and deletes all they stored, wherever that was.
cmd_purge() {
  [[ -d $SVC ]] || { say "nothing to purge"; return; }
  cmd_down
  if [[ $BACKEND == docker ]]; then
    compose_logged down -v
  elif [[ $DATA != "$SVC" ]]; then
    rm -rf "$DATA"
    say "removed $DATA"
  fi
  rm -rf "$SVC"
  say "removed .services"
}

cmd_env() {
  # Quoting is unnecessary: the URLs contain no shell metacharacters.
  say "export DATABASE_URL=$DATABASE_URL"
  say "export REDIS_URL=$REDIS_URL"
}

# For what the app's role (archiver, no superuser) may not do, such as CREATE EXTENSION: the
# native server's superuser over its trusted unix socket, or the image's (archiver is one there).
cmd_admin_psql() {
  if [[ $BACKEND == docker ]]; then
    compose exec -T postgres psql -X -U archiver "$@"
  else
    find_pg_bin || die "no PostgreSQL server found; run scripts/services.sh up first"
    pg_sock_dir
    "$PG_BIN/psql" -X -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$@"
  fi
}

cmd_restart() { # redis|postgres [seconds to stay down]
  local down=${2:-0}
  [[ $down =~ ^[0-9]+$ ]] || die "restart-$1: '$down' is not a whole number of seconds to stay down"
  take_lock
  if [[ $BACKEND == docker ]]; then
    compose_logged stop "$1"
    sleep "$down"
    compose_logged up -d --wait "$1"
    say "$1: restarted"
    return
  fi
  ensure_native_deps
  pick_user
  if [[ $1 == redis ]]; then
    redis_stop
    sleep "$down"
    redis_start
  else
    pg_stop
    sleep "$down"
    pg_start
  fi
}

usage() {
  say "usage: scripts/services.sh COMMAND"
  say "  up                start Redis + Postgres (idempotent)"
  say "  up --redis-cluster  also a 3-master, 3-replica Redis Cluster (scripts/redis-cluster.sh)"
  say "  up --redis-sentinel also a master, a replica and 3 Sentinels (scripts/redis-sentinel.sh)"
  say "  down              stop both (data is kept)"
  say "  status            exit 0 when both are up"
  say "  env               print export lines for eval"
  say "  purge             stop both and delete their data"
  say "  restart-redis [S]     stop + start Redis (down S seconds, default 0)"
  say "  restart-postgres [S]  stop + start Postgres (down S seconds, default 0)"
  say "  admin-psql [ARGS]     psql as Postgres's superuser (e.g. -d DB -c 'CREATE EXTENSION …')"
}

main() {
  local cmd=${1:-} with_cluster="" with_sentinel="" flag
  if [[ $cmd == up ]]; then
    for flag in "${@:2}"; do
      case $flag in
        --redis-cluster) with_cluster=1 ;;
        --redis-sentinel) with_sentinel=1 ;;
        *) usage >&2; return 2 ;;
      esac
    done
  fi
  case $cmd in
    up | down | status | env | purge | restart-redis | restart-postgres | admin-psql) ;;
    -h | --help | help) usage; return 0 ;;
    *) usage >&2; return 2 ;;
  esac
  load_ports
  if [[ $cmd == env ]]; then cmd_env; return; fi
  pick_backend
  case $cmd in
    up) cmd_up ;;
    down) cmd_down; cluster_down; sentinel_down ;;
    status) cmd_status ;;
    purge) cmd_purge ;;
    restart-redis) cmd_restart redis "${2:-0}" ;;
    restart-postgres) cmd_restart postgres "${2:-0}" ;;
    admin-psql) cmd_admin_psql "${@:2}" ;;
  esac
  if [[ -n $with_cluster ]]; then cluster_up; fi
  if [[ -n $with_sentinel ]]; then sentinel_up; fi
}

# ---------------------------------------------------------------- redis cluster (scripts/redis-cluster.sh)

# After the standalone servers, whose user and data dir it reuses; its URL joins .services/env.
cluster_up() {
  bash "$ROOT/scripts/redis-cluster.sh" up
  local url
  url=$(bash "$ROOT/scripts/redis-cluster.sh" url)
  sed -i '/^REDIS_CLUSTER_URL=/d' "$ENV_FILE"
  printf 'REDIS_CLUSTER_URL=%s\n' "$url" >>"$ENV_FILE"
  say "REDIS_CLUSTER_URL=$url"
}

# Every cluster started here, whatever its ports.
cluster_down() { setups_down redis-cluster HA_REDIS_CLUSTER_PORT; }

# Stops every setup scripts/<script>.sh started here: one dir <script>-<first port> each.
setups_down() {
  local script=$1 port_var=$2 dir
  for dir in "$DATA/$script"-*; do
    [[ -d $dir ]] && env "$port_var=${dir##*-}" bash "$ROOT/scripts/$script.sh" down
  done
  return 0
}

# ---------------------------------------------------------------- redis sentinel (scripts/redis-sentinel.sh)

# Its variables are printed, not added to .services/env: every test and command run through
# with-services.sh exports that file, and REDIS_SENTINELS would move them all onto Sentinel.
sentinel_up() {
  bash "$ROOT/scripts/redis-sentinel.sh" up
  bash "$ROOT/scripts/redis-sentinel.sh" env
}

# Every Sentinel setup started here, whatever its ports.
sentinel_down() { setups_down redis-sentinel HA_REDIS_SENTINEL_PORT; }

main "$@"
