#!/bin/sh
# Runs docker/temporal-schema.sh (the compose `temporal-schema` job) for real, outside Docker:
# against a throwaway PostgreSQL cluster on this machine, twice (the second run must be a no-op),
# then checks that both databases report a schema version.
#
# Needs: PostgreSQL server binaries (initdb, pg_ctl; Debian: apt-get install postgresql) and
# temporal-sql-tool of the release the compose file pins, on PATH or named by TEMPORAL_SQL_TOOL:
#   go install go.temporal.io/server/cmd/tools/sql@v1.32.1   # builds ~/go/bin/sql
#   TEMPORAL_SQL_TOOL=~/go/bin/sql sh scripts/check-temporal-schema.sh
set -eu

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "[check-temporal-schema] $*"; }
fail() { echo "[check-temporal-schema] FAIL: $*" >&2; exit 1; }

TOOL="${TEMPORAL_SQL_TOOL:-$(command -v temporal-sql-tool || true)}"
[ -n "$TOOL" ] && [ -x "$TOOL" ] || fail "temporal-sql-tool not found: set TEMPORAL_SQL_TOOL (go install go.temporal.io/server/cmd/tools/sql@v1.32.1)"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
[ -x "$PG_BIN/initdb" ] || PG_BIN="$(dirname "$(command -v initdb || echo /nonexistent/initdb)")"
[ -x "$PG_BIN/initdb" ] || fail "PostgreSQL server binaries (initdb, pg_ctl) not found: set PG_BIN"

WORK="$(mktemp -d)"
mkdir -p "$WORK/bin"
ln -s "$TOOL" "$WORK/bin/temporal-sql-tool"
PORT="${PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"

# initdb and pg_ctl refuse to run as root: run them as the postgres user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"

cleanup() {
  as_pg "'$PG_BIN/pg_ctl' -D '$WORK/data' -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT, temporal-sql-tool $TOOL"
as_pg "'$PG_BIN/initdb' -D '$WORK/data' -U postgres --auth=trust" >"$WORK/initdb.log" 2>&1 || fail "initdb: $(cat "$WORK/initdb.log")"
as_pg "'$PG_BIN/pg_ctl' -D '$WORK/data' -o '-p $PORT -k $WORK -c listen_addresses=127.0.0.1' -l '$WORK/pg.log' -w start" >/dev/null
# Like the postgres image's POSTGRES_USER: a superuser with a password.
psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qc "CREATE ROLE temporal LOGIN SUPERUSER PASSWORD 'temporal'"

run_job() {
  PATH="$WORK/bin:$PATH" SQL_HOST=127.0.0.1 SQL_PORT="$PORT" SQL_USER=temporal SQL_PASSWORD=temporal \
    SQL_PLUGIN=postgres12 SLEEP_SECONDS=1 sh "$ROOT/docker/temporal-schema.sh" >"$WORK/job-$1.log" 2>&1 ||
    fail "run $1 of docker/temporal-schema.sh: $(tail -n 20 "$WORK/job-$1.log")"
  grep '^\[temporal-schema\]' "$WORK/job-$1.log"
}

history() { # rows in both databases' schema_update_history: one per applied version
  for db in temporal temporal_visibility; do
    psql -h 127.0.0.1 -p "$PORT" -U temporal -d "$db" -tAc "SELECT count(*) FROM schema_update_history"
  done | awk '{ s += $1 } END { print s }'
}

log "first run (empty server)"
run_job 1
after_first="$(history)"
log "second run (nothing to do)"
run_job 2
after_second="$(history)"
[ "$after_first" = "$after_second" ] || fail "the second run applied $((after_second - after_first)) schema versions again"

for db in temporal temporal_visibility; do
  version="$(psql -h 127.0.0.1 -p "$PORT" -U temporal -d "$db" -tAc "SELECT curr_version FROM schema_version WHERE db_name = '$db'")"
  [ -n "$version" ] && [ "$version" != "0.0" ] || fail "$db: schema_version is '$version'"
  tables="$(psql -h 127.0.0.1 -p "$PORT" -U temporal -d "$db" -tAc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")"
  log "$db: schema version $version, $tables tables"
done
log "ok: both databases created and at the latest version; the second run changed nothing ($after_second schema versions recorded)"
