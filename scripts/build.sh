#!/usr/bin/env bash
# Configures and builds xdpkv into build/ (Release) with clang: the BPF program
# and libFuzzer need clang, and one compiler for everything keeps it simple.
# Extra arguments go to cmake's configure step (e.g. -DXDPKV_FUZZ_SECONDS=5).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "$@" >/dev/null
cmake --build "$BUILD_DIR"
