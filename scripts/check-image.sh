#!/bin/sh
# Runs what the Docker image runs, without a Docker engine: the Dockerfile's two stages replayed in
# a temporary directory (npm ci, npm run build, npm prune --omit=dev; then only package*.json,
# node_modules and dist/ copied to the runtime directory), then the image's commands started from
# that directory against a Temporal dev server, with the environment docker-compose.yml gives the
# worker and the API:
#   - docker/temporal-namespace.sh (the namespace job) registers the search attributes,
#   - node dist/worker.js and node dist/api/server.js start,
#   - node dist/healthcheck.js passes for both roles, /readyz turns ready,
#   - examples/sequential.json runs to completion through the API.
# The environment is read with `docker compose config` when the compose plugin is installed
# (see docs/deploying-compose.md); without it the script stops and says so.
#
#   sh scripts/check-image.sh            (a few minutes: npm ci of the production image)
set -eu

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "[check-image] $*"; }
fail() {
  echo "[check-image] FAIL: $*" >&2
  for f in worker api; do [ -f "$WORK/$f.log" ] && { echo "--- $f.log (tail)" >&2; tail -n 20 "$WORK/$f.log" >&2; }; done
  exit 1
}

docker compose version >/dev/null 2>&1 || fail "docker compose is not installed (docs/deploying-compose.md: 'Checking the compose file')"
TEMPORAL="$ROOT/.temporal/bin/temporal"
[ -x "$TEMPORAL" ] || node "$ROOT/scripts/temporal-cli.cjs" >/dev/null

WORK="$(mktemp -d)"
PIDS=""
cleanup() {
  for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

log "build stage: npm ci, npm run build, npm prune --omit=dev (in $WORK/build)"
mkdir -p "$WORK/build" "$WORK/runtime"
# What the build stage copies, read from the Dockerfile's own COPY lines, so this replay stays in step with it.
awk '/^FROM .* AS build/ { b = 1; next } /^FROM / { b = 0 } b && /^COPY / && !/--from/ { sub(/^COPY +/, ""); print }' \
  "$ROOT/Dockerfile" | while read -r line; do
  last=""
  srcs=""
  for a in $line; do
    [ -n "$last" ] && srcs="$srcs $last"
    last=$a
  done
  case "$last" in */) mkdir -p "$WORK/build/$last" ;; esac
  for src in $srcs; do
    if [ -d "$ROOT/$src" ]; then cp -R "$ROOT/$src" "$WORK/build/$last"; else cp "$ROOT/$src" "$WORK/build/$last"; fi
  done
done
(cd "$WORK/build" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null && npm run build --silent &&
  npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null) || fail "build stage"

log "runtime stage: package*.json, node_modules, dist"
cp "$WORK/build/package.json" "$WORK/build/package-lock.json" "$WORK/runtime/"
cp -R "$WORK/build/node_modules" "$WORK/build/dist" "$WORK/runtime/"
for dev in typescript ts-node jest; do
  [ ! -e "$WORK/runtime/node_modules/$dev" ] || fail "the runtime has the dev dependency $dev"
done
[ ! -e "$WORK/runtime/src" ] || fail "the runtime has src/"
log "runtime: $(du -sh "$WORK/runtime/node_modules" | cut -f1) of node_modules, no typescript/ts-node/jest, no src/"

TEMPORAL_PORT="$(free_port)"
"$TEMPORAL" server start-dev --headless --port "$TEMPORAL_PORT" --log-level error >"$WORK/temporal.log" 2>&1 &
PIDS="$PIDS $!"
NAMESPACE=compose-check
log "namespace job against a dev server on 127.0.0.1:$TEMPORAL_PORT"
PATH="$(dirname "$TEMPORAL"):$PATH" TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT" TEMPORAL_NAMESPACE="$NAMESPACE" \
  SEARCH_ATTRIBUTES_FILE="$ROOT/src/shared/custom-search-attributes.json" SLEEP_SECONDS=1 \
  sh "$ROOT/docker/temporal-namespace.sh" | tail -n 1 || fail "docker/temporal-namespace.sh"

# The compose file's environment for a service, as `export K='V'` lines, with what differs outside
# Docker overridden: Temporal's address, the ports, the blob directory.
API_PORT="$(free_port)"
METRICS_PORT="$(free_port)"
env_of() {
  (cd "$ROOT" && docker compose config --format json) | node -e "
    const cfg = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    const env = { ...cfg.services['$1'].environment, ...JSON.parse(process.argv[1]) };
    for (const [k, v] of Object.entries(env)) console.log('export ' + k + \"='\" + String(v ?? '').replace(/'/g, \"'\\\\''\") + \"'\");
  " "{\"TEMPORAL_ADDRESS\":\"127.0.0.1:$TEMPORAL_PORT\",\"TEMPORAL_NAMESPACE\":\"$NAMESPACE\",\"BLOB_STORE_DIR\":\"$WORK/blobs\",\"AGENT_ORCHESTRATOR_PORT\":\"$API_PORT\",\"AGENT_ORCHESTRATOR_HOST\":\"127.0.0.1\",\"WORKER_METRICS_PORT\":\"$METRICS_PORT\",\"WORKER_METRICS_HOST\":\"127.0.0.1\"}"
}
env_of worker >"$WORK/worker.env"
env_of api >"$WORK/api.env"

log "starting node dist/worker.js and node dist/api/server.js (compose environment)"
(cd "$WORK/runtime" && . "$WORK/worker.env" && exec node dist/worker.js) >"$WORK/worker.log" 2>&1 &
PIDS="$PIDS $!"
(cd "$WORK/runtime" && . "$WORK/api.env" && exec node dist/api/server.js) >"$WORK/api.log" 2>&1 &
PIDS="$PIDS $!"

# Polls a healthcheck until it passes (up to ~120 s: the worker bundles its workflows at start).
until_healthy() {
  env_file="$1"
  shift
  i=0
  until out="$(cd "$WORK/runtime" && . "$env_file" && node dist/healthcheck.js "$@" 2>&1)"; do
    i=$((i + 1))
    [ "$i" -lt 120 ] || fail "node dist/healthcheck.js $*: $out"
    sleep 1
  done
  log "node dist/healthcheck.js $*: $out"
}
until_healthy "$WORK/api.env" api
until_healthy "$WORK/worker.env" worker
until_healthy "$WORK/api.env" api /readyz

log "examples/sequential.json through the API"
code="$(curl -s -o "$WORK/submit.json" -w '%{http_code}' -XPOST "http://127.0.0.1:$API_PORT/v1/plans" \
  -H 'content-type: application/json' -d @"$ROOT/examples/sequential.json")"
case "$code" in 200 | 202) ;; *) fail "POST /v1/plans answered $code: $(cat "$WORK/submit.json")" ;; esac
plan="$(node -e "console.log(JSON.parse(require('fs').readFileSync(0,'utf8')).planId)" <"$WORK/submit.json")"
curl -s "http://127.0.0.1:$API_PORT/v1/plans/$plan/result?wait=60" >"$WORK/result.json"
status="$(node -e "console.log(JSON.parse(require('fs').readFileSync(0,'utf8')).status)" <"$WORK/result.json")"
[ "$status" = completed ] || fail "plan $plan ended '$status': $(head -c 500 "$WORK/result.json")"
log "ok: plan $plan completed; image build, healthchecks and compose environment work"
