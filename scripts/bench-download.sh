#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The download benchmark (docs/performance-downloads.md): openbits, curl and Wine's own BITS
# fetch the same files from a loopback nginx in the same run.
#
#   (a) one 1 GiB file;
#   (b) 32 files of 32 MiB at once (32 jobs; 32 curl processes in parallel).
#
# It builds openbits.dll, then bench/bench_download.c and bench/probe_http.c straight with
# MinGW-w64 into build/bench-dl-bin next to a copy of the DLL (no CMake change, so that nothing
# here touches the build files of other work), generates the files once in build/bench-files,
# starts nginx on 127.0.0.1 and a free port with a private configuration in build/bench-nginx,
# and makes a fresh Wine prefix in build/bench-dl-prefix in which openbits is NOT registered (so
# CoCreateInstance reaches Wine's BITS, and openbits is loaded in process by the benchmark
# itself). Each round runs curl, openbits (once per priority) and Wine's BITS in turn on (a) and
# then (b); every download is checked for size and the first round's also byte for byte. nginx
# and the prefix's wineserver are stopped on exit.
#
# CPU time: curl's is the user + system time of its processes (bash's `time`, which counts the
# waited-for children); openbits' is the benchmark process's own (GetProcessTimes: the workers
# and WinHTTP run there); and for every run the CPU used meanwhile by the rest of the prefix is
# read from /proc (wineserver, and for Wine's BITS the svchost.exe running qmgr).
#
#   scripts/bench-download.sh [--rounds N] [--priorities "foreground normal"] [--no-wine]
#                             [--only single|multi] [--out DIR] [--dll PATH] [--pin CPU] [--probe]
#
#   --out DIR   where the downloads go: DIR/openbits-bench-out (default build/bench-out; build/ is
#               on the disk, /dev/shm takes the disk out of the picture);
#   --dll PATH  benchmark another openbits.dll (an optimised build, say) instead of build/bin's;
#   --pin CPU   run the clients (curl; wineserver and every Wine process) on that one CPU only
#               (taskset), nginx anywhere: a Wine program talks to wineserver all the time, and on
#               some virtual machines a wake-up on the other CPU costs far more than a switch on
#               the same one (docs/performance-downloads.md);
#   --probe     also time bench/probe_http.c's ways of reading the 1 GiB body under Wine
#               (WinHTTP as src/transport_http.c reads, larger reads, plain Winsock), --rounds
#               times each.
#
# Raw lines go to build/bench-download-raw.txt, the summary (medians over the rounds) to
# build/bench-download-results.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

rounds=3
priorities="foreground normal"
with_wine=1
only=
out=
dll=
pin=()
probe=0
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --priorities) priorities=$2; shift 2 ;;
        --no-wine) with_wine=0; shift ;;
        --only) only=$2; shift 2 ;;
        --out) out=$(realpath -m "$2")/openbits-bench-out; shift 2 ;;
        --dll) dll=$(realpath "$2"); shift 2 ;;
        --pin) pin=(taskset -c "$2"); shift 2 ;;
        --probe) probe=1; shift ;;
        *) echo "usage: $0 [--rounds N] [--priorities LIST] [--no-wine] [--only single|multi] [--out DIR]" \
                "[--dll PATH] [--pin CPU] [--probe]" >&2
           exit 2 ;;
    esac
done

build=$top/build
files=$build/bench-files
out=${out:-$build/bench-out}
bin=$build/bench-dl-bin          # bench_download.exe next to the openbits.dll under test
raw=$build/bench-download-raw.txt
results=$build/bench-download-results.txt
single_size=$((1024 * 1024 * 1024))
multi_size=$((32 * 1024 * 1024))
multi_count=32
multi_names=()
for i in $(seq -w 1 $multi_count); do multi_names+=("part$i.bin"); done

say() { echo "bench-download: $*" >&2; }
die() { say "$*"; exit 1; }

# --- build ------------------------------------------------------------------------------------
bash scripts/build.sh >/dev/null
say "building build/bench-dl-bin/bench_download.exe and probe_http.exe"
rm -rf "$bin"
mkdir -p "$bin"
cflags=(-O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -municode
        -DCOBJMACROS -DCONST_VTABLE -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0600 -static-libgcc)
x86_64-w64-mingw32-gcc "${cflags[@]}" -I"$build/generated" bench/bench_download.c \
    "$build/lib/libopenbits_guids.a" -lole32 -luuid -o "$bin/bench_download.exe"
x86_64-w64-mingw32-gcc "${cflags[@]}" bench/probe_http.c -lwinhttp -lws2_32 -o "$bin/probe_http.exe"
cp "${dll:-$build/bin/openbits.dll}" "$bin/openbits.dll"

# --- the files ----------------------------------------------------------------------------------
make_file() {        # name size: random bytes, made once
    local path=$files/$1
    [ -f "$path" ] && [ "$(stat -c %s "$path")" = "$2" ] && return 0
    head -c "$2" /dev/urandom >"$path.tmp"
    mv "$path.tmp" "$path"
}
mkdir -p "$files"
say "generating the files in build/bench-files (once)"
make_file big.bin $single_size
for name in "${multi_names[@]}"; do make_file "$name" $multi_size; done

# --- nginx and the Wine prefix, stopped on exit --------------------------------------------------
nginx_dir=$build/bench-nginx
nginx_pid=
export WINEPREFIX=$build/bench-dl-prefix WINEDEBUG=-all
cleanup() {
    if [ -n "$nginx_pid" ]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    wineserver -k 2>/dev/null || true
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf "$nginx_dir"
mkdir -p "$nginx_dir"
cat >"$nginx_dir/nginx.conf" <<EOF
# Written by scripts/bench-download.sh: static files from build/bench-files on 127.0.0.1:$port.
user $(id -un);
worker_processes auto;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    default_type application/octet-stream;
    client_body_temp_path $nginx_dir/body;
    proxy_temp_path $nginx_dir/proxy;
    fastcgi_temp_path $nginx_dir/fastcgi;
    uwsgi_temp_path $nginx_dir/uwsgi;
    scgi_temp_path $nginx_dir/scgi;
    server {
        listen 127.0.0.1:$port;
        root $files;
    }
}
EOF
nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" -g 'daemon off;' &
nginx_pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do
    curl -sf -o /dev/null -r 0-0 "$base/big.bin" && break
    kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(cat "$nginx_dir/error.log")"
    sleep 0.1
done
curl -sf -o /dev/null -r 0-0 "$base/big.bin" || die "nginx does not answer on $base"
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') on $base (pid $nginx_pid)"

say "creating a fresh Wine prefix in build/bench-dl-prefix (openbits is not registered there)"
rm -rf "$WINEPREFIX"
WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i >/dev/null 2>&1
wineserver -w
"${pin[@]}" wineserver -p       # persistent: one wineserver for the whole run, measured by /proc
# The prefix's background processes (services.exe, explorer.exe, ...) start with the first program
# and keep its standard output: start them here, away from the pipes that read the benchmark's.
"${pin[@]}" wine cmd /c exit >/dev/null 2>&1 </dev/null

# --- measuring ------------------------------------------------------------------------------------
clock_ticks=$(getconf CLK_TCK)

# The user + system clock ticks of every live process of our prefix except the benchmark itself.
prefix_ticks() {
    local total=0 pid stat rest
    for pid in /proc/[0-9]*; do
        pid=${pid#/proc/}
        grep -qzxF "WINEPREFIX=$WINEPREFIX" "/proc/$pid/environ" 2>/dev/null || continue
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        case $stat in *bench_download*) continue ;; esac
        rest=${stat##*) }                   # fields from 3 on (the name may hold spaces)
        set -- $rest
        total=$((total + ${12} + ${13}))   # utime, stime: fields 14 and 15
    done
    echo $total
}

ticks_to_s() { awk -v t="$1" -v hz="$clock_ticks" 'BEGIN { printf "%.3f", t / hz }'; }

winpath() { local p=$1; echo "Z:${p//\//\\}"; }

check_sizes() {      # dir size names...
    local dir=$1 size=$2 name
    shift 2
    for name in "$@"; do
        [ "$(stat -c %s "$dir/$name" 2>/dev/null)" = "$size" ] || die "$dir/$name: wrong size"
    done
}

check_bytes() {      # dir names...: the first round compares every byte
    local dir=$1 name
    shift
    [ "$round" = 1 ] || return 0
    for name in "$@"; do cmp -s "$files/$name" "$dir/$name" || die "$dir/$name differs from the original"; done
}

fresh_dir() { rm -rf "$1"; mkdir -p "$1"; sync; }

# One line per run: scenario tool priority wall_s user_s sys_s rest_s (the rest of the prefix)
record() { echo "$*" | tee -a "$raw" >&2; }

run_curl() {         # scenario size names...: curl's processes are all its CPU
    local scenario=$1 size=$2 dir=$out/curl times name
    shift 2
    fresh_dir "$dir"
    times=$( { TIMEFORMAT='%R %U %S'; time {
        for name in "$@"; do "${pin[@]}" curl -sS --fail -o "$dir/$name" "$base/$name" & done
        wait
    }; } 2>&1 )
    check_sizes "$dir" "$size" "$@"
    check_bytes "$dir" "$@"
    record "$scenario curl - $times 0"
}

run_bits() {         # scenario impl priority size names...
    local scenario=$1 impl=$2 priority=$3 size=$4 dir=$out/$2 line before after
    shift 4
    fresh_dir "$dir"
    before=$(prefix_ticks)
    line=$("${pin[@]}" wine "$bin/bench_download.exe" --impl "$impl" --priority "$priority" --base "$base" \
               --out "$(winpath "$dir")" --size "$size" "$@" </dev/null | tr -d '\r' | tail -n1) \
        || die "bench_download.exe failed for $impl ($scenario, $priority)"
    after=$(prefix_ticks)
    case $line in result*) ;; *) die "bench_download.exe said: $line" ;; esac
    check_sizes "$dir" "$size" "$@"
    check_bytes "$dir" "$@"
    eval "$(echo "${line#result }" | tr ' ' '\n' | sed 's/^/local r_/')"
    record "$scenario $impl $priority $r_wall $r_cpu_user $r_cpu_sys $(ticks_to_s $((after - before)))"
}

run_scenario() {     # scenario size names...
    local scenario=$1 size=$2 priority
    shift 2
    run_curl "$scenario" "$size" "$@"
    for priority in $priorities; do run_bits "$scenario" openbits "$priority" "$size" "$@"; done
    [ "$with_wine" = 0 ] || run_bits "$scenario" wine foreground "$size" "$@"
}

# Wine's BITS starts its service at the first CoCreateInstance: once here, outside the figures.
if [ "$with_wine" = 1 ]; then
    fresh_dir "$out/wine"
    "${pin[@]}" wine "$bin/bench_download.exe" --impl wine --base "$base" --out "$(winpath "$out/wine")" \
        --size "$multi_size" "${multi_names[0]}" </dev/null >/dev/null || die "Wine's BITS does not download"
fi

: >"$raw"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores," \
         "$(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
    echo "software: $(wine --version), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(curl --version | head -n1 | cut -d' ' -f1-2)"
    echo "openbits.dll: ${dll:-build/bin/openbits.dll (scripts/build.sh)}; downloads to $out;" \
         "clients on ${pin[2]:-any} CPU"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$results" >&2
for round in $(seq "$rounds"); do
    say "round $round of $rounds (load $(cut -d' ' -f1 /proc/loadavg))"
    [ "$only" = multi ] || run_scenario single $single_size big.bin
    [ "$only" = single ] || run_scenario multi $multi_size "${multi_names[@]}"
done
rm -rf "$out"
if [ "$probe" = 1 ]; then
    : >"$build/bench-probe-raw.txt"
    say "probe: one 1 GiB body read in several ways under Wine"
    for round in $(seq "$rounds"); do
        for mode in qda qda-cv async-read async-read-cv sync-read winsock; do
            "${pin[@]}" wine "$bin/probe_http.exe" "$base/big.bin" "$mode" </dev/null | tr -d '\r' | tee -a "$build/bench-probe-raw.txt" >&2
        done
    done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results" >&2

# --- summary: medians over the rounds, against curl --------------------------------------------------
awk -v single=$single_size -v multi=$((multi_size * multi_count)) '
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    key = $1 " " $2 " " $3
    if (!(key in seen)) { seen[key] = 1; order[++keys] = key }
    wall[key] = wall[key] " " $4
    cpu[key] = cpu[key] " " ($5 + $6)
    other[key] = other[key] " " $7
}
END {
    printf "\n%-7s %-9s %-11s %8s %8s %7s %11s %7s %11s %11s %7s\n", "case", "tool", "priority", "wall s",
           "MiB/s", "x curl", "proc ms/MiB", "x curl", "rest ms/MiB", "all ms/MiB", "x curl"
    for (k = 1; k <= keys; k++) {
        split(order[k], f, " ")
        mib = (f[1] == "single" ? single : multi) / 1048576
        w = median(wall[order[k]]); c = median(cpu[order[k]]); o = median(other[order[k]])
        if (f[2] == "curl") { cw[f[1]] = w; cc[f[1]] = c; ca[f[1]] = c + o }
        printf "%-7s %-9s %-11s %8.3f %8.1f %7.2f %11.3f %7.2f %11.3f %11.3f %7.2f\n", f[1], f[2], f[3], w,
               mib / w, cw[f[1]] / w, c * 1000 / mib, c / cc[f[1]], o * 1000 / mib, (c + o) * 1000 / mib,
               (c + o) / ca[f[1]]
    }
}' "$raw" | tee -a "$results"

# The probe: medians per way of reading.
[ "$probe" = 0 ] || awk '
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    mode = $1
    if (!(mode in seen)) { seen[mode] = 1; order[++modes] = mode }
    for (i = 1; i <= NF; i++) {
        if ($i == "MiB/s,") speed[mode] = speed[mode] " " $(i - 1)
        if ($i == "reads") reads[mode] = $(i - 1)
        if ($i == "CPU") cpu[mode] = cpu[mode] " " ($(i + 1) + $(i + 5))
    }
}
END {
    printf "\n%-14s %8s %10s %13s\n", "probe", "MiB/s", "reads", "CPU ms/MiB"
    for (k = 1; k <= modes; k++)
        printf "%-14s %8.1f %10d %13.3f\n", order[k], median(speed[order[k]]), reads[order[k]],
               median(cpu[order[k]]) * 1000 / 1024
}' "$build/bench-probe-raw.txt" | tee -a "$results"
