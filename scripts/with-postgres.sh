#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at a PostgreSQL server.
#
#   scripts/with-postgres.sh test CMD...  for tests: DATABASE_URL if set, else the
#                                         server on 127.0.0.1:5432 if one answers,
#                                         else a throwaway cluster, removed afterwards
#   scripts/with-postgres.sh run CMD...   for `make run`: DATABASE_URL if set, else a
#                                         cluster kept under ./.data/postgres
#
# Clusters are made from the machine's PostgreSQL binaries, installed with
# apt-get when missing (as root), else it says what to install.
set -euo pipefail

mode=${1:?usage: with-postgres.sh test|run CMD...}
shift

say() { printf 'with-postgres: %s\n' "$*" >&2; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "PostgreSQL is not installed; installing it with apt-get (about a minute)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$dir" ]; then
    say "no PostgreSQL found. Install it (Debian/Ubuntu: sudo apt-get install postgresql) or set DATABASE_URL."
    exit 1
  fi
  echo "$dir"
}

free_port() {
  local p
  for p in $(seq "$1" $(( $1 + 200 ))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  say "no free port near $1"; exit 1
}

# as_owner runs a PostgreSQL tool as the cluster's owner: initdb and
# postgres refuse to run as root, so root hands them to the postgres user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_cluster() { # dir port
  local bin dir=$1 port=$2
  bin=$(pg_bin)
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
  fi
  as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
}

stop_cluster() { # dir
  as_owner "$(pg_bin)/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

answers() { # url
  command -v psql >/dev/null || { ls /usr/lib/postgresql/*/bin/psql >/dev/null 2>&1 || return 1; }
  local psql
  psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | tail -n 1)
  PGCONNECT_TIMEOUT=3 "$psql" "$1" -qAtc 'select 1' >/dev/null 2>&1
}

case "$mode" in
test)
  if [ -n "${DATABASE_URL:-}" ]; then
    exec "$@"
  fi
  local_url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
  if answers "$local_url"; then
    export DATABASE_URL=$local_url
    exec "$@"
  fi
  dir=$(mktemp -d /tmp/gatekey-pg-test.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  trap 'stop_cluster "$dir/data"; rm -rf "$dir"' EXIT
  # Below the kernel's ephemeral range, so no client socket holds the port.
  port=$(free_port 15432)
  say "no PostgreSQL server answers; starting a throwaway cluster on 127.0.0.1:$port"
  start_cluster "$dir/data" "$port"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  "$@"
  ;;
run)
  if [ -n "${DATABASE_URL:-}" ]; then
    exec "$@"
  fi
  dir="$(pwd)/.data/postgres"
  port=25432
  if ! answers "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"; then
    say "starting PostgreSQL under ./.data/postgres on 127.0.0.1:$port"
    start_cluster "$dir" "$port"
    trap 'say "stopping PostgreSQL"; stop_cluster "$dir"' EXIT
  fi
  psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | tail -n 1)
  "$psql" "postgres://postgres@127.0.0.1:$port/postgres" -qAtc "select 1 from pg_database where datname = 'gatekey'" | grep -q 1 ||
    "$psql" "postgres://postgres@127.0.0.1:$port/postgres" -qc "create database gatekey" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/gatekey?sslmode=disable"
  "$@"
  ;;
*)
  say "unknown mode $mode (want test or run)"; exit 2
  ;;
esac
