#!/usr/bin/env bash
# Server-side cost of the XDP fast path, measured where it is spent.
# Builds a server namespace and a client namespace joined by a veth pair
# (unique names, removed on exit); xdpkv runs native XDP on the server end;
# both ends use threaded NAPI, the server's NAPI thread pinned to CPU 1 and
# everything client-side to CPU 0; the XDP generator sends memcached GETs
# (bench/xdp_gen.cc) and the server NAPI thread's CPU time per reply is the
# cost per request. Writes bench/results/xdp-gen.json.
#   bench/xdp-gen.sh [--requests N] [--key-len N] [--value-len N]
#                    [--items N [--dist uniform|zipf:THETA]]
# With --items, the server is first preloaded with N items over TCP
# (xdpkv-bench) and the generator requests them in --dist order.
set -euo pipefail
cd "$(dirname "$0")/.."
id=$$
server_ns="xkv-gs-$id" client_ns="xkv-gc-$id"
server_if="xkvgs$id" client_if="xkvgc$id"
out=bench/results/xdp-gen.json
mkdir -p bench/results
cleanup() {
  [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  ip netns del "$server_ns" 2>/dev/null || true
  ip netns del "$client_ns" 2>/dev/null || true
  rm -rf "/sys/fs/bpf/xdpkv-gen-$id"
}
trap cleanup EXIT

ip netns add "$server_ns"
ip netns add "$client_ns"
ip link add "$server_if" type veth peer name "$client_if"
ip link set "$server_if" netns "$server_ns"
ip link set "$client_if" netns "$client_ns"
ip -n "$server_ns" addr add 198.18.0.1/30 dev "$server_if"
ip -n "$client_ns" addr add 198.18.0.2/30 dev "$client_if"
ip -n "$server_ns" link set "$server_if" up
ip -n "$client_ns" link set "$client_if" up

# xdpkv on the server end, its counters printed when it stops. nsenter
# --net keeps the host's bpffs (ip netns exec would not: xdpkv refuses).
# The client is allowed explicitly, with whole replies (the amplification
# cap is for strangers): xdpkv answers no other host by default.
nsenter --net="/run/netns/$server_ns" taskset -c 1 build/bin/xdpkv --xdp-iface "$server_if" \
  -l 198.18.0.1 --udp-allow 198.18.0.2/32 --udp-max-reply-bytes 65536 \
  -t 1 --xdp-mode native --pin-dir "/sys/fs/bpf/xdpkv-gen-$id" --fresh > "/tmp/xdpkv-gen-$id.log" &
server_pid=$!
sleep 1

# Threaded NAPI: the server's receive work in its own thread on CPU 1 (the
# client end gets the same from xdpkv-xdp-gen once its sink is attached).
ip netns exec "$server_ns" sh -c "echo 1 > /sys/class/net/$server_if/threaded"
sleep 0.2
server_napi=$(pgrep -f "napi/$server_if-" | head -n1 || true)
if [[ -z "$server_napi" ]]; then echo "xdp-gen: no NAPI thread for $server_if" >&2; exit 1; fi
taskset -pc 1 "$server_napi" >/dev/null

items=0 key_len=16 value_len=128
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --items) items=${args[i+1]} ;;
    --key-len) key_len=${args[i+1]} ;;
    --value-len) value_len=${args[i+1]} ;;
  esac
done
if ((items > 0)); then
  ip netns exec "$client_ns" taskset -c 0 build/bin/xdpkv-bench --host 198.18.0.1 \
    --transport tcp --items "$items" --key-size "$key_len" --value-size "$value_len" \
    --preload --closed 1 --duration 0.1 --warmup 0 --quiet > /dev/null
fi

# Requests from the client end's address and MAC to the server end's: the
# kernel path answers nothing else (docs/architecture.md, "Admission").
server_mac=$(ip -n "$server_ns" -j link show dev "$server_if" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip netns exec "$client_ns" taskset -c 0 build/bin/xdpkv-xdp-gen --iface "$client_if" \
  --source-ip 198.18.0.2 --dest-ip 198.18.0.1 --dest-mac "$server_mac" \
  --server-napi-pid "$server_napi" "$@" > "$out.client"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
# The server's cost per request: its NAPI thread's CPU time over the GETs
# it answered (its own counter), since the veth rings drop what the
# generator offers beyond the server's pace.
python3 - "$out.client" "/tmp/xdpkv-gen-$id.log" "$out" <<'PY'
import json, re, sys
result = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
counters = dict(item.split("=") for item in re.search(r"counters:(.*)", log).group(1).split())
answered = sum(int(counters.get(f"memcache.{c}", 0)) for c in ("get_hits", "get_misses", "sets"))
result["server_counters"] = {k: int(v) for k, v in counters.items()}
result["server_answered"] = answered
result["server_answered_per_second"] = round(answered / result["seconds"])
result["server_cpu_busy"] = round(result["server_napi_cpu_seconds"] / result["seconds"], 3)
result["server_ns_per_request"] = round(result["server_napi_cpu_seconds"] * 1e9 / answered, 1)
del result["server_ns_per_reply"]
json.dump(result, open(sys.argv[3], "w"), indent=2)
print(json.dumps(result, indent=2))
PY
rm -f "$out.client" "/tmp/xdpkv-gen-$id.log"
echo "written: $out"
