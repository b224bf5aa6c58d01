# syntax=docker/dockerfile:1
#
# One image, two processes (docker-compose.yml picks the command):
#   node dist/worker.js        the Temporal worker (scale it: docker compose up --scale worker=N)
#   node dist/api/server.js    the HTTP API on port 8003 (default command)
#
# Node 22 LTS on Debian slim, not Alpine: @temporalio/core-bridge ships a glibc-linked native library.
# The runtime stage holds the compiled dist/ and the production dependencies only: no sources, no
# TypeScript, no ts-node (both are devDependencies).

ARG NODE_IMAGE=node:22.21.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first, so source edits reuse this layer. The native core-bridge binary is
# inside the npm package; nothing is downloaded at install beyond the registry.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build-dashboard.cjs ./scripts/
COPY dashboard ./dashboard
# `npm run build` compiles src/ to dist/ (with the workflow bundle the worker loads at start) and
# bundles the dashboard into dist/dashboard (the API serves it at /); then the dev dependencies go.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
# `npm run build` bundled the workflow code into dist/workflow-bundle.js (with its manifest): the
# worker loads it instead of bundling at every start (docs/operations-deploy.md).
COPY --from=build /app/dist ./dist

# No state lives in the container: everything durable is in Temporal, and large outputs in the
# blob store (the `blobs` volume in docker-compose, mounted here; owned by node so it can write).
RUN mkdir -p /data/blobs && chown node:node /data/blobs
USER node
# API, worker metrics.
EXPOSE 8003 9464
# API: GET /healthz; worker: GET /healthz on its metrics port. The role comes from the container's command.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 CMD ["node", "dist/healthcheck.js"]
CMD ["node", "dist/api/server.js"]
