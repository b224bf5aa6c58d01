#!/bin/sh
# Creates the orchestrator's Temporal namespace when it is missing and registers the custom search
# attributes listed in src/shared/custom-search-attributes.json (the one list; the worker registers the
# same file's names at start when they are missing).
#
# Runs once per `docker compose up` in the temporalio/admin-tools image (service `temporal-namespace`),
# after the server is healthy. Idempotent: an existing namespace is kept as it is, attributes that
# already exist with the right type are left alone, so re-runs and a worker that registered them
# first are both fine.
#
# Env: TEMPORAL_ADDRESS (temporal:7233), TEMPORAL_NAMESPACE (default),
#      NAMESPACE_RETENTION (72h, for a namespace this creates),
#      SEARCH_ATTRIBUTES_FILE (/etc/agent-orchestrator/custom-search-attributes.json),
#      MAX_ATTEMPTS (90), SLEEP_SECONDS (2).
# The `temporal` CLI also reads TEMPORAL_API_KEY, TEMPORAL_TLS_* and friends from the environment.
set -eu

export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${NAMESPACE_RETENTION:-72h}"
FILE="${SEARCH_ATTRIBUTES_FILE:-/etc/agent-orchestrator/custom-search-attributes.json}"
MAX_ATTEMPTS="${MAX_ATTEMPTS:-90}"
SLEEP_SECONDS="${SLEEP_SECONDS:-2}"

log() { echo "[temporal-namespace] $*"; }

[ -r "$FILE" ] || { log "cannot read the search attribute list $FILE"; exit 2; }
# The file is a flat JSON object {"Name": "Keyword", ...}; the image has no jq, so read it with sed.
# Every "Name": "Type" pair becomes a "Name Type" line.
PAIRS="$(tr -d '\n\r\t ' <"$FILE" | sed -e 's/^{//' -e 's/}$//' | tr ',' '\n' | sed -n 's/^"\([A-Za-z_][A-Za-z0-9_]*\)":"\([A-Za-z]*\)"$/\1 \2/p')"
[ -n "$PAIRS" ] || { log "$FILE lists no search attributes (expected {\"Name\": \"Keyword\", ...})"; exit 2; }
COUNT="$(tr -d '\n\r\t ' <"$FILE" | sed -e 's/^{//' -e 's/}$//' | tr ',' '\n' | grep -c .)"
if [ "$COUNT" -ne "$(printf '%s\n' "$PAIRS" | grep -c .)" ]; then
  log "$FILE: could not read every entry as \"Name\": \"Keyword\""
  exit 2
fi

log "waiting for Temporal at $TEMPORAL_ADDRESS"
attempt=1
until temporal operator cluster health >/dev/null 2>&1; do
  [ "$attempt" -ge "$MAX_ATTEMPTS" ] && { log "server not healthy after $attempt attempts"; exit 1; }
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  log "namespace '$NAMESPACE': present"
else
  attempt=1
  until out="$(temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" 2>&1)"; do
    case "$out" in *"already"*) break ;; esac
    [ "$attempt" -ge "$MAX_ATTEMPTS" ] && { log "could not create namespace '$NAMESPACE': $out"; exit 1; }
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
  log "namespace '$NAMESPACE': created (retention $RETENTION)"
  # A new namespace reaches every frontend's cache after a moment; wait until it is served.
  attempt=1
  until temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; do
    [ "$attempt" -ge "$MAX_ATTEMPTS" ] && { log "namespace '$NAMESPACE' never appeared"; exit 1; }
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
fi

# The type the namespace reports for a custom attribute (e.g. Keyword or INDEXED_VALUE_TYPE_KEYWORD),
# or nothing when it is not registered.
custom_type() {
  json="$(temporal operator search-attribute list --namespace "$NAMESPACE" -o json 2>/dev/null)" || return 1
  printf '%s' "$json" | tr -d ' \n\r\t' | grep -o "\"$1\":\"[A-Za-z_]*\"" | head -n 1 | cut -d'"' -f4
}

same_type() { # $1 reported, $2 wanted (Keyword): INDEXED_VALUE_TYPE_KEYWORD and Keyword both match
  reported="$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]' | sed 's/^INDEXED_VALUE_TYPE_//')"
  wanted="$(printf '%s' "$2" | tr '[:lower:]' '[:upper:]')"
  [ "$reported" = "$wanted" ]
}

names=""
while read -r name type; do
  names="$names $name"
  attempt=1
  while :; do
    current="$(custom_type "$name" || true)"
    if [ -n "$current" ] && same_type "$current" "$type"; then
      log "$name: $type (present)"
      break
    fi
    if [ -n "$current" ]; then
      log "$name exists with type $current, expected $type: remove it or use a fresh volume"
      exit 1
    fi
    if out="$(temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type" 2>&1)"; then
      log "$name: $type (created)"
      break
    fi
    case "$out" in
      *"already exists"*) log "$name: already exists"; break ;;
    esac
    [ "$attempt" -ge "$MAX_ATTEMPTS" ] && { log "could not create $name: $out"; exit 1; }
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
done <<PAIRS
$PAIRS
PAIRS

log "done:$names on namespace '$NAMESPACE'"
