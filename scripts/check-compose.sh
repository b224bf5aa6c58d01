#!/bin/sh
# Validates the compose files with `docker compose config` (no Docker engine needed, only the
# compose CLI plugin): the default services, the observability profile, and the external-Temporal
# override. Prints each configuration's services; exits non-zero on the first invalid one.
#
# Without the plugin (no Docker Desktop / docker-compose-plugin package), build it with Go:
#   go install github.com/docker/compose/v2/cmd@v2.32.4
#   mkdir -p ~/.docker/cli-plugins && cp ~/go/bin/cmd ~/.docker/cli-plugins/docker-compose
set -eu

cd "$(dirname "$0")/.."
log() { echo "[check-compose] $*"; }
docker compose version >/dev/null 2>&1 || {
  echo "[check-compose] FAIL: docker compose is not installed (see the comment at the top of $0)" >&2
  exit 1
}

check() { # $1 label, then the arguments to docker compose
  label="$1"
  shift
  docker compose "$@" config --quiet || { echo "[check-compose] FAIL: $label" >&2; exit 1; }
  log "$label: ok ($(docker compose "$@" config --services | sort | tr '\n' ' '))"
}

# Interpolation must not depend on the caller's shell: run with the compose defaults only.
unset TEMPORAL_ADDRESS TEMPORAL_NAMESPACE COMPOSE_PROFILES OTEL_EXPORTER_OTLP_ENDPOINT 2>/dev/null || true
check "docker-compose.yml"
check "observability profile" --profile observability
TEMPORAL_ADDRESS=example.tmprl.cloud:7233 TEMPORAL_NAMESPACE=example.a1b2c TEMPORAL_API_KEY=key \
  check "external Temporal override" -f docker-compose.yml -f docker/compose.external-temporal.yml
if TEMPORAL_ADDRESS= docker compose -f docker-compose.yml -f docker/compose.external-temporal.yml config --quiet 2>/dev/null; then
  echo "[check-compose] FAIL: the external Temporal override accepted an empty TEMPORAL_ADDRESS" >&2
  exit 1
fi
log "external Temporal override: refuses to start without TEMPORAL_ADDRESS"
log "version: $(docker compose version --short)"
