#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, CI and load tests (Debian's postgresql package).
#   bash scripts/postgres.sh start DIR PORT   # initdb DIR if new, start on 127.0.0.1:PORT
#   bash scripts/postgres.sh stop DIR
# `start` prints the DATABASE_URL to use:
#   postgres://postgres@127.0.0.1:PORT/shiptrack
# Run as root it runs the server as the `postgres` user (PostgreSQL refuses to run as root).
# The cluster trusts local connections and does not fsync: it is for throwaway data only.
set -euo pipefail
action="${1:?start|stop}"
dir="${2:?data directory}"
port="${3:-55432}"

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >/dev/null
    fi
    # Sockets in the data directory: no need for /var/run/postgresql to exist or be writable.
    as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start -o \
      "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir \
       -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
       -c max_connections=200 -c shared_buffers=${PG_SHARED_BUFFERS:-256MB} \
       -c random_page_cost=1.1 -c jit=off" >/dev/null
    as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAc \
      "SELECT 1 FROM pg_database WHERE datname = 'shiptrack'" | grep -q 1 \
      || as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres shiptrack
    echo "postgres://postgres@127.0.0.1:$port/shiptrack"
    ;;
  stop)
    if [ -f "$dir/postmaster.pid" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
