#!/usr/bin/env bash
# Build an image of Debian's own python3 (a distro-patched CPython, as users run it) without any
# registry: a minbase rootfs made by mmdebstrap from the Debian mirror apt already uses here, then
# `docker import`.
#
#   bash docker/debian-image.sh TAG [--force]
#
# The suite is this machine's release (VERSION_CODENAME of /etc/os-release, e.g. bookworm); the
# mirror is apt's own deb822 sources file when there is one. The image is imported untagged and gets
# TAG only once its smoke test passed (a failed one is removed). Idempotent: an image with TAG whose
# label mpwire.recipe matches this script's hash is kept.
set -euo pipefail
tag="${1:?usage: debian-image.sh TAG [--force]}"
force="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
recipe="$(sha256sum "$here/debian-image.sh" | cut -c1-16)"
start=$EPOCHREALTIME

if [[ "$force" != --force ]] && [[ "$(docker image inspect -f '{{index .Config.Labels "mpwire.recipe"}}' "$tag" 2>/dev/null)" == "$recipe" ]]; then
  echo "image $tag: cached"
  exit 0
fi
# the image this build replaces, removed afterwards unless a container still uses it
old="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
if ! command -v mmdebstrap >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]]; then
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  else
    echo "image $tag: mmdebstrap missing (apt-get install mmdebstrap as root)" >&2
    exit 1
  fi
fi
. /etc/os-release
suite="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"
mirror=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [[ -s "$f" ]] && grep -qE '^(Types:.*\bdeb\b|deb )' "$f"; then mirror="$f"; break; fi
done
log="$(mktemp /tmp/mpwire-mmdebstrap.XXXXXX.log)"
# untagged until the smoke test below passes: TAG with this label means "cached" to the next run
if ! id="$(timeout 600 mmdebstrap --variant=minbase --include=python3 --format=tar \
  --customize-hook='ln -sf /usr/bin/python3 "$1/usr/local/bin/python"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
  "$suite" - ${mirror:+"$mirror"} 2>"$log" \
  | docker import \
      --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      --change "ENV PYTHONDONTWRITEBYTECODE=1" \
      --change "LABEL mpwire.recipe=$recipe" \
      --change "LABEL mpwire.python=/usr/bin/python3" \
      --change 'CMD ["python3"]' \
      -)"; then
  tail -n 30 "$log" >&2
  echo "image $tag: mmdebstrap or docker import failed (log: $log)" >&2
  exit 1
fi
rm -f "$log"
if ! got="$(timeout 60 docker run --rm --network none "$id" python -c 'import sys, hashlib, hmac, json, pickle, multiprocessing.connection; sys.stdout.write("%d.%d.%d" % sys.version_info[:3])')"; then
  docker rmi "$id" >/dev/null 2>&1 || true
  echo "image $tag: smoke test failed; image removed, $tag left as it was" >&2
  exit 1
fi
docker tag "$id" "$tag"
size="$(docker image inspect -f '{{.Size}}' "$tag")"
new="$(docker image inspect -f '{{.Id}}' "$tag")"
if [[ -n "$old" && "$old" != "$new" ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
printf 'image %s: built with mmdebstrap %s (Debian python3 %s, %d MB) in %s s\n' "$tag" "$suite" "$got" $((size / 1000000)) \
  "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
