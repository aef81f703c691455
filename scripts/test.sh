#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite from nothing: set-up, the MinGW-w64 build, every test under Wine in the
# build's private prefix, then the platform-free core natively under ASan and UBSan and the
# loopback HTTP test server's self-test (tests/servers/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh
ctest --preset mingw --verbose --parallel 2

[ -f build/native/CMakeCache.txt ] || cmake --preset native >build/native-configure.log 2>&1 \
    || { cat build/native-configure.log; exit 1; }
cmake --build --preset native
ctest --preset native --verbose
