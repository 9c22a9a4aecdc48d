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
# shellcheck source=lib/redis-nodes.sh
. "$ROOT/scripts/lib/redis-nodes.sh"
BASE=${HA_REDIS_CLUSTER_PORT:-63900}
PORTS=($(seq "$BASE" $((BASE + 5))))
DIR="$DATA/redis-cluster-$BASE"

cluster_field() { cli "$1" cluster info | sed -n "s/^$2://p"; }

start_node() {
  local port=$1 dir="$DIR/$1"
  answers "$port" && return
  mkdir -p "$dir"
  {
    say "# Written by scripts/redis-cluster.sh on every start; edits are lost."
    data_node_conf "$port" "$dir"
    say "cluster-port $((port + 50))"
    say "cluster-enabled yes"
    say "cluster-config-file nodes.conf"
    say "cluster-node-timeout 2000"
  } >"$dir/redis.conf"
  give_to_servers "$dir"
  start_server "$dir/redis.conf" || die "node $port failed to start; see $dir/redis.log"
}

cluster_ok() { [[ $(cluster_field "$1" cluster_state) == ok ]]; }
synced_replicas() {
  local port n=0
  for port in "${PORTS[@]}"; do replica_synced "$port" && n=$((n + 1)); done
  say "$n"
}

cmd_up() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server is missing; run scripts/services.sh up first"
  lock_setup "$DIR"
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
  # Every node must agree the cluster is whole, and every replica have finished its sync (see
  # replica_synced): CLUSTER NODES lists a replica as soon as it is assigned, before it holds
  # anything, and a master killed then leaves its slots down for good.
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
