#!/usr/bin/env bash
# Measures the XDP program's cost per request (kernel timing of single test
# runs) and the store's bytes per item; writes bench/results/xdp-cost.json.
#   bench/xdp-cost.sh [--runs N] [--items N]
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/xdp-cost.json
mkdir -p bench/results
build/bin/xdpkv-xdp-cost "$@" | tee "$out"
echo "written: $out"
