#!/usr/bin/env bash
# Build a minimal image (FROM scratch, no registry) around one CPython interpreter of this machine.
#
#   bash docker/python-image.sh PYTHON TAG [--force]
#
# PYTHON is an interpreter path as found by src/bridge/find-pythons.ts (pyenv or ~/.cache/mpwire).
# Its installation prefix is copied to the SAME absolute path inside the image (pyenv's binaries
# carry an absolute RUNPATH and the cache builds an absolute PT_INTERP, so both stay valid), without
# site-packages, tests, IDLE/Tk, ensurepip, headers and static libraries; plus every shared library
# that `ldd` lists for the binary and its extension modules, at their host paths, and libgcc_s (which
# glibc loads at run time); plus
# /usr/local/bin/python -> the interpreter, an empty /tmp, PATH and LD_LIBRARY_PATH. Imported with
# `docker import` (no Dockerfile, no base image) as an untagged image, which gets TAG only once its
# smoke test passed (a failed one is removed). Idempotent: an image with TAG whose label
# mpwire.recipe matches this script's hash and mpwire.python this interpreter is kept.
set -euo pipefail
py="${1:?usage: python-image.sh PYTHON TAG [--force]}"
tag="${2:?usage: python-image.sh PYTHON TAG [--force]}"
force="${3:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
recipe="$(sha256sum "$here/python-image.sh" | cut -c1-16)"
exe="$(readlink -f "$py")"
start=$EPOCHREALTIME

if [[ "$force" != --force ]] && have="$(docker image inspect -f '{{index .Config.Labels "mpwire.recipe"}} {{index .Config.Labels "mpwire.python"}}' "$tag" 2>/dev/null)" \
  && [[ "$have" == "$recipe $exe" ]]; then
  echo "image $tag: cached"
  exit 0
fi

# the image this build replaces, removed afterwards unless a container still uses it
old="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
# prefix = the directory above bin/
prefix="$(dirname "$(dirname "$exe")")"
[[ -d "$prefix/lib" ]] || { echo "image $tag: no lib/ under $prefix" >&2; exit 1; }
stage="$(mktemp -d /tmp/mpwire-image.XXXXXX)"
trap 'rm -rf "$stage"' EXIT

# shared libraries outside the prefix, for the binary, libpython and every extension module
{
  echo "$exe"
  find "$prefix/lib" -maxdepth 1 -name 'libpython*.so*' -type f
  find "$prefix/lib" -path '*/lib-dynload/*.so' -type f
} | while read -r f; do ldd "$f" 2>/dev/null || true; done \
  | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u \
  | while read -r lib; do
      case "$lib" in "$prefix"/*) continue ;; esac
      [[ -e "$lib" ]] || continue
      mkdir -p "$stage$(dirname "$lib")"
      cp -L "$lib" "$stage$lib"
    done
# glibc dlopen()s libgcc_s.so.1 to unwind a thread in pthread_exit(), which CPython <= 3.8 calls
# whenever a thread ends (a manager server's per-connection threads). `ldd` cannot see a dlopen, so
# copy it explicitly from wherever this glibc looks for it.
for lib in /lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 /lib64/libgcc_s.so.1; do
  if [[ -e "$lib" && ! -e "$stage$lib" ]]; then
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  fi
done
# the dynamic loader the binary asks for, when it lives outside the prefix
interp="$(readelf -l "$exe" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
if [[ -n "$interp" && "$interp" != "$prefix"/* && ! -e "$stage$interp" ]]; then
  mkdir -p "$stage$(dirname "$interp")"
  cp -L "$interp" "$stage$interp"
fi
mkdir -p "$stage/usr/local/bin" "$stage/tmp"
chmod 1777 "$stage/tmp"
ln -s "$exe" "$stage/usr/local/bin/python"

rel="${prefix#/}"
# untagged until the smoke test below passes: TAG with these labels means "cached" to the next run
id="$(tar -C / -cf - \
  --exclude="$rel/lib/python*/site-packages" --exclude="$rel/lib/python*/test" \
  --exclude="$rel/lib/python*/idlelib" --exclude="$rel/lib/python*/tkinter" --exclude="$rel/lib/python*/lib-tk" \
  --exclude="$rel/lib/python*/turtledemo" --exclude="$rel/lib/python*/ensurepip" \
  --exclude="$rel/lib/python*/lib2to3" --exclude="$rel/lib/python*/config-*" \
  --exclude="$rel/lib/python*/*/test" --exclude="$rel/lib/python*/*/tests" \
  --exclude="$rel/lib/*.a" --exclude="$rel/lib/pkgconfig" --exclude="$rel/include" --exclude="$rel/share" \
  "$rel" -C "$stage" . \
  | docker import \
      --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" \
      --change "ENV LD_LIBRARY_PATH=$prefix/lib" \
      --change "ENV PYTHONDONTWRITEBYTECODE=1" \
      --change "LABEL mpwire.recipe=$recipe" \
      --change "LABEL mpwire.python=$exe" \
      --change 'CMD ["python"]' \
      -)"

# smoke test: the interpreter starts and imports what the peers need
if ! got="$(timeout 60 docker run --rm --network none "$id" python -c 'import sys, hashlib, hmac, json, pickle, threading, multiprocessing.connection; t = threading.Thread(target=len, args=((),)); t.start(); t.join(); sys.stdout.write("%d.%d.%d" % sys.version_info[:3])')"; then
  docker rmi "$id" >/dev/null 2>&1 || true
  echo "image $tag: smoke test of the image built from $exe failed; image removed, $tag left as it was" >&2
  exit 1
fi
docker tag "$id" "$tag"
size="$(docker image inspect -f '{{.Size}}' "$tag")"
new="$(docker image inspect -f '{{.Id}}' "$tag")"
if [[ -n "$old" && "$old" != "$new" ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
printf 'image %s: built from %s (Python %s, %d MB) in %s s\n' "$tag" "$exe" "$got" $((size / 1000000)) \
  "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
