#!/usr/bin/env bash
# Redis and PostgreSQL on loopback for the scale-out integration tests (and for
# trying the many-machine setup on one machine). Installs them from apt when
# missing, starts them in a state directory, and prints on stdout the lines to use:
#   DATABASE_URL=postgres://postgres@127.0.0.1:55432/paksatalker
#   REDIS_URL=redis://127.0.0.1:56379/0
# so `eval "$(scripts/ci_services.sh)"` exports them. Logs go to stderr.
# Idempotent: whatever already runs is left alone. `scripts/ci_services.sh stop` stops both.
# PostgreSQL refuses to run as root: as root, it runs as the postgres user.
set -euo pipefail

STATE=${PAKSA_CI_SERVICES_DIR:-/tmp/paksatalker-ci-services}
PG_PORT=${PAKSA_CI_PG_PORT:-55432}
REDIS_PORT=${PAKSA_CI_REDIS_PORT:-56379}
PG_DB=paksatalker

log() { echo "ci_services: $*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }
as_root() {
  if is_root; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root (or sudo) to run: $*"; exit 1; fi
}
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

install_missing() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -n "$(pg_bin)" ] || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} with apt"
    as_root apt-get update -qq -o DPkg::Lock::Timeout=300 >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2
  fi
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "redis already answers on 127.0.0.1:$REDIS_PORT"; return
  fi
  mkdir -p "$STATE/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$STATE/redis" \
    --save "" --appendonly no --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log" >&2
  for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && { log "redis started on 127.0.0.1:$REDIS_PORT"; return; }
    sleep 0.1
  done
  log "redis did not start: $(tail -n 20 "$STATE/redis/redis.log" 2>/dev/null)"; exit 1
}

start_postgres() {
  local bin data sock
  bin=$(pg_bin)
  data="$STATE/pg/data"
  sock="$STATE/pg/sock"
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "postgresql already answers on 127.0.0.1:$PG_PORT"
  else
    mkdir -p "$STATE/pg"
    chmod 755 "$STATE" "$STATE/pg"
    if is_root; then chown postgres: "$STATE/pg"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
      as_pg mkdir -p "$data" "$sock"
      as_pg "$bin/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 >&2
    fi
    as_pg mkdir -p "$sock"
    as_pg "$bin/pg_ctl" -D "$data" -l "$STATE/pg/postgres.log" -w -t 60 start \
      -o "-p $PG_PORT -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" >&2
    log "postgresql started on 127.0.0.1:$PG_PORT"
  fi
  if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $PG_DB" >&2
  fi
}

stop_all() {
  local bin
  bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$STATE/pg/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >&2 || true
  fi
  if [ -f "$STATE/redis/redis.pid" ]; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  log "stopped"
}

case "${1:-start}" in
  start)
    install_missing
    start_redis
    start_postgres
    echo "DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"
    echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    ;;
  stop) stop_all ;;
  *) log "usage: $0 [start|stop]"; exit 2 ;;
esac
