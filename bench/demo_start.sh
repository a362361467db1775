#!/bin/bash
# Seconds from `git clone` of this checkout to the demo's first 200 on /login (README, Quickstart).
# Usage: bash bench/demo_start.sh [PORT]   (set COLD=1 to empty uv's download cache first)
set -u
port=${1:-5077}
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
dest=$(mktemp -d)/demo
[ "${COLD:-0}" = 1 ] && rm -rf "${XDG_CACHE_HOME:-$HOME/.cache}/uv"
start=$(date +%s.%N)
git clone -q "$repo" "$dest"
(cd "$dest" && make demo DEMO_ARGS="--port $port" > "$dest.log" 2>&1) &
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/login")" = 200 ]; do
  sleep 0.5
  if ! kill -0 $! 2>/dev/null; then echo "make demo ended without serving: $dest.log"; exit 1; fi
done
echo "served after $(echo "$(date +%s.%N) - $start" | bc) s; load: $(cut -d' ' -f1-3 /proc/loadavg); venv $(du -sh "$dest/.venv" | cut -f1)"
pkill -f "moderation demo --port $port"
