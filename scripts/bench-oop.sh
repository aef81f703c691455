#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The out-of-process benchmark (docs/performance.md): GetState, GetJob and CreateJob across the
# process boundary, Wine's own BITS against openbits in its DLL surrogate, in one fresh private
# prefix (build/bench-oop-prefix): bench_oop.exe runs first with nothing registered (Wine's BITS
# service answers), then the prefix restarts, regsvr32 registers openbits.dll and it runs again.
# Arguments go to bench_oop.exe (--jobs N, default 1000; --calls N, default 2000). The output is
# also kept in build/bench-oop-results.txt, with the machine's load average before and after.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh >/dev/null
cmake --build --preset mingw --target bench_oop >/dev/null

export WINEPREFIX="$top/build/bench-oop-prefix" WINEDEBUG=-all
trap 'wineserver -k 2>/dev/null || true' EXIT
rm -rf "$WINEPREFIX"
echo "bench-oop: creating a fresh Wine prefix in build/bench-oop-prefix"
WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i >/dev/null 2>&1
wineserver -w

results="$top/build/bench-oop-results.txt"
raw="$top/build/bench-oop-raw.txt"
# Wine gives the surrogate the Unix stderr of its client: never a pipe of ours.
stderr_log="$top/build/bench-oop-stderr.txt"
: >"$raw"
{
    echo "bench-oop: $(date -u '+%Y-%m-%d %H:%M UTC'), $(wine --version)," \
         "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores"
    echo "bench-oop: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$results"

wine "$top/build/bin/bench_oop.exe" wine "$@" >>"$raw" 2>>"$stderr_log"
wineserver -k
wineserver -w
wine regsvr32 /s "$top/build/bin/openbits.dll"
wine "$top/build/bin/bench_oop.exe" openbits "$@" >>"$raw" 2>>"$stderr_log"
wine regsvr32 /s /u "$top/build/bin/openbits.dll"

{
    echo "bench-oop: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    grep -v '^RESULT' "$raw" || true
    echo
    echo "| Operation | Jobs queued | Wine BITS median (us) | Wine BITS p99 (us) | openbits median (us) | openbits p99 (us) | openbits / Wine |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    awk '/^RESULT/ { key = $3 " " $4; v[$2 " " key] = $5; p[$2 " " key] = $6; if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
         END { for (i = 0; i < n; i++) { k = order[i]; split(k, a, " ");
                 w = v["wine " k]; o = v["openbits " k];
                 printf "| %s | %s | %s | %s | %s | %s | %s |\n", a[1], a[2], w, p["wine " k], o, p["openbits " k],
                        (w > 0 && o != "") ? sprintf("%.2f", o / w) : "n/m" } }' "$raw"
} | tee -a "$results"
