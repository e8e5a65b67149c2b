#!/usr/bin/env bash
# Server-side cost of the kernel path, measured where it is spent.
# Builds a server namespace and a client namespace joined by a veth pair
# (unique names, removed on exit); xdpkv runs native XDP (and its TC tier)
# on the server end; both ends use threaded NAPI, the server's NAPI thread
# pinned to CPU 1 and everything client-side to CPU 0; the XDP generator
# sends memcached (or RESP) requests (bench/xdp_gen.cc) and the server NAPI
# thread's CPU time per answered request is the cost per request. Writes
# bench/results/xdp-gen.json.
#   bench/xdp-gen.sh [--floor] [--proto memcache|resp] [--requests N]
#                    [--seconds S] [--key-len N] [--value-len N]
#                    [--items N [--dist uniform|zipf:THETA] [--write-ratio W]
#                     [--scan-ratio S]] [--rate R] [--memory-mb MB]
# With --items, the server is first preloaded with N items over TCP
# (xdpkv-bench) and the generator requests them in --dist order. With
# --floor, the server end runs xdpkv-xdp-floor instead of xdpkv (every
# request sent straight back: the topology's floor), nothing preloaded.
# --memory-mb sets the server's -m (default: room for every item twice
# over); less than the items take makes the preload and the SETs evict.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${XDPKV_BIN:-build/bin}  # the build's bin/ (scripts/build.sh: build/bin)
id=$$
server_ns="xkv-gs-$id" client_ns="xkv-gc-$id"
server_if="xkvgs$id" client_if="xkvgc$id"
out=bench/results/xdp-gen.json
log="/tmp/xdpkv-gen-$id.log"
mkdir -p bench/results
cleanup() {
  [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  ip netns del "$server_ns" 2>/dev/null || true
  ip netns del "$client_ns" 2>/dev/null || true
  rm -rf "/sys/fs/bpf/xdpkv-gen-$id"
  rm -f "$log" "$out.client"
}
trap cleanup EXIT

floor=0 items=0 key_len=16 value_len=128 memory_mb=
gen_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[i]}" == --floor ]]; then floor=1
  elif [[ "${args[i]}" == --memory-mb ]]; then memory_mb=${args[i+1]}; i=$((i + 1))
  else gen_args+=("${args[i]}"); fi
done
for ((i = 0; i + 1 < ${#gen_args[@]}; i++)); do
  case "${gen_args[i]}" in
    --items) items=${gen_args[i+1]} ;;
    --key-len) key_len=${gen_args[i+1]} ;;
    --value-len) value_len=${gen_args[i+1]} ;;
  esac
done
if ((floor)); then gen_args+=(--echo 1); fi

ip netns add "$server_ns"
ip netns add "$client_ns"
ip link add "$server_if" type veth peer name "$client_if"
ip link set "$server_if" netns "$server_ns"
ip link set "$client_if" netns "$client_ns"
ip -n "$server_ns" addr add 198.18.0.1/30 dev "$server_if"
ip -n "$client_ns" addr add 198.18.0.2/30 dev "$client_if"
# MTU 3000: the study's scan request (100 keys of 16 bytes: 1.7 KB as a
# memcached get, 2.3 KB as MGET) must be one frame; at 1500 it would be IP
# fragments, which the kernel path leaves to userspace. (veth with XDP
# takes at most ~3.5 KB: a page less headroom and skb_shared_info.)
ip -n "$server_ns" link set "$server_if" mtu 3000 up
ip -n "$client_ns" link set "$client_if" mtu 3000 up

if ((floor)); then
  nsenter --net="/run/netns/$server_ns" taskset -c 1 "$bin/xdpkv-xdp-floor" \
    --iface "$server_if" > "$log" 2>&1 &
else
  # xdpkv on the server end, its counters printed when it stops. nsenter
  # --net keeps the host's bpffs (ip netns exec would not: xdpkv refuses).
  # The client is allowed explicitly, with whole replies (the amplification
  # cap is for strangers): xdpkv answers no other host by default.
  # A memory limit (-m: the kernel's own allocation, bucket tables
  # included) with room for every item: 512 bytes an item, plus a blob
  # above 128-byte values (a power of two over the value and its 280-byte
  # header; measured with INFO memory), twice over, as bench/run-study.
  blob=0
  if ((value_len > 128)); then blob=1024; while ((blob < value_len + 280)); do blob=$((blob * 2)); done; fi
  memory_mb=${memory_mb:-$((2 * items * (512 + blob) / 1048576 + 128))}
  nsenter --net="/run/netns/$server_ns" taskset -c 1 "$bin/xdpkv" --xdp-iface "$server_if" \
    -l 198.18.0.1 --udp-allow 198.18.0.2/32 --udp-max-reply-bytes 65536 -m "$memory_mb" \
    -t 1 --xdp-mode native --pin-dir "/sys/fs/bpf/xdpkv-gen-$id" --fresh > "$log" 2>&1 &
fi
server_pid=$!
# Loading and verifying the programs takes seconds on a busy machine; the
# veth has no NAPI (so no threaded mode below) until XDP is attached.
for _ in $(seq 600); do grep -q "XDP attached" "$log" && break; sleep 0.1; done
if ! grep -q "XDP attached" "$log"; then
  echo "xdp-gen: the server did not attach XDP within 60 s:" >&2
  cat "$log" >&2
  exit 1
fi
sleep 0.5

# Threaded NAPI: the server's receive work in its own thread on CPU 1 (the
# client end gets the same from xdpkv-xdp-gen once its sink is attached).
ip netns exec "$server_ns" sh -c "echo 1 > /sys/class/net/$server_if/threaded"
sleep 0.2
server_napi=$(pgrep -f "napi/$server_if-" | head -n1 || true)
if [[ -z "$server_napi" ]]; then echo "xdp-gen: no NAPI thread for $server_if" >&2; exit 1; fi
taskset -pc 1 "$server_napi" >/dev/null

if ((items > 0 && !floor)); then
  ip netns exec "$client_ns" taskset -c 0 "$bin/xdpkv-bench" --host 198.18.0.1 \
    --transport tcp --items "$items" --key-size "$key_len" --value-size "$value_len" \
    --preload --closed 1 --duration 0.1 --warmup 0 --quiet > /dev/null
fi

# The server's memcached `stats` (over TCP from the client end): its
# evictions, before and after the generator's requests.
server_stats() {
  if ((floor)); then echo "{}"; return; fi
  ip netns exec "$client_ns" timeout 5 bash -c \
    'exec 3<>/dev/tcp/198.18.0.1/11211; printf "stats\r\nquit\r\n" >&3; cat <&3' 2>/dev/null |
    python3 -c 'import json,sys
print(json.dumps({l.split()[1]: l.split()[2] for l in sys.stdin if l.startswith("STAT ")
                  and l.split()[1] in ("evictions", "curr_items", "bytes", "limit_maxbytes")}))'
}
stats_before=$(server_stats)

# Requests from the client end's address and MAC to the server end's: the
# kernel path answers nothing else (docs/architecture.md, "Admission").
server_mac=$(ip -n "$server_ns" -j link show dev "$server_if" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip netns exec "$client_ns" taskset -c 0 "$bin/xdpkv-xdp-gen" --iface "$client_if" \
  --source-ip 198.18.0.2 --dest-ip 198.18.0.1 --dest-mac "$server_mac" \
  --server-napi-pid "$server_napi" --server-cpu 1 --server-pid "$server_pid" \
  "${gen_args[@]}" > "$out.client"
stats_after=$(server_stats)
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
# The server's cost per request: its NAPI thread's CPU time over the
# requests it answered (its own counters), since the veth rings drop what
# the generator offers beyond the server's pace.
python3 - "$out.client" "$log" "$out" "$floor" "$stats_before" "$stats_after" <<'PY'
import json, re, sys
result = json.load(open(sys.argv[1]))
# The server's own stats around the requests (memcached `stats`): what it
# evicted while they ran, and how full it was.
result["server_stats_before"] = json.loads(sys.argv[5] or "{}")
result["server_stats_after"] = json.loads(sys.argv[6] or "{}")
if "evictions" in result["server_stats_after"]:
    result["server_evictions"] = (int(result["server_stats_after"]["evictions"]) -
                                  int(result["server_stats_before"].get("evictions", 0)))
log = open(sys.argv[2]).read()
floor = sys.argv[4] == "1"
counters = {k: int(v) for k, v in
            (item.split("=") for item in re.search(r"counters:(.*)", log).group(1).split())}
# Answered in the kernel: by XDP (one datagram), or by the TC tier (a
# scan's many datagrams, one tc_replies per request); XDP's pass_to_tc for
# the same request is not counted again. The floor: each request sent back.
answered_by = ("get_hits", "get_misses", "sets", "store_full", "multi_gets", "tc_replies")
answered = (counters.get("floor.reflected", 0) if floor else
            sum(v for k, v in counters.items() if k.split(".", 1)[-1] in answered_by))
result["server"] = "floor (xdpkv-xdp-floor)" if floor else "xdpkv"
result["server_counters"] = counters
# Requests the kernel handed to userspace, by reason: none is the goal.
result["server_passed"] = sum(v for k, v in counters.items()
                              if k.split(".", 1)[-1].startswith("pass_")
                              and not k.endswith(".pass_to_tc"))
# The TC tier's replies (scans): sent whole, and cut short (a datagram the
# client end's ring had no room for: the rest is not sent).
result["server_tc_replies"] = sum(v for k, v in counters.items() if k.endswith(".tc_replies"))
result["server_tc_send_failed"] = sum(v for k, v in counters.items()
                                      if k.endswith(".tc_send_failed"))
result["tc_tier_attached"] = floor or "TC tier could not be attached" not in log
result["server_answered"] = answered
result["server_answered_per_second"] = round(answered / result["seconds"])
result["server_cpu_busy"] = round(result["server_napi_cpu_seconds"] / result["seconds"], 3)
# The server process's own threads (xdpkv's chores: expiry, eviction,
# admission refresh), outside the NAPI thread's kernel work.
if "server_process_cpu_seconds" in result:
    result["server_process_cpu_busy"] = round(result["server_process_cpu_seconds"] /
                                              result["seconds"], 3)
result["server_ns_per_request"] = (round(result["server_napi_cpu_seconds"] * 1e9 / answered, 1)
                                   if answered else None)
json.dump(result, open(sys.argv[3], "w"), indent=2)
print(json.dumps(result, indent=2))
PY
echo "written: $out"
