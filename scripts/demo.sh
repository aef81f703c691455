#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: builds openbits.dll, makes a fresh private Wine prefix (build/demo-prefix),
# registers the DLL there with regsvr32, starts the loopback HTTP server
# (tests/servers/http_server.py, 127.0.0.1 only) and downloads real files through the DLL with an
# unmodified BITS client (examples/download.c) into build/demo-out/, then checks every byte
# against the server's formula. It also shows BITS retrying after a transient error and
# reporting a fatal one, and runs examples/create_and_get.c. Exits non-zero on any failure; it
# stops the server and the prefix's wineserver on every exit, and can be run again.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

prefix=$top/build/demo-prefix
out=$top/build/demo-out
run=$top/build/demo-run                     # the server's port file and log
sizes=(1024 10485760 104857600)             # 1 KiB, 10 MiB, 100 MiB
names=(small.bin medium.bin large.bin)
server_pid=

say() { echo "demo: $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Every exit, failed or not: stop the server (SIGTERM, then bounded, SIGKILL) and the prefix.
cleanup() {
    local status=$? i
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for i in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    WINEPREFIX=$prefix wineserver -k 2>/dev/null || true
    [ "$status" = 0 ] || echo "demo: FAILED (exit status $status)" >&2
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "demo: $*" >&2; exit 1; }

started=$(now)
mkdir -p build
say "building openbits.dll and the examples (minutes on a fresh clone; log: build/demo-build.log)"
bash scripts/build.sh >build/demo-build.log 2>&1 || { tail -n 40 build/demo-build.log >&2; fail "the build failed"; }
built=$(now)

# --- a fresh private Wine prefix with openbits.dll registered ------------------------------------
export WINEPREFIX=$prefix WINEDEBUG=-all
WINEPREFIX=$prefix wineserver -k 2>/dev/null || true    # a run that was killed may have left one
rm -rf "$prefix" "$out" "$run"
mkdir -p "$out" "$run"
say "creating a fresh Wine prefix in build/demo-prefix"
WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i >/dev/null 2>&1 || fail "wineboot -i failed"
wineserver -w
dll=$(winepath -w "$top/build/bin/openbits.dll")
say "regsvr32 $dll"
wine regsvr32 /s "$dll" || fail "regsvr32 failed"
prefix_ready=$(now)

say "running examples/create_and_get.c"
wine "$top/build/bin/create_and_get.exe" | sed 's/^/    /' || fail "create_and_get.exe failed"

# --- the loopback server -------------------------------------------------------------------------
# In the background, its stdin is not ours to close: it stops on SIGTERM (cleanup above).
python3 tests/servers/http_server.py --port-file "$run/port" --ignore-stdin </dev/null 2>"$run/server.log" &
server_pid=$!
for i in $(seq 200); do
    [ -s "$run/port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$run/server.log" >&2; fail "the server did not start"; }
    sleep 0.1
done
[ -s "$run/port" ] || fail "the server wrote no port file within 20 s"
port=$(head -n 1 "$run/port")
base=http://127.0.0.1:$port
say "loopback server: $base (pid $server_pid)"

# --- downloads -----------------------------------------------------------------------------------
# download.exe runs in build/demo-out and gets relative local paths: it makes them full itself.
# On a terminal its progress line is redrawn in place; in a log it prints a line now and then.
download() {
    if [ -t 1 ]; then
        (cd "$out" && wine "$top/build/bin/download.exe" --timeout 600 "$@")
    else
        (cd "$out" && wine "$top/build/bin/download.exe" --timeout 600 "$@") 2>&1 | sed 's/^/    /'
        return "${PIPESTATUS[0]}"
    fi
}

args=()
for i in "${!sizes[@]}"; do args+=("$base/file/${sizes[$i]}?name=${names[$i]}" "${names[$i]}"); done
say "1. one job, three files (1 KiB, 10 MiB, 100 MiB): download.exe ${#sizes[@]} URLs"
t0=$(now)
download "${args[@]}" || fail "download.exe failed"
t1=$(now)

# Byte for byte against the server's formula (tests/servers/http_server.py): byte(i) =
# ((i % 65521) * 2654435761 >> 16) + i // 65521 (mod 256). One period is computed with the
# formula; block q of the file is that period plus q (mod 256).
say "checking every byte against the server's formula"
python3 - "$out" "${names[@]}" -- "${sizes[@]}" <<'EOF' || fail "the downloaded files do not match"
import os, sys
out, rest = sys.argv[1], sys.argv[2:]
names, sizes = rest[:rest.index("--")], [int(s) for s in rest[rest.index("--") + 1:]]
PERIOD, MULTIPLIER = 65521, 2654435761
period = bytes(((i * MULTIPLIER) >> 16) & 0xFF for i in range(PERIOD))
plus = [bytes((b + k) & 0xFF for b in range(256)) for k in range(256)]

def matches(path, size):
    if not os.path.exists(path) or os.path.getsize(path) != size:
        return False
    with open(path, "rb") as f:
        for block in range(0, size // PERIOD + 1):
            data = f.read(PERIOD)
            if data != period[:len(data)].translate(plus[block & 0xFF]):
                return False
        return not f.read(1)

ok = True
for name, size in zip(names, sizes):
    path = os.path.join(out, name)
    good = matches(path, size)
    actual = os.path.getsize(path) if os.path.exists(path) else "no file"
    print("    %-11s %11s bytes  %s" % (name, actual, "OK" if good else "MISMATCH (expected %d bytes)" % size))
    ok = ok and good
leftovers = [n for n in os.listdir(out) if n.upper().startswith("BIT") and n.upper().endswith(".TMP")]
if leftovers:
    print("    temporary files left: %s" % ", ".join(leftovers))
sys.exit(0 if ok and not leftovers else 1)
EOF

say "2. a server that answers 503 once: BITS retries after the retry delay (--retry-delay 5)"
t2=$(now)
download --retry-delay 5 "$base/file/65536?fail_times=1&name=retried.bin" retried.bin \
    || fail "the retried download failed"
t3=$(now)
[ "$(stat -c %s "$out/retried.bin")" = 65536 ] || fail "retried.bin has the wrong size"

say "3. a missing file (404): the job fails, the client shows the error and cancels it"
status=0
download "$base/status/404" missing.bin || status=$?
[ "$status" = 1 ] || fail "download.exe of a 404 exited with $status, expected 1"
[ ! -e "$out/missing.bin" ] || fail "the cancelled job left missing.bin"

# --- summary -------------------------------------------------------------------------------------
total=0
for s in "${sizes[@]}"; do total=$((total + s)); done
finished=$(now)
say "summary"
echo "    openbits.dll registered in a fresh prefix; CoCreateInstance reached it through the registry"
echo "    job 1: $((total)) bytes in ${#sizes[@]} files, verified byte for byte, in $(elapsed "$t0" "$t1") s" \
     "($(awk -v b="$total" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f", b / 1048576 / (c - a) }') MiB/s)"
echo "    job 2: transient error (503) then retried and transferred, in $(elapsed "$t2" "$t3") s"
echo "    job 3: 404 reported as an error and the job cancelled"
echo "    times: build $(elapsed "$started" "$built") s, prefix $(elapsed "$built" "$prefix_ready") s," \
     "total $(elapsed "$started" "$finished") s"
WINEPREFIX=$prefix wineserver -k 2>/dev/null || true
say "OK"
