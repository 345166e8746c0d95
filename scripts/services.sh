#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers on loopback for the tests (Debian 12; as root or not).
#
#   eval "$(scripts/services.sh start)"   install if missing, start both, print the env exports
#   scripts/services.sh stop redis|postgres
#   scripts/services.sh start redis|postgres
#
# Idempotent: a running server is left alone. Data lives in $YARD_SERVICES_DIR
# (/tmp/yard-services): test data, so PostgreSQL skips fsync (safe while the OS stays up) but
# keeps synchronous_commit, without which a PostgreSQL crash (stop -m immediate, as the tests
# do) loses commits the ledger already counted as written; Redis keeps nothing on disk.
set -euo pipefail
DIR=${YARD_SERVICES_DIR:-/tmp/yard-services}
PG_PORT=${YARD_PG_PORT:-55432}
REDIS_PORT=${YARD_REDIS_PORT:-56379}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

log() { echo "services: $*" >&2; }

install() {
  if command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    return
  fi
  log "installing postgresql and redis-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql redis-server >&2
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local bin data=$DIR/pg
  bin=$(pg_bin)
  mkdir -p "$DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data" "$DIR"
    as_postgres "$bin/initdb" -D "$data" -A trust -U postgres >/dev/null
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$data" -l "$DIR/pg.log" -w -o \
      "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DIR -c fsync=off -c full_page_writes=off" \
      start >/dev/null
  fi
  if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
      "select 1 from pg_database where datname = 'yard_test'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database yard_test" >/dev/null
  fi
}

stop_postgres() {
  as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/pg" -m immediate -w stop >/dev/null 2>&1 || true
}

start_redis() {
  mkdir -p "$DIR"
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    return
  fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --daemonize yes --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
  for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  log "redis did not start; see $DIR/redis.log"
  exit 1
}

stop_redis() {
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}:${2:-all}" in
  start:all)
    install
    start_postgres
    start_redis
    echo "export YARD_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/yard_test"
    echo "export YARD_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    echo "export YARD_TEST_SERVICES=$SELF"
    ;;
  start:postgres) start_postgres ;;
  start:redis) start_redis ;;
  stop:postgres) stop_postgres ;;
  stop:redis) stop_redis ;;
  *) log "usage: $0 [start [redis|postgres] | stop redis|postgres]"; exit 2 ;;
esac
