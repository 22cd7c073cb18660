#!/usr/bin/env bash
# Make a Docker engine available for the container interop suite (interop/containers).
#
#   bash docker/engine-up.sh      exit 0 and print "engine: running" or "engine: started <pid>";
#                                 exit 2 with "engine: unavailable: <reason>" when none can be had
#
# If `docker info` already answers, nothing is touched. Otherwise, as root only: install the engine
# from Debian's archive when dockerd is missing (docker.io, plus mmdebstrap for the Debian image and
# iptables for published ports), start dockerd in the background and record its pid in
# $MPWIRE_DOCKERD_DIR/dockerd.pid so that docker/engine-down.sh stops only a dockerd started here.
set -uo pipefail
STATE="${MPWIRE_DOCKERD_DIR:-/tmp/mpwire-dockerd}"
t0=$EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }
answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  echo "engine: running"
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "engine: unavailable: docker info does not answer and we are not root (cannot install or start dockerd)"
  exit 2
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1; then
  ti=$EPOCHREALTIME
  echo "engine: installing docker.io mmdebstrap iptables from Debian's archive"
  export DEBIAN_FRONTEND=noninteractive
  if ! { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends docker.io mmdebstrap iptables; } >"/tmp/mpwire-engine-install.log" 2>&1; then
    tail -n 20 /tmp/mpwire-engine-install.log
    echo "engine: unavailable: apt-get install docker.io failed (log: /tmp/mpwire-engine-install.log)"
    exit 2
  fi
  echo "engine: installed in $(since "$ti")"
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "engine: unavailable: dockerd not found after install"
  exit 2
fi

mkdir -p "$STATE"
ts=$EPOCHREALTIME
# setsid: dockerd leaves the caller's process group, so a test runner killing its group does not kill it
setsid dockerd >"$STATE/dockerd.log" 2>&1 < /dev/null &
pid=$!
echo "$pid" >"$STATE/dockerd.pid"
for _ in $(seq 1 300); do
  if answers; then
    echo "engine: started $pid in $(since "$ts") (log: $STATE/dockerd.log; total $(since "$t0"))"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
tail -n 20 "$STATE/dockerd.log"
kill "$pid" 2>/dev/null
rm -f "$STATE/dockerd.pid"
echo "engine: unavailable: dockerd did not come up (log: $STATE/dockerd.log)"
exit 2
