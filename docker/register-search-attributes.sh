#!/bin/sh
# Registers the orchestrator's custom search attributes (all Keyword) on a Temporal namespace.
#
# Runs once per `docker compose up` in the temporalio/admin-tools image. Idempotent: attributes
# that already exist with the right type are left alone, so re-runs and a worker that registered
# them first are both fine. The server may still be starting (auto-setup creates the schema and
# the default namespace in the background), hence the waiting loops.
#
# Env: TEMPORAL_ADDRESS (temporal:7233), TEMPORAL_NAMESPACE (default),
#      SEARCH_ATTRIBUTES (space separated names), MAX_ATTEMPTS (90), SLEEP_SECONDS (2).
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ATTRIBUTES="${SEARCH_ATTRIBUTES:-PlanId TaskId AgentType AgentId LifecycleState PlanStatus}"
MAX_ATTEMPTS="${MAX_ATTEMPTS:-90}"
SLEEP_SECONDS="${SLEEP_SECONDS:-2}"

log() { echo "[register-search-attributes] $*"; }

tctl_() { temporal --address "$ADDRESS" "$@"; }

# Prints the type the namespace reports for a custom attribute (e.g. INDEXED_VALUE_TYPE_KEYWORD),
# or nothing when it is not registered.
custom_type() {
  json="$(tctl_ operator search-attribute list --namespace "$NAMESPACE" -o json 2>/dev/null)" || return 1
  if command -v jq >/dev/null 2>&1; then
    printf '%s' "$json" | jq -r --arg n "$1" '.customAttributes[$n] // empty'
  else
    printf '%s' "$json" | tr -d ' \n' | grep -o "\"$1\":\"[A-Z_]*\"" | head -n 1 | cut -d'"' -f4
  fi
}

log "waiting for Temporal at $ADDRESS"
attempt=1
until tctl_ operator cluster health >/dev/null 2>&1; do
  [ "$attempt" -ge "$MAX_ATTEMPTS" ] && { log "server not healthy after $attempt attempts"; exit 1; }
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done

log "waiting for namespace '$NAMESPACE'"
attempt=1
until tctl_ operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; do
  [ "$attempt" -ge "$MAX_ATTEMPTS" ] && { log "namespace '$NAMESPACE' never appeared"; exit 1; }
  # auto-setup registers the default namespace itself; a custom TEMPORAL_NAMESPACE we create.
  if [ "$attempt" -ge 10 ]; then
    tctl_ operator namespace create --namespace "$NAMESPACE" --retention 72h >/dev/null 2>&1 || true
  fi
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done

for name in $ATTRIBUTES; do
  attempt=1
  while :; do
    current="$(custom_type "$name" || true)"
    if [ "$current" = "INDEXED_VALUE_TYPE_KEYWORD" ]; then
      log "$name: Keyword (present)"
      break
    fi
    if [ -n "$current" ]; then
      log "$name exists with type $current, expected Keyword: remove it or use a fresh volume"
      exit 1
    fi
    if out="$(tctl_ operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword 2>&1)"; then
      log "$name: created"
      break
    fi
    case "$out" in
      *"already exists"*) log "$name: already exists"; break ;;
    esac
    [ "$attempt" -ge "$MAX_ATTEMPTS" ] && { log "could not create $name: $out"; exit 1; }
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
done

log "done: $ATTRIBUTES on namespace '$NAMESPACE'"
