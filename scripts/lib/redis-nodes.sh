# Sourced by the scripts that run extra redis-server processes on loopback beside services.sh's
# own (redis-cluster.sh, redis-sentinel.sh). Needs the caller's ROOT.

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# Their state goes next to the servers' (services.sh says where those are).
DATA="$ROOT/.services"
[[ -f $DATA/datadir ]] && DATA=$(<"$DATA/datadir")
WAIT_SECS=60

# One `up` at a time per setup: takes the lock in `dir` on fd 9 for the rest of the script.
lock_setup() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock -w 120 9 || die "another $(basename "$0") holds $1/.lock"
}

cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null | tr -d '\r'; }
answers() { [[ $(cli "$1" ping) == PONG ]]; }

# As root, the servers run as the user services.sh runs its servers as (never root).
as_user() {
  if [[ $(id -u) -ne 0 ]]; then
    "$@"
  else
    runuser -u "$(servers_user)" -- "$@"
  fi
}
servers_user() { stat -c %U "$DATA/redis" 2>/dev/null || die "no servers' data dir; run scripts/services.sh up first"; }
# A dir the servers write in: theirs when root made it.
give_to_servers() { [[ $(id -u) -ne 0 ]] || chown -R "$(servers_user)": "$1"; }

# The settings every such server shares: loopback, daemonized, state in `dir`; AOF on and
# maxmemory-policy noeviction, as BullMQ's production guide requires.
data_node_conf() {
  local port=$1 dir=$2
  cat <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile "$dir/redis.pid"
logfile "$dir/redis.log"
dir "$dir"
appendonly yes
appendfsync everysec
maxmemory-policy noeviction
# One replica per master: nothing to batch, so a replica's first sync starts at once, not 5 s later.
repl-diskless-sync-delay 0
CONF
}

# The replica on `port` has finished its sync with its master and is connected to it. Only then
# can it take over: one that never completed a sync holds nothing and refuses to ("Disconnected
# from master for longer than allowed"), so its master's death would leave the data unserved.
replica_synced() { cli "$1" info replication | grep -q '^master_link_status:up$'; }

# 9>&-: a daemon must not inherit the caller's lock, or it would hold it forever.
start_server() { as_user redis-server "$@" 9>&-; }
