#!/usr/bin/env bash
# README command 2: install what is needed, build, and run every test
# (unit tests, XDP tests, fuzzers for a bounded time) through CTest.
#   XDPKV_FUZZ_SECONDS=N  seconds each fuzzer runs (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DXDPKV_FUZZ_SECONDS="${XDPKV_FUZZ_SECONDS:-30}"
if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: not root: XDP tests will be skipped (they need BPF rights)"
fi
cd build
ctest --output-on-failure --parallel 2 --timeout 600 | tee ctest-output.log
# CTest hides passing output; the fuzzers' execution counts are worth seeing.
awk '/Testing: fuzz\./ { name = $NF }
     /stat::number_of_executed_units/ { print "fuzz: " name " ran " $2 " inputs" }' \
  Testing/Temporary/LastTest.log
# CTest's summary stays the last line, for whoever reads the run's end.
grep -E '^[0-9]+% tests passed' ctest-output.log
