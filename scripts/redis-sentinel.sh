#!/usr/bin/env bash
# A Redis master, its replica and three Sentinels on loopback, from Debian's redis-server (which
# runs as a sentinel with --sentinel), for the tests and for trying the crawler through Sentinel.
#
#   scripts/redis-sentinel.sh up | down | status | env | master
#
# `up` is idempotent: it starts what is not running and returns once the master has its replica
# in sync and every sentinel knows the other two and the replica. The nodes' and sentinels'
# configuration is written once and then left to Sentinel, which rewrites it after a failover
# (a killed master restarted by `up` comes back as a master and is turned into a replica by the
# sentinels). A 2 s down-after-milliseconds makes a failover take a few seconds.
# `env` prints REDIS_SENTINELS and REDIS_SENTINEL_NAME; `master` the port of the current master.
# Env: HA_REDIS_SENTINEL_PORT (63920): the first of five consecutive ports: the first master, its
#      replica, then the three sentinels.
# State lives next to the services' data, in redis-sentinel-<port>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=lib/redis-nodes.sh
. "$ROOT/scripts/lib/redis-nodes.sh"
BASE=${HA_REDIS_SENTINEL_PORT:-63920}
NODES=("$BASE" $((BASE + 1)))
SENTINELS=($((BASE + 2)) $((BASE + 3)) $((BASE + 4)))
NAME=ha
DIR="$DATA/redis-sentinel-$BASE"

start_node() {
  local port=$1 dir="$DIR/$1"
  answers "$port" && return
  mkdir -p "$dir"
  if [[ ! -f $dir/redis.conf ]]; then
    {
      say "# Written by scripts/redis-sentinel.sh once; Sentinel rewrites replicaof after a failover."
      data_node_conf "$port" "$dir"
      [[ $port == "${NODES[0]}" ]] || say "replicaof 127.0.0.1 ${NODES[0]}"
    } >"$dir/redis.conf"
  fi
  give_to_servers "$dir"
  start_server "$dir/redis.conf" || die "node $port failed to start; see $dir/redis.log"
}

start_sentinel() {
  local port=$1 dir="$DIR/sentinel-$1"
  answers "$port" && return
  mkdir -p "$dir"
  # Sentinel keeps what it learns (replicas, other sentinels, the current master) in this file.
  if [[ ! -f $dir/sentinel.conf ]]; then
    cat >"$dir/sentinel.conf" <<CONF
# Written by scripts/redis-sentinel.sh once; Sentinel rewrites it with what it learns.
bind 127.0.0.1
port $port
daemonize yes
pidfile "$dir/sentinel.pid"
logfile "$dir/sentinel.log"
dir "$dir"
sentinel monitor $NAME 127.0.0.1 ${NODES[0]} 2
sentinel down-after-milliseconds $NAME 2000
sentinel failover-timeout $NAME 10000
sentinel parallel-syncs $NAME 1
CONF
  fi
  give_to_servers "$dir"
  start_server "$dir/sentinel.conf" --sentinel || die "sentinel $port failed to start; see $dir/sentinel.log"
}

# One field of what a sentinel knows of the master (`SENTINEL MASTER` answers name/value lines).
master_field() { cli "$1" sentinel master "$NAME" | sed -n "/^$2\$/{n;p;q}"; }
current_master() { cli "${SENTINELS[0]}" sentinel get-master-addr-by-name "$NAME" | sed -n 2p; }

settled() {
  local port master
  master=$(current_master)
  [[ -n $master ]] || return 1
  for port in "${NODES[@]}"; do
    [[ $port == "$master" ]] || replica_synced "$port" || return 1
  done
  for port in "${SENTINELS[@]}"; do
    [[ $(master_field "$port" port) == "$master" && $(master_field "$port" flags) == master ]] || return 1
    [[ $(master_field "$port" num-other-sentinels) -eq 2 && $(master_field "$port" num-slaves) -ge 1 ]] || return 1
  done
}

cmd_up() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server is missing; run scripts/services.sh up first"
  lock_setup "$DIR"
  local port i
  for port in "${NODES[@]}"; do start_node "$port"; done
  for port in "${SENTINELS[@]}"; do start_sentinel "$port"; done
  for ((i = 0; i < WAIT_SECS * 5; i++)); do settled && break; sleep 0.2; done
  settled || die "master, replica and sentinels not settled after ${WAIT_SECS}s; see $DIR/*/*.log"
  say "redis-sentinel: up (master 127.0.0.1:$(current_master), sentinels 127.0.0.1:${SENTINELS[0]}-${SENTINELS[2]}, name $NAME)"
}

cmd_down() {
  local port
  # Sentinels first, so that stopping the master starts no failover.
  for port in "${SENTINELS[@]}" "${NODES[@]}"; do
    if answers "$port"; then cli "$port" shutdown >/dev/null || true; fi
  done
  say "redis-sentinel: stopped"
}

cmd_status() {
  local port up=0
  for port in "${NODES[@]}" "${SENTINELS[@]}"; do answers "$port" && up=$((up + 1)); done
  say "redis-sentinel: $up/5 up, master 127.0.0.1:$(current_master || true)"
  [[ $up -eq 5 ]] && settled
}

cmd_env() {
  say "REDIS_SENTINELS=$(printf '127.0.0.1:%s,' "${SENTINELS[@]}" | sed 's/,$//')"
  say "REDIS_SENTINEL_NAME=$NAME"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  master) current_master ;;
  *) say "usage: scripts/redis-sentinel.sh up|down|status|env|master" >&2; exit 2 ;;
esac
