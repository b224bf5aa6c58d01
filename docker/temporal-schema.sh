#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (persistence and visibility) to the schema
# the server image expects. What temporalio/auto-setup used to do at start, as a one-shot job.
#
# Runs in the temporalio/admin-tools image (docker-compose service `temporal-schema`) with the
# temporal-sql-tool of the same release as temporalio/server; the schemas are embedded in that tool.
# Idempotent: create-database skips a database that exists, setup-schema -v 0.0 only writes the
# version table of an empty database, and update-schema applies just the versions not yet applied,
# so this runs on every `docker compose up` and upgrades the schema after a server version bump.
#
# Env: SQL_HOST (postgresql), SQL_PORT (5432), SQL_USER (temporal), SQL_PASSWORD (temporal),
#      SQL_PLUGIN (postgres12), TEMPORAL_DB (temporal), VISIBILITY_DB (temporal_visibility),
#      SQL_TLS* (read by temporal-sql-tool itself), MAX_ATTEMPTS (60), SLEEP_SECONDS (2).
set -eu

export SQL_HOST="${SQL_HOST:-postgresql}"
export SQL_PORT="${SQL_PORT:-5432}"
export SQL_USER="${SQL_USER:-temporal}"
export SQL_PASSWORD="${SQL_PASSWORD:-temporal}"
export SQL_PLUGIN="${SQL_PLUGIN:-postgres12}"
TEMPORAL_DB="${TEMPORAL_DB:-temporal}"
VISIBILITY_DB="${VISIBILITY_DB:-temporal_visibility}"
MAX_ATTEMPTS="${MAX_ATTEMPTS:-60}"
SLEEP_SECONDS="${SLEEP_SECONDS:-2}"

case "$SQL_PLUGIN" in
  postgres12 | postgres12_pgx) SCHEMA_ROOT=postgresql/v12 ;;
  *) echo "[temporal-schema] SQL_PLUGIN=$SQL_PLUGIN: this script sets up PostgreSQL (postgres12, postgres12_pgx)" >&2; exit 2 ;;
esac

log() { echo "[temporal-schema] $*"; }


# The database may still be starting: retry creating it until it answers.
create_database() {
  attempt=1
  until out="$(temporal-sql-tool --db "$1" create-database 2>&1)"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      log "could not create database $1 on $SQL_HOST:$SQL_PORT after $attempt attempts: $out"
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
}

for pair in "$TEMPORAL_DB:temporal" "$VISIBILITY_DB:visibility"; do
  db="${pair%%:*}"
  schema="$SCHEMA_ROOT/${pair#*:}"
  log "$db: database"
  create_database "$db"
  log "$db: schema $schema"
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
done

log "done: $TEMPORAL_DB and $VISIBILITY_DB on $SQL_HOST:$SQL_PORT are at the latest schema of this temporal-sql-tool"
