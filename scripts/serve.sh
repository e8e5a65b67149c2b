#!/usr/bin/env bash
# README command 1: install what is needed, build, and start the server on
# its defaults. Arguments are passed to build/bin/xdpkv.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/xdpkv "$@"
