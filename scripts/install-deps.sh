#!/usr/bin/env bash
# Installs what tiercast needs on Debian 12 with Node.js 20: ffmpeg from apt and the npm packages.
# With --test, also what the tests need: Debian's Chromium (driven by playwright-core) and ffprobe.
set -euo pipefail
cd "$(dirname "$0")/.."

want=(ffmpeg g++ make python3)
# Tests also drive Chromium, scrape with Prometheus (promtool checks the rules), validate the compose file and
# run the hub store on a throwaway PostgreSQL cluster (test/helpers/postgres.ts: initdb and pg_ctl), and put
# nginx and HAProxy in front of a network (test/browser/reverse-proxy.test.ts), and receive restream outputs with
# nginx-rtmp (test/integration/restream.test.ts).
if [[ "${1:-}" == "--test" ]]; then want+=(chromium chromium-driver prometheus docker-compose iproute2 python3 postgresql nginx libnginx-mod-rtmp haproxy openssl); fi

missing=()
for pkg in "${want[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node -e 'const [maj] = process.versions.node.split(".").map(Number); if (maj < 20) { console.error("tiercast needs Node.js >= 20, found " + process.version); process.exit(1); }'
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
