#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The manager benchmark (docs/performance.md): builds openbits.dll and bench_manager.exe, makes a
# fresh private Wine prefix in which openbits is NOT registered (so Wine's own BITS answers
# CoCreateInstance), and runs the benchmark there: openbits in process, then Wine's BITS out of
# process. Arguments go to bench_manager.exe (--max-jobs, default 100000; --wine-max-jobs, default
# 10000; --memory-jobs, default 10000; --no-wine). The output is also kept in
# build/bench-results.txt. The machine's load average is printed before and after: the figures
# that cross into wineserver move with it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh >/dev/null
cmake --build --preset mingw --target bench_manager >/dev/null

export WINEPREFIX="$top/build/bench-prefix" WINEDEBUG=-all
trap 'wineserver -k 2>/dev/null || true' EXIT
rm -rf "$WINEPREFIX"
echo "bench: creating a fresh Wine prefix in build/bench-prefix (openbits is not registered there)"
WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i >/dev/null 2>&1
wineserver -w

{
    echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(wine --version)," \
         "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores"
    echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    wine "$top/build/bin/bench_manager.exe" "$@"
    echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$top/build/bench-results.txt"
