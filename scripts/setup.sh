#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs what a fresh Debian 12 machine lacks to build and test openbits, then
# fetches cmocka's Debian source package and cross-builds it with MinGW-w64 into
# the build tree. Quick and silent when everything is already there.
#
# It never edits the system's apt configuration: the deb-src entry used to fetch
# cmocka lives in build/_deps/apt and is passed to apt-get with -o options.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${OPENBITS_BUILD_DIR:-$top/build}
deps=$build/_deps
mirror=${OPENBITS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
quiet=${OPENBITS_SETUP_QUIET:-1}

say() { [ "$quiet" = 1 ] || echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }

# --- Debian packages ------------------------------------------------------------------------
packages=(
    gcc make cmake ninja-build pkg-config
    gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64
    wine wine64 wine64-tools libwine-dev
    libcmocka-dev
    dpkg-dev xz-utils ca-certificates
    python3 curl nginx-light
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install failed for: ${missing[*]}"
fi

# --- cmocka, cross-built from Debian's source package ------------------------------------------
cmocka_prefix=$deps/cmocka-mingw
if [ ! -f "$cmocka_prefix/.built" ]; then
    echo "setup: building cmocka for MinGW-w64 from Debian's source package"
    apt_dir=$deps/apt
    src_dir=$deps/cmocka-src
    rm -rf "$apt_dir" "$src_dir" "$deps/cmocka-build" "$cmocka_prefix"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src_dir"
    printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm main\n' \
        "$mirror" > "$apt_dir/sources.list"
    apt_opts=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Sandbox::User=root"
    )
    apt-get -qq "${apt_opts[@]}" update >/dev/null || die "apt-get update (deb-src) failed"
    (cd "$src_dir" && apt-get -qq "${apt_opts[@]}" source --download-only cmocka >/dev/null) \
        || die "apt-get source cmocka failed"
    dsc=$(ls "$src_dir"/cmocka_*.dsc | head -n1)
    (cd "$src_dir" && dpkg-source --no-check -x "$dsc" tree >/dev/null) || die "dpkg-source failed"
    cmake -S "$src_dir/tree" -B "$deps/cmocka-build" -G Ninja \
        -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchain-mingw64.cmake" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$cmocka_prefix" \
        -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
        -DCMAKE_C_FLAGS="-w" >"$deps/cmocka-build.log" 2>&1 \
        || die "configuring cmocka failed; see $deps/cmocka-build.log"
    cmake --build "$deps/cmocka-build" >>"$deps/cmocka-build.log" 2>&1 \
        && cmake --install "$deps/cmocka-build" >>"$deps/cmocka-build.log" 2>&1 \
        || die "building cmocka failed; see $deps/cmocka-build.log"
    touch "$cmocka_prefix/.built"
fi
say "ready"
