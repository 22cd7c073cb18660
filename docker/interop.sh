#!/usr/bin/env bash
# `make interop-docker`: the container interop suite with its own engine.
#   1. docker/engine-up.sh: use the running engine, or (root) install docker.io and start dockerd
#   2. npx vitest run --project interop interop/containers (builds or reuses the images, prints the matrix)
#   3. docker/engine-down.sh, only if step 1 started dockerd
# Where no engine can be had, the suite itself reports why (a skipped test; a failure when CI=true).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
up="$(bash docker/engine-up.sh)"
echo "$up"
rc=0
npx vitest run --project interop interop/containers || rc=$?
if grep -q '^engine: started' <<<"$up"; then bash docker/engine-down.sh; fi
exit "$rc"
