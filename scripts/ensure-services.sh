#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis servers the tests use answer on 127.0.0.1,
# starting them when they are installed and down. The Kafka-protocol broker needs no
# service: the test fixture starts its own (tansu, from the dev dependencies).
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

wait_for() { # description, command...
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "services: $what is up"; return 0; fi
    sleep 0.5
  done
  echo "services: $what did not come up" >&2
  return 1
}

postgres_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

if ! command -v pg_isready >/dev/null; then
  echo "services: PostgreSQL client tools are not installed (Debian: postgresql)" >&2
  exit 1
fi
if postgres_up; then
  echo "services: PostgreSQL is up"
else
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      for cluster in $(ls "/etc/postgresql/$version"); do
        echo "services: starting PostgreSQL $version/$cluster"
        pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
      done
    done
  else
    echo "services: PostgreSQL is down and no cluster is installed to start" >&2
    exit 1
  fi
  wait_for PostgreSQL postgres_up
fi

if ! command -v redis-server >/dev/null; then
  echo "services: Redis is not installed (Debian: redis-server)" >&2
  exit 1
fi
if redis_up; then
  echo "services: Redis is up"
else
  echo "services: starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p var/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir "$(pwd)/var/redis" --logfile "$(pwd)/var/redis/redis.log"
  wait_for Redis redis_up
fi
