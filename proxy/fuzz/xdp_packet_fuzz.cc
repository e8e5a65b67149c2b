// libFuzzer target: random and mutated packets through the real XDP program
// (BPF_PROG_TEST_RUN). Needs BPF rights; without them it exits 77 (CTest's
// skip) saying why. Checked on every input:
//  - the verdict is PASS, TX or DROP (never ABORTED), and PASS leaves the
//    packet untouched;
//  - every TX is a well-formed reply: Ethernet/IP/UDP lengths, the IPv4
//    header checksum, the IPv6 UDP checksum, ports swapped, the frame header
//    echoed, and a well-formed memcached (classic or meta) or RESP reply;
//  - every write the kernel accepted is a SET or ms that protocol/'s parser
//    also accepts, with the same key, value and flags, and the store then
//    holds exactly that (the maps never hold what no valid request wrote);
//  - every packet is counted exactly once, under a reason that fits its
//    verdict (TX: an answer; DROP: a noreply write; PASS: not ours or a
//    pass reason): no exit of the program escapes the counters.
//  - admission (bpf/lib/admission.h): every request the kernel answered or
//    wrote from had a destination IP admitted on lo (no reply to a foreign
//    destination), unicast MACs (never a broadcast/multicast source in a
//    reply), a source that is not martian nor one of our ports, lengths
//    that agree and right checksums; and no reply has a broadcast or
//    multicast source address. With mode bit 0x40 the input's next two
//    bytes flip one header byte (MACs, addresses, lengths, checksums,
//    ports) of the packet built around the rest.
// libFuzzer cannot see coverage inside the kernel, so the program's outcome
// (protocol x reason x verdict) is fed back as extra coverage counters.
#include <arpa/inet.h>
#include <net/if.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/memcache_text.h"
#include "protocol/resp.h"
#include "proxy/admission.h"
#include "proxy/bpf_store.h"
#include "proxy/store_layout.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace {

using xdpkv::testing::BuildPacket;
using xdpkv::testing::PacketOptions;

std::unique_ptr<xdpkv::XdpLoader> loader;
std::unique_ptr<xdpkv::BpfStore> store;
xdpkv::AdmissionTable admission;  // what the loader told the program about lo
uint32_t lo_ifindex = 0;

__attribute__((used, section("__libfuzzer_extra_counters")))
uint8_t outcome_seen[int{XDPKV_PROTO_COUNT} * int{XDPKV_REASON_COUNT} * 4];

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "xdp_packet_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

using xdpkv::testing::Get16;
using xdpkv::testing::SumWords;
using xdpkv::testing::FoldSum;

// The UDP payload of a well-formed reply to `request`, or abort.
std::string_view CheckReplyPacket(std::string_view request, std::string_view reply) {
  Check(reply.size() >= 14 + 20 + 8, "reply shorter than its headers");
  Check(reply.substr(12, 2) == request.substr(12, 2), "ethertype changed");
  Check(reply.substr(0, 6) == request.substr(6, 6) && reply.substr(6, 6) == request.substr(0, 6),
        "MACs not swapped");
  const bool ipv6 = Get16(reply, 12) == 0x86dd;
  const size_t ip_len = ipv6 ? 40 : 20;
  const size_t udp_at = 14 + ip_len;
  Check(reply.size() >= udp_at + 8, "reply shorter than its headers");
  if (ipv6) {
    Check(Get16(reply, 14 + 4) == reply.size() - udp_at, "IPv6 payload length");
    uint32_t sum = SumWords(reply.substr(14 + 8, 32));
    sum += static_cast<uint32_t>(reply.size() - udp_at) + 17;
    sum = SumWords(reply.substr(udp_at), sum);
    Check(FoldSum(sum) == 0xffff, "IPv6 UDP checksum");
  } else {
    Check(static_cast<uint8_t>(reply[14]) == 0x45, "IPv4 version/IHL");
    Check(Get16(reply, 14 + 2) == reply.size() - 14, "IPv4 total length");
    Check(FoldSum(SumWords(reply.substr(14, 20))) == 0xffff, "IPv4 header checksum");
  }
  Check(Get16(reply, udp_at + 4) == reply.size() - udp_at, "UDP length");
  const size_t req_udp = 14 + (Get16(request, 12) == 0x86dd ? 40 : 20);
  Check(reply.substr(udp_at, 2) == request.substr(req_udp + 2, 2) &&
            reply.substr(udp_at + 2, 2) == request.substr(req_udp, 2),
        "ports not swapped");
  std::string_view payload = reply.substr(udp_at + 8);
  Check(payload.size() >= 8, "reply without frame header");
  Check(payload.substr(0, 2) == request.substr(req_udp + 8, 2), "request id not echoed");
  Check(payload.substr(2, 6) == std::string_view("\0\0\0\1\0\0", 6), "frame header");
  return payload.substr(8);
}

// One "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n" at the front of
// r, whose data has the declared length; false if there is none.
bool TakeValue(std::string_view* r) {
  if (!r->starts_with("VALUE ")) return false;
  const size_t line_end = r->find("\r\n");
  if (line_end == std::string_view::npos) return false;
  std::string_view line = r->substr(6, line_end - 6);
  size_t spaces = 0;
  for (char c : line) spaces += c == ' ';
  if (spaces != 2 && spaces != 3) return false;
  size_t bytes_at = line.find(' ', line.find(' ') + 1) + 1;
  size_t bytes_end = line.find(' ', bytes_at);
  const auto declared = std::strtoull(std::string(line.substr(bytes_at, bytes_end - bytes_at)).c_str(),
                                      nullptr, 10);
  const size_t element = line_end + 2 + declared + 2;
  if (r->size() < element || r->substr(element - 2, 2) != "\r\n") return false;
  r->remove_prefix(element);
  return true;
}

// A meta reply: "EN", "HD", "EX", "NF" or "VA <bytes>", flag tokens, CRLF
// (no CR or LF in between), and VA's data.
bool WellFormedMetaReply(std::string_view r) {
  const size_t line_end = r.find("\r\n");
  if (r.size() < 4 || line_end == std::string_view::npos) return false;
  const std::string_view line = r.substr(0, line_end);
  if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
    return false;
  }
  const std::string_view code = line.substr(0, 2);
  if (line.size() > 2 && line[2] != ' ') return false;
  if (code == "EN" || code == "HD" || code == "EX" || code == "NF") {
    return line_end + 2 == r.size();
  }
  if (code != "VA" || line.size() < 4) return false;
  const auto declared = std::strtoull(std::string(line.substr(3)).c_str(), nullptr, 10);
  return r.size() == line_end + 2 + declared + 2 && r.substr(r.size() - 2) == "\r\n";
}

bool WellFormedMemcacheReply(std::string_view r) {
  for (std::string_view fixed :
       {"STORED\r\n", "DELETED\r\n", "NOT_FOUND\r\n", "END\r\n",
        "SERVER_ERROR out of memory storing object\r\n"}) {
    if (r == fixed) return true;
  }
  if (WellFormedMetaReply(r)) return true;
  // One or more values (a multi-key get's hits), then END.
  if (!TakeValue(&r)) return false;
  while (TakeValue(&r)) {
  }
  return r == "END\r\n";
}

// "$-1\r\n" or "$<n>\r\n<n bytes>\r\n" at the front of r.
bool TakeBulk(std::string_view* r) {
  if (r->starts_with("$-1\r\n")) {
    r->remove_prefix(5);
    return true;
  }
  if (!r->starts_with("$")) return false;
  const size_t line_end = r->find("\r\n");
  if (line_end == std::string_view::npos) return false;
  const auto declared = std::strtoull(std::string(r->substr(1, line_end - 1)).c_str(), nullptr, 10);
  const size_t element = line_end + 2 + declared + 2;
  if (r->size() < element || r->substr(element - 2, 2) != "\r\n") return false;
  r->remove_prefix(element);
  return true;
}

bool WellFormedRespReply(std::string_view r) {
  for (std::string_view fixed : {"+OK\r\n", ":0\r\n", ":1\r\n",
                                 "-OOM command not allowed when used memory > 'maxmemory'.\r\n"}) {
    if (r == fixed) return true;
  }
  // MGET: an array of bulks and nulls, as many as it says.
  if (r.starts_with("*")) {
    const size_t line_end = r.find("\r\n");
    if (line_end == std::string_view::npos) return false;
    const auto count = std::strtoull(std::string(r.substr(1, line_end - 1)).c_str(), nullptr, 10);
    r.remove_prefix(line_end + 2);
    for (uint64_t i = 0; i < count; ++i) {
      if (!TakeBulk(&r)) return false;
    }
    return r.empty();
  }
  return TakeBulk(&r) && r.empty();
}

bool IsSetCommand(std::string_view name) {
  return name.size() == 3 && (name[0] | 0x20) == 's' && (name[1] | 0x20) == 'e' &&
         (name[2] | 0x20) == 't';
}

// The UDP payload of an Ethernet/IPv4-or-IPv6/UDP packet (IPv4 without
// options), by its UDP length, and whether it went to the RESP port.
bool UdpPayload(std::string_view packet, bool* resp_port, std::string_view* payload) {
  if (packet.size() < 14) return false;
  const uint16_t type = Get16(packet, 12);
  const size_t udp_at = type == 0x86dd ? 14 + 40 : 14 + 20;
  if ((type != 0x0800 && type != 0x86dd) || packet.size() < udp_at + 8) return false;
  const size_t udp_len = Get16(packet, udp_at + 4);
  if (udp_len < 8 || udp_at + udp_len > packet.size()) return false;
  *resp_port = Get16(packet, udp_at + 2) == 6379;
  *payload = packet.substr(udp_at + 8, udp_len - 8);
  return true;
}

// A write the kernel accepted must be a valid SET, stored as parsed.
void CheckAcceptedWrite(bool resp_port, std::string_view request_payload) {
  std::string key, value;
  uint32_t flags = 0;
  bool expires_now = false;
  Check(request_payload.size() >= 8, "kernel accepted a write without frame header");
  std::string_view command = request_payload.substr(8);
  if (resp_port) {
    auto parsed = xdpkv::resp::ParseCommand(command);
    if (parsed.status != xdpkv::resp::ParseStatus::kCommand ||
        parsed.consumed != command.size()) {
      return Check(false, "kernel accepted a RESP write the parser rejects");
    }
    const auto& args = parsed.command.args;
    // DEL also writes; there is nothing to compare for a delete.
    if (args.size() != 3 || !IsSetCommand(args[0])) return;
    key = std::string(args[1]);
    value = std::string(args[2]);
  } else {
    auto parsed = xdpkv::memcache::ParseCommand(command);
    if (parsed.status != xdpkv::memcache::ParseStatus::kCommand ||
        parsed.consumed != command.size()) {
      return Check(false, "kernel accepted a memcached write the parser rejects");
    }
    const xdpkv::memcache::Op op = parsed.command.op;
    // A delete, or a quiet mg's miss (dropped): nothing to compare.
    if (op == xdpkv::memcache::Op::kDelete || op == xdpkv::memcache::Op::kMetaGet) return;
    Check(op == xdpkv::memcache::Op::kSet || op == xdpkv::memcache::Op::kMetaSet,
          "kernel write that is not set/ms/delete");
    key = std::string(parsed.command.key());
    value = std::string(parsed.command.data);
    if (op == xdpkv::memcache::Op::kMetaSet) {
      Check(parsed.command.meta.mode == 0 && !parsed.command.meta.invalidate &&
                !parsed.command.key_binary,
            "kernel wrote an ms of a mode, I or b");
      flags = parsed.command.meta.client_flags;
      expires_now = parsed.command.meta.ttl.value_or(0) < 0;
    } else {
      flags = parsed.command.flags;
      expires_now = parsed.command.exptime < 0;
    }
  }
  auto item = store->Get(key);
  Check(item.ok(), "store read after a kernel write");
  if (expires_now) return Check(!item->has_value(), "expired write readable");
  // An absolute exptime in the past also stores nothing readable.
  if (!item->has_value()) return;
  Check((*item)->value == value, "stored value differs from the request's");
  Check((*item)->flags == flags, "stored flags differ from the request's");
}

// Whether the program may end a packet with `verdict` for `reason`.
bool VerdictFitsReason(uint32_t verdict, int reason) {
  switch (reason) {
    case XDPKV_GET_HIT:
    case XDPKV_GET_MISS:
    case XDPKV_STORE_FULL:
    case XDPKV_MULTI_GET:
    case XDPKV_META_GET_HIT:
    case XDPKV_META_CAS_EXISTS:
    case XDPKV_META_CAS_MISS:
      return verdict == 3;
    case XDPKV_SET:
    case XDPKV_DELETE_HIT:
    case XDPKV_DELETE_MISS:
    case XDPKV_META_GET_MISS:  // q: no EN
    case XDPKV_META_SET:
    case XDPKV_META_CAS_HIT:
      return verdict == 3 || verdict == 1;
    default:  // not ours, and every pass reason
      return verdict == 2;
  }
}

// At exit: which kernel outcomes the run reached, for the record.
void PrintOutcomes() {
  auto counters = loader->ReadCounters();
  if (counters.ok()) std::printf("xdp_packet_fuzz: kernel outcomes:%s\n", counters->Format().c_str());
}

}  // namespace

// Admission's invariants on a request the kernel answered or wrote from
// (test runs arrive on lo, described as lo by the loader).
void CheckAdmitted(std::string_view request, std::string_view reply) {
  using xdpkv::Ip16;
  const bool v6 = Get16(request, 12) == 0x86dd;
  const size_t l4 = v6 ? 14 + 40 : 14 + 20;
  Check((request[0] & 1) == 0, "answered a frame sent to a group MAC");
  Check((request[6] & 1) == 0, "answered a frame from a group MAC");
  Ip16 src{}, dst{};
  if (v6) {
    std::memcpy(src.data(), request.data() + 22, 16);
    std::memcpy(dst.data(), request.data() + 38, 16);
  } else {
    uint32_t s4, d4;
    std::memcpy(&s4, request.data() + 26, 4);
    std::memcpy(&d4, request.data() + 30, 4);
    src = xdpkv::FromIpv4(s4);
    dst = xdpkv::FromIpv4(d4);
  }
  Check(admission.admit_dst.count({lo_ifindex, dst}) == 1,
        "answered a request to a foreign destination");
  // IPv4: 0/8, multicast, 255.255.255.255; IPv6: ::, multicast, v4-mapped.
  const auto group4 = [](const uint8_t* a) {
    return (a[0] >= 224 && a[0] < 240) || (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
  };
  const bool martian = v6 ? xdpkv::IsUnspecified(src) || src[0] == 0xff || xdpkv::IsMappedIpv4(src)
                          : src[12] == 0 || group4(&src[12]);
  Check(!martian, "answered a martian source");
  const uint16_t sport = Get16(request, l4);
  Check(sport != 0 && sport != 11211 && sport != 6379, "answered a datagram from one of our ports");
  const uint16_t udp_len = Get16(request, l4 + 4);
  Check(v6 ? Get16(request, 18) == udp_len : Get16(request, 16) == 20 + udp_len,
        "answered a request whose IP and UDP lengths disagree");
  Check(request.size() >= l4 + udp_len, "answered a request longer than its frame");
  if (!v6) {
    Check(FoldSum(SumWords(request.substr(14, 20))) == 0xffff,
          "answered a request with a bad IPv4 header checksum");
  }
  const uint16_t check = Get16(request, l4 + 6);
  Check(!v6 || check != 0, "answered an IPv6 request without a UDP checksum");
  if (check != 0) {
    const std::string addresses =
        v6 ? std::string(request.substr(22, 32)) : std::string(request.substr(26, 8));
    const uint32_t pseudo = SumWords(addresses) + 17 + udp_len;
    const bool full = FoldSum(SumWords(request.substr(l4, udp_len), pseudo)) == 0xffff;
    const bool partial = check == FoldSum(pseudo);  // lo leaves it to offload
    Check(full || partial, "answered a request with a bad UDP checksum");
  }
  if (!reply.empty()) {
    Check((reply[6] & 1) == 0, "a reply from a group MAC");
    const auto* from = reinterpret_cast<const uint8_t*>(reply.data()) + (v6 ? 22 : 26);
    const bool group = v6 ? from[0] == 0xff : group4(from);
    Check(!group, "a reply from a broadcast or multicast address");
  }
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  xdpkv::XdpConfig config;
  config.max_items_per_class = 64;  // keep "store full" reachable
  auto loaded = xdpkv::XdpLoader::Load(config);
  if (!loaded.ok()) {
    std::printf("xdp_packet_fuzz: skipped: no BPF rights here: %s\n",
                std::string(loaded.status().message()).c_str());
    std::exit(77);
  }
  loader = std::move(*loaded);
  store = xdpkv::BpfStore::ForLoader(*loader);
  // The loader's own view of lo (config's wildcard listen addresses).
  lo_ifindex = if_nametoindex("lo");
  auto table = xdpkv::BuildAdmissionTable({"lo"}, config.listen_addresses);
  Check(table.ok(), "building lo's admission table");
  admission = *table;
  // Out-of-line values under one-letter keys (the seeds use "k"), so that
  // mutated GETs reach the kernel's blob path: replies that fit one
  // datagram, one that does not, and the edge.
  for (auto [key, len] : {std::pair<const char*, size_t>{"b", 129}, {"c", 700}, {"d", 1366},
                          {"e", 1367}, {"f", 5000}}) {
    std::string value(len, '\0');
    for (size_t i = 0; i < len; ++i) value[i] = static_cast<char>(i * 31 + len);
    if (!store->Set(key, value, 5, 0).ok()) std::exit(1);
  }
  std::atexit(PrintOutcomes);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: how to wrap the rest. Mostly well-formed headers around a
  // fuzzed payload (so parsing is reached), sometimes raw bytes.
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string packet;
  if ((mode & 7) == 7) {
    packet = std::string(rest);
    if (packet.size() < 14) packet.resize(14, '\0');
  } else if ((mode & 0x40) && rest.size() >= 2) {
    // One header byte flipped: MACs, addresses, lengths, checksums, ports.
    const uint8_t at = static_cast<uint8_t>(rest[0]), flip = static_cast<uint8_t>(rest[1]);
    PacketOptions options;
    options.ipv6 = mode & 1;
    options.dest_port = (mode & 2) ? 6379 : 11211;
    packet = BuildPacket(rest.substr(2, 1400), options);
    const size_t headers = options.ipv6 ? 14 + 40 + 8 : 14 + 20 + 8;
    packet[at % headers] = static_cast<char>(packet[at % headers] ^ (flip | 1));
  } else {
    PacketOptions options;
    options.ipv6 = mode & 1;
    options.dest_port = (mode & 2) ? 6379 : 11211;
    options.ipv4_options = (mode & 0x30) == 0x30;
    options.ipv4_fragment = (mode & 0x30) == 0x20;
    packet = BuildPacket(rest.substr(0, 1400), options);
  }

  const auto result = xdpkv::testing::RunXdp(loader->program_fd(), packet);
  Check(result.error == 0, "BPF_PROG_TEST_RUN failed");
  Check(result.verdict == 1 || result.verdict == 2 || result.verdict == 3,
        "verdict other than DROP, PASS or TX");
  if (result.verdict == 2) Check(result.packet == packet, "passed packet was modified");

  auto counters = loader->ReadCounters();
  Check(counters.ok(), "reading counters");
  static xdpkv::XdpCounters previous;
  uint64_t counted = 0;
  for (int p = 0; p < XDPKV_PROTO_COUNT; ++p) {
    for (int r = 0; r < XDPKV_REASON_COUNT; ++r) {
      if (counters->count[p][r] != previous.count[p][r]) {
        counted += counters->count[p][r] - previous.count[p][r];
        Check(VerdictFitsReason(result.verdict, r), "verdict counted under a reason that does not fit it");
        outcome_seen[(p * XDPKV_REASON_COUNT + r) * 4 + (result.verdict & 3)]++;
      }
    }
  }
  Check(counted == 1, "packet not counted exactly once");
  previous = *counters;

  if (result.verdict == 2) return 0;
  // The kernel answered (TX) or accepted a noreply write (DROP): it must
  // have been a well-formed UDP request to one of our ports.
  bool resp_port = false;
  std::string_view request_payload;
  Check(UdpPayload(packet, &resp_port, &request_payload), "kernel handled a non-UDP packet");
  CheckAdmitted(packet, result.verdict == 3 ? std::string_view(result.packet) : "");
  if (result.verdict == 3) {
    const std::string_view reply = CheckReplyPacket(packet, result.packet);
    Check(resp_port ? WellFormedRespReply(reply) : WellFormedMemcacheReply(reply),
          "malformed protocol reply");
    const bool wrote = reply == "STORED\r\n" || reply == "+OK\r\n" || reply == "DELETED\r\n" ||
                       reply == ":1\r\n" ||
                       (reply.starts_with("HD") && request_payload.substr(8).starts_with("ms "));
    if (wrote) CheckAcceptedWrite(resp_port, request_payload);
  } else {
    CheckAcceptedWrite(resp_port, request_payload);  // DROP: a noreply write
  }
  return 0;
}
