#!/usr/bin/env bash
# Removes what netns test runs (test/netns/) left behind after a crash: kills every process inside a
# `tcns-*` network namespace, deletes those namespaces and any `tcns-*` link in the root namespace.
# The tests do this themselves for runs whose process is gone; this is for a human, also for live runs.
# Usage: sudo bash scripts/netns-cleanup.sh
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "netns-cleanup: needs root" >&2
  exit 1
fi
for ns in $(ip netns list | awk '{print $1}' | grep '^tcns-' || true); do
  for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
  ip netns del "$ns" && echo "deleted namespace $ns"
done
for link in $(ip -o link show | sed -E 's/^[0-9]+: ([^:@ ]+).*/\1/' | grep '^tcns-' || true); do
  ip link del "$link" 2>/dev/null && echo "deleted link $link"
done
exit 0
