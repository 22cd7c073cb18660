#!/usr/bin/env bash
# Instructions per manager request, counted by valgrind's callgrind (deterministic, unlike wall-clock
# numbers on a shared machine). Runs the measured side under callgrind twice, with N and 2N rounds of
# `d['k'] = i; d['k']`, and divides the difference by the extra requests, which leaves out startup and
# most JIT warm-up. All threads are counted (V8's helper threads too); the kernel is not.
#   npm run build && bench/managers/callgrind.sh server [N]   # TS server ← one CPython client (py_client.py)
#   npm run build && bench/managers/callgrind.sh client [N]   # TS client (callgrind-client.mjs) → CPython server
# Env: MPWIRE_BENCH_PYTHON (default python3), MPWIRE_DIST (default dist/). N defaults to 3000 (about a
# minute per run: callgrind is ~50x slower than native).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:?usage: callgrind.sh server|client [N]}
n=${2:-3000}
py=${MPWIRE_BENCH_PYTHON:-python3}
dist=${MPWIRE_DIST:-$root/dist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

wait_for() { # file pattern
  for _ in $(seq 1200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.25; done
  echo "timed out waiting for $2 in $1" >&2
  exit 1
}

server_run() { # rounds out
  valgrind --tool=callgrind --callgrind-out-file="$2" node "$here/callgrind-server.mjs" "$dist" > "$tmp/log.$1" 2>&1 &
  local vg=$!
  wait_for "$tmp/log.$1" '^PORT'
  local port
  port=$(grep '^PORT' "$tmp/log.$1" | awk '{print $2}')
  "$py" "$here/py_client.py" "$port" bench-key "$1" > /dev/null
  kill -TERM "$vg"
  wait "$vg" || true
}

client_run() { # rounds out
  "$py" "$root/interop/managers/server.py" tcp 0 bench-key > "$tmp/py.$1" 2>&1 &
  local srv=$!
  wait_for "$tmp/py.$1" '^READY'
  local port
  port=$(grep '^READY' "$tmp/py.$1" | awk '{print $3}')
  PORT=$port valgrind --tool=callgrind --callgrind-out-file="$2" node "$here/callgrind-client.mjs" "$dist" "$1" > /dev/null 2>&1
  kill "$srv"
}

total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }

case "$mode" in
  server) run=server_run ;;
  client) run=client_run ;;
  *) echo "mode must be server or client" >&2; exit 2 ;;
esac
$run "$n" "$tmp/a.out"
$run "$((2 * n))" "$tmp/b.out"
a=$(total "$tmp/a.out")
b=$(total "$tmp/b.out")
# Two requests (set + get) per round.
echo "$mode: $(( (b - a) / (2 * n) )) instructions per request ($n → $((2 * n)) rounds)"
