#!/usr/bin/env bash
# Builds bcryptprimitives.dll from bcryptprimitives.c into the folder given,
# with the mingw-w64 cross compiler.
set -euo pipefail
out=${1:?usage: build-dll.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  echo "build-dll.sh: x86_64-w64-mingw32-gcc not found; install gcc-mingw-w64-x86-64" >&2
  exit 1
fi
x86_64-w64-mingw32-gcc -shared -O2 -s -Wall -Werror \
  -o "$out/bcryptprimitives.dll" "$here/bcryptprimitives.c" -ladvapi32
