#!/usr/bin/env bash
# Build (or find cached) every image of the container interop suite, outside the suite:
# mpwire-py:<version> for each interpreter that src/bridge/find-pythons.ts finds in pyenv or in
# ~/.cache/mpwire/cpython, and mpwire-py:debian (Debian's python3). Three builds at a time.
# The suite (interop/containers/engine.ts) builds the same tags itself; this is for `make` and users.
#
#   bash docker/build-images.sh [--force]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
force="${1:-}"
start=$EPOCHREALTIME
[[ -f dist/bridge/find-pythons.js ]] || npx tsc -p tsconfig.build.json
list="$(node --input-type=module -e '
  const { findPythons } = await import(process.argv[1]);
  for (const p of await findPythons()) if (p.source === "pyenv" || p.source === "cache") console.log(`${p.version}\t${p.path}`);
' "$PWD/dist/bridge/find-pythons.js")"
rc=0
{
  echo "debian"
  printf '%s\n' "$list"
} | xargs -P 3 -I{} bash -c '
  line="$1"; force="$2"
  if [[ "$line" == debian ]]; then exec bash docker/debian-image.sh mpwire-py:debian $force; fi
  v="${line%%$'"'"'\t'"'"'*}"; p="${line#*$'"'"'\t'"'"'}"
  exec bash docker/python-image.sh "$p" "mpwire-py:$v" $force
' _ {} "$force" || rc=$?
printf 'images: %d interpreters + debian in %s s\n' "$(printf '%s\n' "$list" | grep -c .)" "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
exit "$rc"
