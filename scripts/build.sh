#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set-up (scripts/setup.sh), then configures and builds the MinGW-w64 tree in build/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/setup.sh
[ -f build/CMakeCache.txt ] || cmake --preset mingw >build/configure.log 2>&1 \
    || { cat build/configure.log; exit 1; }
cmake --build --preset mingw
