#!/usr/bin/env bash
# A Redis Cluster of 3 masters and 3 replicas on loopback, from Debian's redis-server, for the
# tests and for trying the crawler on a cluster. AOF on and maxmemory-policy noeviction, as
# BullMQ's production guide requires. `scripts/services.sh up --redis-cluster` calls `up`.
#
#   scripts/redis-cluster.sh up | down | status | url
#
# `up` is idempotent: it starts the nodes not running (a node killed by a test rejoins from its
# nodes.conf) and creates the cluster the first time. A short cluster-node-timeout (2 s) makes a
# replica take over a dead master within seconds.
# Env: HA_REDIS_CLUSTER_PORT (63900): the first of six consecutive ports, one per node; each
#      node's cluster bus listens 50 above its port (Redis's default, +10000, passes 65535).
# State lives next to the services' data, in redis-cluster-<port>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SVC="$ROOT/.services"
DATA=$SVC
[[ -f $SVC/datadir ]] && DATA=$(<"$SVC/datadir")
BASE=${HA_REDIS_CLUSTER_PORT:-63900}
PORTS=($(seq "$BASE" $((BASE + 5))))
DIR="$DATA/redis-cluster-$BASE"
WAIT_SECS=60

say() { printf '%s\n' "$*"; }
die() { printf 'redis-cluster: %s\n' "$*" >&2; exit 1; }
cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null | tr -d '\r'; }
answers() { [[ $(cli "$1" ping) == PONG ]]; }
cluster_field() { cli "$1" cluster info | sed -n "s/^$2://p"; }

# As root, the nodes run as the user services.sh runs its servers as (never root).
as_user() {
  if [[ $(id -u) -ne 0 ]]; then
    "$@"
  else
    local user
    user=$(stat -c %U "$DATA/redis" 2>/dev/null) || die "no servers' data dir; run scripts/services.sh up first"
    runuser -u "$user" -- "$@"
  fi
}

start_node() {
  local port=$1 dir="$DIR/$1"
  answers "$port" && return
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<CONF
# Written by scripts/redis-cluster.sh on every start; edits are lost.
bind 127.0.0.1
port $port
cluster-port $((port + 50))
protected-mode yes
daemonize yes
pidfile "$dir/redis.pid"
logfile "$dir/redis.log"
dir "$dir"
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 2000
appendonly yes
appendfsync everysec
maxmemory-policy noeviction
# One replica per master: nothing to batch, so a replica's first sync starts at once, not 5 s later.
repl-diskless-sync-delay 0
CONF
  [[ $(id -u) -ne 0 ]] || chown -R "$(stat -c %U "$DATA/redis")": "$dir"
  # 9>&-: the daemon must not inherit the lock, or it would hold it forever.
  as_user redis-server "$dir/redis.conf" 9>&- || die "node $port failed to start; see $dir/redis.log"
}

cluster_ok() { [[ $(cluster_field "$1" cluster_state) == ok ]]; }
synced_replicas() {
  local port n=0
  for port in "${PORTS[@]}"; do
    cli "$port" info replication | grep -q '^master_link_status:up$' && n=$((n + 1))
  done
  printf '%s\n' "$n"
}

cmd_up() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server is missing; run scripts/services.sh up first"
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 120 9 || die "another redis-cluster.sh holds $DIR/.lock"
  local port i
  for port in "${PORTS[@]}"; do start_node "$port"; done
  for port in "${PORTS[@]}"; do
    for ((i = 0; i < WAIT_SECS * 5; i++)); do answers "$port" && break; sleep 0.2; done
    answers "$port" || die "node $port not answering; see $DIR/$port/redis.log"
  done
  if [[ $(cluster_field "${PORTS[0]}" cluster_known_nodes) -lt 6 ]]; then
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${PORTS[@]}") --cluster-replicas 1 --cluster-yes \
      >"$DIR/create.log" 2>&1 || { tail -n 5 "$DIR/create.log" >&2; die "creating the cluster failed"; }
  fi
  # Every node must agree the cluster is whole, and every replica have finished synchronising
  # with its master: a replica that never completed a sync holds no data and refuses to take
  # over ("Disconnected from master for longer than allowed"), so a master killed before that
  # leaves its slots down for good. CLUSTER NODES lists a replica as soon as it is assigned.
  for ((i = 0; i < WAIT_SECS * 5; i++)); do
    local whole=1
    for port in "${PORTS[@]}"; do cluster_ok "$port" || whole=""; done
    [[ -n $whole && $(synced_replicas) -eq 3 ]] && break
    sleep 0.2
  done
  [[ -n $whole ]] || die "cluster not ok after ${WAIT_SECS}s; see $DIR/*/redis.log"
  [[ $(synced_replicas) -eq 3 ]] || die "replicas not in sync after ${WAIT_SECS}s; see $DIR/*/redis.log"
  say "redis-cluster: up (127.0.0.1:${PORTS[0]}-${PORTS[5]}, 3 masters + 3 replicas)"
}

cmd_down() {
  local port
  for port in "${PORTS[@]}"; do
    if answers "$port"; then cli "$port" shutdown >/dev/null || true; fi
  done
  say "redis-cluster: stopped"
}

cmd_status() {
  local port up=0
  for port in "${PORTS[@]}"; do answers "$port" && up=$((up + 1)); done
  say "redis-cluster: $up/6 nodes up, state $(cluster_field "${PORTS[0]}" cluster_state || true)"
  [[ $up -eq 6 ]] && cluster_ok "${PORTS[0]}"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  url) say "redis://127.0.0.1:$BASE" ;;
  *) say "usage: scripts/redis-cluster.sh up|down|status|url" >&2; exit 2 ;;
esac
