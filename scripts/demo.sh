#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: builds openbits.dll, makes a fresh private Wine prefix, registers the DLL there
# with regsvr32, and runs an unmodified BITS client against it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh >/dev/null

export WINEPREFIX="$top/build/demo-prefix" WINEDEBUG=-all
trap 'wineserver -k 2>/dev/null || true' EXIT
rm -rf "$WINEPREFIX"
echo "demo: creating a fresh Wine prefix in build/demo-prefix"
WINEDLLOVERRIDES=mscoree,mshtml= wineboot -i >/dev/null 2>&1
wineserver -w

dll=$(winepath -w "$top/build/bin/openbits.dll")
echo "demo: regsvr32 $dll"
wine regsvr32 /s "$dll"
echo "demo: running examples/create_and_get.c"
wine "$top/build/bin/create_and_get.exe"
