#!/usr/bin/env bash
# Stop the dockerd that docker/engine-up.sh started (pid in $MPWIRE_DOCKERD_DIR/dockerd.pid), and
# nothing else: an engine that was already running, or started by someone else, is left alone.
set -uo pipefail
STATE="${MPWIRE_DOCKERD_DIR:-/tmp/mpwire-dockerd}"
pidfile="$STATE/dockerd.pid"
if [[ ! -f "$pidfile" ]]; then
  echo "engine: not started by engine-up.sh, left alone"
  exit 0
fi
pid="$(cat "$pidfile")"
if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == dockerd ]]; then
  kill -TERM "$pid"
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "engine: dockerd $pid still running after 20 s, killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  echo "engine: stopped dockerd $pid"
else
  echo "engine: dockerd $pid from the pidfile is gone"
fi
rm -f "$pidfile"
