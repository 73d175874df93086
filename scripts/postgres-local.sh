#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL cluster on loopback for tests and the sample
# deployment: `scripts/postgres-local.sh start [DIR] [PORT]` prints the store URL to use.
# Installs PostgreSQL from Debian when it is missing. Trust authentication, loopback only:
# never use this cluster for real data.
set -euo pipefail
cmd=${1:-start}
dir=$(realpath -m "${2:-/tmp/cascade-pg}")
port=${3:-55432}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bindir() {
  local b
  b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  echo "$b"
}

# PostgreSQL refuses to run as root: run its programs as the 'postgres' user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    # From /, since the caller's folder may be closed to the postgres user.
    su postgres -s /bin/bash -c "cd / && $(printf '%q ' "$@")"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    if [ -z "$(bindir)" ]; then
      echo "installing postgresql" >&2
      as_root apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
    fi
    bin=$(bindir)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    bin=$(bindir)
    [ -f "$dir/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    ;;
  restart)
    bin=$(bindir)
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -m fast -w restart -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  *) echo "usage: $0 start|stop|restart [DIR] [PORT]" >&2; exit 2 ;;
esac
