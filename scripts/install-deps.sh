#!/usr/bin/env bash
# Installs every Debian package xdpkv needs to build, test and benchmark.
# Idempotent and fast when everything is already installed (one dpkg query).
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build clang llvm pkg-config
  # BPF: libbpf + skeleton generator + kernel UAPI headers
  libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  # libraries
  libabsl-dev libgtest-dev libgmock-dev libhiredis-dev libmemcached-dev
  # RDB snapshots: Redis's LZF compression
  liblzf-dev
  # libFuzzer / sanitizer runtimes for clang 14
  libclang-rt-14-dev
  # peers and their tools, used by compat-tests/ and bench/
  redis-server redis-tools memcached libmemcached-tools
  python3 python3-redis python3-pymemcache python3-matplotlib
  # bench/run-study profiles the server CPU at the XDP peak
  linux-perf
  # test networks
  iproute2
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/xdpkv-install-deps.XXXXXX.log)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed (log above, also in $log)" >&2
  exit 1
fi
rm -f "$log"
