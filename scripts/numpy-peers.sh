#!/usr/bin/env bash
# NumPy peers for interop/numpy and bench/numpy: NumPy 1.x for Debian's own /usr/bin/python3
# (python3-numpy). Installs it with apt when we are root and it is missing; quiet and idempotent.
# Never fails the caller: when it cannot install, it says why and exits 0 (interop/numpy then fails
# loudly under CI=true if no interpreter at all imports numpy).
set -u
PY=/usr/bin/python3
have() { [[ -x "$PY" ]] && "$PY" -c 'import numpy' >/dev/null 2>&1; }
version() { "$PY" -c 'import numpy; print(numpy.__version__)' 2>/dev/null; }

if have; then
  echo "numpy-peers: $PY has NumPy $(version)"
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "numpy-peers: note: $PY has no numpy and we are not root; run: sudo apt-get install -y python3-numpy"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "numpy-peers: note: no apt-get here; install NumPy for $PY by other means"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
if ! apt-get install -y -q python3-numpy >"$log" 2>&1; then
  # The package lists may be missing or stale on a fresh machine: update once and retry.
  apt-get update -q >>"$log" 2>&1 || true
  apt-get install -y -q python3-numpy >>"$log" 2>&1 || true
fi
if have; then
  echo "numpy-peers: installed python3-numpy: $PY has NumPy $(version)"
else
  echo "numpy-peers: note: could not install python3-numpy with apt (last lines below); NumPy interop needs it"
  tail -n 5 "$log" | sed 's/^/  apt: /'
fi
rm -f "$log"
exit 0
