#!/usr/bin/env bash
# Configures (once) and builds xdpkv into build/ with clang: the BPF program
# and libFuzzer need clang, and one compiler for everything keeps it simple.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "$@" >/dev/null
fi
cmake --build "$BUILD_DIR"
