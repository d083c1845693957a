# syntax=docker/dockerfile:1
# tiercast: one image for every role. The role and its flags are the container's arguments:
#   docker run tiercast hub | ingress | intermediate | edge | all --demo | streamer add --name alice
# Configuration comes from TIERCAST_* environment variables (docs/configuration.md) or --config FILE.
# Built and checked as described in docs/deploy.md.

# All stages on the same Node major and Debian release: native addons built in prod-deps must load at run time.
ARG NODE_VERSION=20

# ---- build: compile TypeScript (needs the dev dependencies) ----
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- prod-deps: runtime dependencies only (better-sqlite3 is built or fetched here) ----
FROM node:${NODE_VERSION}-bookworm AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
  # uWebSockets.js ships binaries for every platform and Node ABI: keep this one's. The edge serves only
  # dash.js's minified bundle (src/edge/static-files.ts). Together this trims the image by about 200 MB.
  && find node_modules/uWebSockets.js/binaries -name '*.node' \
       ! -name "uws_linux_$(node -p process.arch)_$(node -p process.versions.modules).node" -delete \
  && find node_modules/dashjs/dist -type f ! -path '*/modern/umd/dash.all.min.js' \
       ! -path '*/modern/esm/dash.all.min.js' ! -name 'dash.all.min.js.LICENSE.txt' -delete

# ---- runtime ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# ffmpeg: the ingress's transcoder and thumbnailer (the other roles never start it; one image keeps
# deployment simple).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# Read at run time from src/ by the compiled code: the edge's pages and the hub's schema migrations.
COPY src/edge/public ./src/edge/public
COPY src/hub/store/migrations ./src/hub/store/migrations
COPY deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs
# The hub's SQLite directory (mount a volume here) and ./data for `all` are the only places written.
# Mode 0700: the hub warns when other users can read its database directory.
RUN install -d -m 0700 -o node -g node /var/lib/tiercast /app/data
# The node image's unprivileged user (uid 1000).
USER node
# RTMP (ingress), hub, edge, ingress cluster/metrics, intermediate cluster/metrics.
EXPOSE 1935 8070 8080 8090 8091
# GET /healthz on the role's HTTP port (found from the node's arguments or TIERCAST_HTTP__PORT).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/docker/healthcheck.mjs"]
# node is PID 1: node-role handles SIGTERM (closes viewers and children, stops ffmpeg) and waits for its
# own child processes; run with --init (compose: init: true) to also reap anything else.
ENTRYPOINT ["node", "bin/node-role.js"]
CMD ["all", "--demo"]
