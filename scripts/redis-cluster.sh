#!/usr/bin/env bash
# A throwaway 3-master Redis Cluster on loopback ports 7000-7002, for the session-store suite
# (TEST_REDIS_CLUSTER_URL=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002).
#
#   scripts/redis-cluster.sh start   # starts the nodes and creates the cluster; waits for cluster_state:ok
#   scripts/redis-cluster.sh stop    # shuts the nodes down and removes their data
#
# Both are idempotent: start on a healthy cluster does nothing, stop with nothing running succeeds.
# No persistence (the data is test data), bound to 127.0.0.1 only. Exits non-zero on failure.
set -euo pipefail

PORTS=(7000 7001 7002)
HOST=127.0.0.1
DATA_DIR="${TOLLGATE_REDIS_CLUSTER_DIR:-/tmp/tollgate-redis-cluster}"
WAIT_SECONDS="${TOLLGATE_REDIS_CLUSTER_WAIT:-30}"

log() { echo "redis-cluster: $*" >&2; }
fail() { log "error: $*"; exit 1; }

command -v redis-server >/dev/null || fail "redis-server is not installed"
command -v redis-cli >/dev/null || fail "redis-cli is not installed"

cli() { local port=$1; shift; redis-cli -h "$HOST" -p "$port" --no-auth-warning "$@"; }
running() { [ "$(cli "$1" ping 2>/dev/null || true)" = "PONG" ]; }
info_field() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }
cluster_ok() {
  local port
  for port in "${PORTS[@]}"; do [ "$(info_field "$port" cluster_state)" = "ok" ] || return 1; done
}

start_node() {
  local port=$1 dir="$DATA_DIR/$1"
  if running "$port"; then
    [ "$(cli "$port" info cluster 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_enabled://p')" = "1" ] \
      || fail "port $port is taken by a Redis that is not in cluster mode"
    return 0
  fi
  mkdir -p "$dir"
  redis-server --port "$port" --bind "$HOST" --cluster-enabled yes \
    --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 \
    --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    || fail "redis-server on port $port did not start (see $dir/redis.log)"
  local i
  for i in $(seq 1 50); do running "$port" && return 0; sleep 0.1; done
  fail "redis-server on port $port did not answer (see $dir/redis.log)"
}

create_cluster() {
  local port nodes=()
  # Nodes left half-joined by an earlier run are wiped and reset first (this is test data only).
  for port in "${PORTS[@]}"; do
    if [ "$(info_field "$port" cluster_known_nodes)" != "1" ] || [ "$(info_field "$port" cluster_slots_assigned)" != "0" ]; then
      log "resetting node $port"
      cli "$port" flushall >/dev/null
      cli "$port" cluster reset hard >/dev/null
    fi
    nodes+=("$HOST:$port")
  done
  log "creating cluster ${nodes[*]}"
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null \
    || fail "redis-cli --cluster create failed"
}

wait_ok() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until cluster_ok; do
    [ "$SECONDS" -lt "$deadline" ] || fail "cluster_state is not ok after ${WAIT_SECONDS}s"
    sleep 0.2
  done
}

start() {
  local port
  for port in "${PORTS[@]}"; do start_node "$port"; done
  if cluster_ok; then log "cluster already up"; return 0; fi
  # A cluster that was just started may still be converging; give it a moment before recreating.
  local i
  for i in $(seq 1 10); do cluster_ok && { log "cluster up"; return 0; }; sleep 0.2; done
  create_cluster
  wait_ok
  log "cluster up on ports ${PORTS[*]}"
}

stop() {
  local port
  for port in "${PORTS[@]}"; do
    if running "$port"; then
      cli "$port" shutdown nosave >/dev/null 2>&1 || true
      local i
      for i in $(seq 1 50); do running "$port" || break; sleep 0.1; done
      running "$port" && fail "node $port did not shut down"
    fi
  done
  rm -rf "$DATA_DIR"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
