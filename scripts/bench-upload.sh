#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The upload benchmark (docs/performance-uploads.md): a 1 GiB upload to the loopback BITS upload
# server (tests/servers/http_server.py --upload-dir, i.e. bits_upload.py), by openbits and by
# curl sending the same packets: Create-Session, then the same fragments openbits sends (256 KiB,
# doubling up to 8 MiB, src/core/upload.h), each a BITS_POST on one keep-alive connection (one
# curl process, --next between fragments), then Close-Session. What curl reaches is what the
# server can receive: the ceiling openbits is compared with.
#
# It builds openbits.dll, then bench/bench_upload.c straight with MinGW-w64 into
# build/bench-up-bin next to a copy of the DLL (no CMake change), makes the 1 GiB file (random
# bytes, once) and its fragments for curl in the working directory, starts the server there, and
# makes a fresh Wine prefix in build/bench-up-prefix (openbits is loaded in process by the
# benchmark, nothing is registered). Each round runs curl then openbits; every upload is checked
# for size, the first round's byte for byte. The server and the prefix's wineserver are stopped
# on exit, and the working directory is removed.
#
# CPU time: curl's is its processes' user + system time (bash's `time`); openbits' is the
# benchmark process's own (GetProcessTimes) plus what the rest of the prefix used meanwhile
# (wineserver, from /proc); the server's is read from /proc for every run.
#
#   scripts/bench-upload.sh [--rounds N] [--dir DIR] [--dll PATH]
#
#   --dir DIR   the working directory (file, fragments, the server's uploads): default
#               build/bench-upload, on the disk; a directory in /dev/shm takes the disk out of it.
#   --dll PATH  benchmark another openbits.dll instead of build/bin's.
#
# Raw lines go to build/bench-upload-raw.txt, the summary (medians) to build/bench-upload-results.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

rounds=3
work=
dll=
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --dir) work=$(realpath -m "$2")/openbits-bench-upload; shift 2 ;;
        --dll) dll=$(realpath "$2"); shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--dir DIR] [--dll PATH]" >&2; exit 2 ;;
    esac
done

build=$top/build
work=${work:-$build/bench-upload}
bin=$build/bench-up-bin
raw=$build/bench-upload-raw.txt
results=$build/bench-upload-results.txt
size=$((1024 * 1024 * 1024))
protocol='{7df0354d-249b-430f-820d-3d2a9bef4931}'

say() { echo "bench-upload: $*" >&2; }
die() { say "$*"; exit 1; }

# --- build --------------------------------------------------------------------------------------
bash scripts/build.sh >/dev/null
say "building build/bench-up-bin/bench_upload.exe"
rm -rf "$bin"
mkdir -p "$bin"
x86_64-w64-mingw32-gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -municode \
    -DCOBJMACROS -DCONST_VTABLE -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0600 -static-libgcc \
    -I"$build/generated" bench/bench_upload.c "$build/lib/libopenbits_guids.a" -lole32 -luuid \
    -o "$bin/bench_upload.exe"
cp "${dll:-$build/bin/openbits.dll}" "$bin/openbits.dll"

# --- the file and curl's fragments ------------------------------------------------------------------
mkdir -p "$work/fragments" "$work/server/uploads"
if [ "$(stat -c %s "$work/upload.bin" 2>/dev/null)" != "$size" ]; then
    say "making the 1 GiB file in $work (once)"
    head -c $size /dev/urandom >"$work/upload.bin.tmp"
    mv "$work/upload.bin.tmp" "$work/upload.bin"
fi
# The fragments openbits sends (UPLOAD_FRAGMENT_FIRST doubling to UPLOAD_FRAGMENT_MAX), as files,
# and a list "first last path" of them.
python3 - "$work" $size <<'EOF'
import os, sys
work, size = sys.argv[1], int(sys.argv[2])
first, length, n = 0, 256 * 1024, 0
with open(os.path.join(work, "upload.bin"), "rb") as src, open(os.path.join(work, "fragments.txt"), "w") as out:
    while first < size:
        count = min(length, size - first)
        path = os.path.join(work, "fragments", "%04d" % n)
        if not os.path.exists(path) or os.path.getsize(path) != count:
            src.seek(first)
            with open(path, "wb") as dst:
                dst.write(src.read(count))
        out.write("%d %d %s\n" % (first, first + count - 1, path))
        first += count
        length = min(length * 2, 8 * 1024 * 1024)
        n += 1
EOF

# --- the server and the Wine prefix, stopped on exit -------------------------------------------------
server_pid=
export WINEPREFIX=$build/bench-up-prefix WINEDEBUG=-all
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    wineserver -k 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

rm -f "$work/port"
python3 tests/servers/http_server.py --port-file "$work/port" --upload-dir "$work/server/uploads" \
    --ignore-stdin </dev/null &
server_pid=$!
for _ in $(seq 200); do [ -f "$work/port" ] && break; sleep 0.05; done
[ -f "$work/port" ] || die "the upload server did not start"
port=$(head -n1 "$work/port")
base=http://127.0.0.1:$port
say "upload server (python3 tests/servers/http_server.py) on $base (pid $server_pid)"

say "creating a fresh Wine prefix in build/bench-up-prefix"
rm -rf "$WINEPREFIX"
WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i >/dev/null 2>&1
wineserver -w
wineserver -p
wine cmd /c exit >/dev/null 2>&1 </dev/null

# --- measuring ---------------------------------------------------------------------------------------
clock_ticks=$(getconf CLK_TCK)

prefix_ticks() {     # user + system ticks of the prefix's processes but the benchmark's
    local total=0 pid stat rest
    for pid in /proc/[0-9]*; do
        pid=${pid#/proc/}
        grep -qzxF "WINEPREFIX=$WINEPREFIX" "/proc/$pid/environ" 2>/dev/null || continue
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        case $stat in *bench_upload*) continue ;; esac
        rest=${stat##*) }
        set -- $rest
        total=$((total + ${12} + ${13}))
    done
    echo $total
}

server_ticks() {
    local rest
    rest=$(cut -d')' -f2- "/proc/$server_pid/stat")
    set -- $rest
    echo $((${12} + ${13}))
}

ticks_to_s() { awk -v t="$1" -v hz="$clock_ticks" 'BEGIN { printf "%.3f", t / hz }'; }

check_upload() {     # name: the server's copy is whole (byte for byte in the first round)
    local path=$work/server/uploads/$1
    [ "$(stat -c %s "$path" 2>/dev/null)" = "$size" ] || die "$path: wrong size"
    [ "$round" != 1 ] || cmp -s "$work/upload.bin" "$path" || die "$path differs from the original"
    rm -f "$path"
}

# One line per run: tool wall_s user_s sys_s rest_s server_s
record() { echo "$*" | tee -a "$raw" >&2; }

run_curl() {
    local url=$base/upload/curl.bin config=$work/curl.cfg times s0 s1 session first last path
    s0=$(server_ticks)
    times=$( { TIMEFORMAT='%R %U %S'; time {
        session=$(curl -sS --fail -D - -o /dev/null -X BITS_POST -H "BITS-Packet-Type: Create-Session" \
                      -H "BITS-Supported-Protocols: $protocol" "$url" | tr -d '\r' \
                  | sed -n 's/^BITS-Session-Id: //Ip')
        {
            while read -r first last path; do
                echo "url = \"$url\""
                echo "request = \"BITS_POST\""
                echo "header = \"BITS-Packet-Type: Fragment\""
                echo "header = \"BITS-Session-Id: $session\""
                echo "header = \"Content-Range: bytes $first-$last/$size\""
                [ "$first" != 0 ] || echo "header = \"Content-Name: upload.bin\""
                echo "header = \"Content-Type:\""
                echo "header = \"Expect:\""
                echo "data-binary = \"@$path\""
                echo "output = \"/dev/null\""
                echo "fail"
                echo "next"
            done <"$work/fragments.txt"
            echo "url = \"$url\""
            echo "request = \"BITS_POST\""
            echo "header = \"BITS-Packet-Type: Close-Session\""
            echo "header = \"BITS-Session-Id: $session\""
            echo "output = \"/dev/null\""
        } >"$config"
        curl -sS -K "$config"
    }; } 2>&1 )
    s1=$(server_ticks)
    check_upload curl.bin
    record "curl $times 0 $(ticks_to_s $((s1 - s0)))"
}

run_openbits() {
    local line before after s0 s1
    before=$(prefix_ticks)
    s0=$(server_ticks)
    line=$(wine "$bin/bench_upload.exe" --url "$base/upload/openbits.bin" --file "Z:${work//\//\\}\\upload.bin" \
               </dev/null | tr -d '\r' | tail -n1) || die "bench_upload.exe failed"
    s1=$(server_ticks)
    after=$(prefix_ticks)
    case $line in result*) ;; *) die "bench_upload.exe said: $line" ;; esac
    check_upload openbits.bin
    eval "$(echo "${line#result }" | tr ' ' '\n' | sed 's/^/local r_/')"
    record "openbits $r_wall $r_cpu_user $r_cpu_sys $(ticks_to_s $((after - before))) $(ticks_to_s $((s1 - s0)))"
}

: >"$raw"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores," \
         "$(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
    echo "software: $(wine --version), $(python3 --version), $(curl --version | head -n1 | cut -d' ' -f1-2)"
    echo "openbits.dll: ${dll:-build/bin/openbits.dll (scripts/build.sh)}; working directory $work"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$results" >&2
for round in $(seq "$rounds"); do
    say "round $round of $rounds (load $(cut -d' ' -f1 /proc/loadavg))"
    run_curl
    run_openbits
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results" >&2

awk -v bytes=$size '
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    if (!($1 in seen)) { seen[$1] = 1; order[++keys] = $1 }
    wall[$1] = wall[$1] " " $2; cpu[$1] = cpu[$1] " " ($3 + $4); rest[$1] = rest[$1] " " $5; srv[$1] = srv[$1] " " $6
}
END {
    mib = bytes / 1048576
    printf "\n%-9s %8s %8s %7s %12s %12s %12s %14s\n", "tool", "wall s", "MiB/s", "x curl", "client ms/MiB",
           "rest ms/MiB", "all ms/MiB", "server ms/MiB"
    for (k = 1; k <= keys; k++) {
        t = order[k]; w = median(wall[t]); c = median(cpu[t]); o = median(rest[t]); s = median(srv[t])
        if (t == "curl") cw = w
        printf "%-9s %8.3f %8.1f %7.2f %12.3f %12.3f %12.3f %14.3f\n", t, w, mib / w, cw / w, c * 1000 / mib,
               o * 1000 / mib, (c + o) * 1000 / mib, s * 1000 / mib
    }
}' "$raw" | tee -a "$results"
