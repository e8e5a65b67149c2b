// The C client libraries users link against, on a running xdpkv:
// libmemcached (TCP, its binary mode and its UDP mode) and hiredis. Run by
// clients_test.py once per server mode:  c_clients MEMCACHE_PORT RESP_PORT
// and against a server with -S:  c_clients --sasl PORT USER PASSWORD
// Prints one line per check and exits non-zero if any failed.
#include <hiredis.h>
#include <libmemcached/memcached.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

int failures = 0;

void Check(const char* name, const std::function<bool()>& body) {
  const bool ok = body();
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", name);
  if (!ok) ++failures;
}

struct MemcachedDeleter {
  void operator()(memcached_st* m) const { memcached_free(m); }
};
using Memcached = std::unique_ptr<memcached_st, MemcachedDeleter>;

Memcached Connect(int port, bool udp) {
  Memcached mc(memcached_create(nullptr));
  if (udp) memcached_behavior_set(mc.get(), MEMCACHED_BEHAVIOR_USE_UDP, 1);
  memcached_server_add(mc.get(), "127.0.0.1", static_cast<in_port_t>(port));
  return mc;
}

std::string GetValue(memcached_st* mc, const std::string& key, uint32_t* flags = nullptr) {
  size_t length = 0;
  uint32_t item_flags = 0;
  memcached_return_t rc;
  char* value = memcached_get(mc, key.data(), key.size(), &length, &item_flags, &rc);
  if (value == nullptr) return rc == MEMCACHED_NOTFOUND ? "<missing>" : "<error>";
  std::string out(value, length);
  free(value);
  if (flags) *flags = item_flags;
  return out;
}

bool Set(memcached_st* mc, const std::string& key, const std::string& value, uint32_t flags = 0,
         time_t exptime = 0) {
  return memcached_set(mc, key.data(), key.size(), value.data(), value.size(), exptime, flags) ==
         MEMCACHED_SUCCESS;
}

void LibmemcachedChecks(int port) {
  Memcached mc = Connect(port, false);
  memcached_st* m = mc.get();
  Check("libmemcached set/get with flags", [&] {
    uint32_t flags = 0;
    return Set(m, "c-key", "c-value", 42) && GetValue(m, "c-key", &flags) == "c-value" &&
           flags == 42;
  });
  Check("libmemcached binary-safe 1 MiB value", [&] {
    std::string big(1 << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
    return Set(m, "c-big", big) && GetValue(m, "c-big") == big;
  });
  Check("libmemcached add/replace/append/prepend", [&] {
    const char* k = "c-rmw";
    memcached_delete(m, k, strlen(k), 0);
    return memcached_add(m, k, strlen(k), "b", 1, 0, 0) == MEMCACHED_SUCCESS &&
           memcached_add(m, k, strlen(k), "x", 1, 0, 0) == MEMCACHED_NOTSTORED &&
           memcached_append(m, k, strlen(k), "c", 1, 0, 0) == MEMCACHED_SUCCESS &&
           memcached_prepend(m, k, strlen(k), "a", 1, 0, 0) == MEMCACHED_SUCCESS &&
           memcached_replace(m, "c-none", 6, "x", 1, 0, 0) == MEMCACHED_NOTSTORED &&
           GetValue(m, k) == "abc";
  });
  Check("libmemcached cas", [&] {
    Memcached cas_client = Connect(port, false);
    memcached_behavior_set(cas_client.get(), MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    memcached_st* c = cas_client.get();
    if (!Set(c, "c-cas", "v1")) return false;
    const char* keys[] = {"c-cas"};
    const size_t lengths[] = {5};
    if (memcached_mget(c, keys, lengths, 1) != MEMCACHED_SUCCESS) return false;
    memcached_return_t rc;
    memcached_result_st* result = memcached_fetch_result(c, nullptr, &rc);
    if (result == nullptr) return false;
    const uint64_t cas = memcached_result_cas(result);
    memcached_result_free(result);
    while (memcached_fetch_result(c, nullptr, &rc) != nullptr) {
    }
    return memcached_cas(c, "c-cas", 5, "v2", 2, 0, 0, cas) == MEMCACHED_SUCCESS &&
           memcached_cas(c, "c-cas", 5, "v3", 2, 0, 0, cas) == MEMCACHED_DATA_EXISTS &&
           GetValue(c, "c-cas") == "v2";
  });
  Check("libmemcached incr/decr", [&] {
    uint64_t value = 0;
    return Set(m, "c-n", "10") &&
           memcached_increment(m, "c-n", 3, 5, &value) == MEMCACHED_SUCCESS && value == 15 &&
           memcached_decrement(m, "c-n", 3, 20, &value) == MEMCACHED_SUCCESS && value == 0 &&
           memcached_increment(m, "c-none", 6, 1, &value) == MEMCACHED_NOTFOUND;
  });
  Check("libmemcached multi-get", [&] {
    Set(m, "c-m1", "one");
    Set(m, "c-m2", "two");
    const char* keys[] = {"c-m1", "c-missing", "c-m2"};
    const size_t lengths[] = {4, 9, 4};
    if (memcached_mget(m, keys, lengths, 3) != MEMCACHED_SUCCESS) return false;
    std::vector<std::string> got;
    memcached_return_t rc;
    while (memcached_result_st* r = memcached_fetch_result(m, nullptr, &rc)) {
      got.emplace_back(memcached_result_key_value(r), memcached_result_key_length(r));
      got.back() += "=" + std::string(memcached_result_value(r), memcached_result_length(r));
      memcached_result_free(r);
    }
    std::sort(got.begin(), got.end());
    return got == std::vector<std::string>{"c-m1=one", "c-m2=two"};
  });
  Check("libmemcached touch and expiry", [&] {
    return Set(m, "c-ttl", "v", 0, 100) &&
           memcached_touch(m, "c-ttl", 5, -1) == MEMCACHED_SUCCESS &&
           GetValue(m, "c-ttl") == "<missing>";
  });
  Check("libmemcached delete", [&] {
    return Set(m, "c-del", "v") && memcached_delete(m, "c-del", 5, 0) == MEMCACHED_SUCCESS &&
           memcached_delete(m, "c-del", 5, 0) == MEMCACHED_NOTFOUND;
  });
  Check("libmemcached UDP set, then TCP get", [&] {
    // libmemcached's UDP mode sends writes without waiting for a reply
    // and supports no reads: read back over TCP.
    Memcached udp = Connect(port, true);
    if (!Set(udp.get(), "c-udp", "via-udp", 7)) return false;
    for (int attempt = 0; attempt < 50; ++attempt) {
      uint32_t flags = 0;
      if (GetValue(m, "c-udp", &flags) == "via-udp" && flags == 7) return true;
      struct timespec pause {0, 10 * 1000 * 1000};
      nanosleep(&pause, nullptr);
    }
    return false;
  });
}

// libmemcached's binary mode: every command a binary request, mget as
// GETKQs ended by a NOOP, buffered and noreply writes as quiet opcodes.
// Each check on a client of its own: a check's leftovers (an error reply
// libmemcached did not expect) cannot spill into the next.
Memcached BinaryClient(int port) {
  Memcached mc = Connect(port, false);
  memcached_behavior_set(mc.get(), MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
  return mc;
}

void LibmemcachedBinaryChecks(int port) {
  Memcached mc;
  memcached_st* m = nullptr;
  auto fresh = [&] {
    mc = BinaryClient(port);
    m = mc.get();
  };
  Check("binary: set/get with flags", [&] {
    fresh();
    uint32_t flags = 0;
    return Set(m, "b-key", "b-value", 42) && GetValue(m, "b-key", &flags) == "b-value" &&
           flags == 42 && GetValue(m, "b-missing") == "<missing>";
  });
  Check("binary: binary-safe 512 KiB value", [&] {
    fresh();
    std::string big(512 * 1024, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13 + 1);
    return Set(m, "b-big", big) && GetValue(m, "b-big") == big;
  });
  Check("binary: add/replace/append/prepend", [&] {
    fresh();
    const char* k = "b-rmw";
    memcached_delete(m, k, strlen(k), 0);
    return memcached_add(m, k, strlen(k), "b", 1, 0, 0) == MEMCACHED_SUCCESS &&
           memcached_add(m, k, strlen(k), "x", 1, 0, 0) == MEMCACHED_DATA_EXISTS &&
           memcached_append(m, k, strlen(k), "c", 1, 0, 0) == MEMCACHED_SUCCESS &&
           memcached_prepend(m, k, strlen(k), "a", 1, 0, 0) == MEMCACHED_SUCCESS &&
           memcached_replace(m, "b-none", 6, "x", 1, 0, 0) == MEMCACHED_NOTFOUND &&
           memcached_append(m, "b-none", 6, "x", 1, 0, 0) == MEMCACHED_NOTSTORED &&
           GetValue(m, k) == "abc";
  });
  Check("binary: cas", [&] {
    fresh();
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    if (!Set(m, "b-cas", "v1")) return false;
    const char* keys[] = {"b-cas"};
    const size_t lengths[] = {5};
    if (memcached_mget(m, keys, lengths, 1) != MEMCACHED_SUCCESS) return false;
    memcached_return_t rc;
    memcached_result_st* result = memcached_fetch_result(m, nullptr, &rc);
    if (result == nullptr) return false;
    const uint64_t cas = memcached_result_cas(result);
    memcached_result_free(result);
    while (memcached_fetch_result(m, nullptr, &rc) != nullptr) {
    }
    return cas != 0 && memcached_cas(m, "b-cas", 5, "v2", 2, 0, 0, cas) == MEMCACHED_SUCCESS &&
           memcached_cas(m, "b-cas", 5, "v3", 2, 0, 0, cas) == MEMCACHED_DATA_EXISTS &&
           memcached_cas(m, "b-nocas", 7, "v3", 2, 0, 0, cas) == MEMCACHED_NOTFOUND &&
           GetValue(m, "b-cas") == "v2";
  });
  // (A non-numeric value's error, status 6, is one libmemcached does not
  // know: it answers UNKNOWN_READ_FAILURE and leaves the error's body
  // unread, which is why every check has a client of its own.)
  Check("binary: incr/decr, and with an initial value", [&] {
    fresh();
    uint64_t value = 0, created = 0, again = 0, down = 0;
    memcached_delete(m, "b-new", 5, 0);
    memcached_delete(m, "b-down", 6, 0);
    return Set(m, "b-n", "10") &&
           memcached_increment(m, "b-n", 3, 5, &value) == MEMCACHED_SUCCESS && value == 15 &&
           memcached_decrement(m, "b-n", 3, 20, &value) == MEMCACHED_SUCCESS && value == 0 &&
           memcached_increment(m, "b-none", 6, 1, &value) == MEMCACHED_NOTFOUND &&
           memcached_increment_with_initial(m, "b-new", 5, 1, 42, 0, &created) ==
               MEMCACHED_SUCCESS &&
           created == 42 &&
           memcached_increment_with_initial(m, "b-new", 5, 1, 42, 0, &again) ==
               MEMCACHED_SUCCESS &&
           again == 43 &&
           memcached_decrement_with_initial(m, "b-down", 6, 1, 7, 0, &down) == MEMCACHED_SUCCESS &&
           down == 7 && Set(m, "b-text", "abc") &&
           memcached_increment(m, "b-text", 6, 1, &value) != MEMCACHED_SUCCESS;
  });
  Check("binary: multi-get", [&] {
    fresh();
    Set(m, "b-m1", "one");
    Set(m, "b-m2", "two");
    const char* keys[] = {"b-m1", "b-missing", "b-m2"};
    const size_t lengths[] = {4, 9, 4};
    if (memcached_mget(m, keys, lengths, 3) != MEMCACHED_SUCCESS) return false;
    std::vector<std::string> got;
    memcached_return_t rc;
    while (memcached_result_st* r = memcached_fetch_result(m, nullptr, &rc)) {
      got.emplace_back(memcached_result_key_value(r), memcached_result_key_length(r));
      got.back() += "=" + std::string(memcached_result_value(r), memcached_result_length(r));
      memcached_result_free(r);
    }
    std::sort(got.begin(), got.end());
    return got == std::vector<std::string>{"b-m1=one", "b-m2=two"};
  });
  Check("binary: touch and expiry", [&] {
    fresh();
    // A binary expiration is unsigned: a time long past is how to expire.
    return Set(m, "b-ttl", "v", 0, 100) &&
           memcached_touch(m, "b-ttl", 5, 1000) == MEMCACHED_SUCCESS &&
           GetValue(m, "b-ttl") == "v" &&
           memcached_touch(m, "b-ttl", 5, 1000000000) == MEMCACHED_SUCCESS &&
           GetValue(m, "b-ttl") == "<missing>" &&
           memcached_touch(m, "b-ttl", 5, 100) == MEMCACHED_NOTFOUND;
  });
  Check("binary: delete", [&] {
    fresh();
    return Set(m, "b-del", "v") && memcached_delete(m, "b-del", 5, 0) == MEMCACHED_SUCCESS &&
           memcached_delete(m, "b-del", 5, 0) == MEMCACHED_NOTFOUND;
  });
  Check("binary: version and stats", [&] {
    fresh();
    memcached_return_t rc = memcached_version(m);
    const memcached_instance_st* server = memcached_server_instance_by_position(m, 0);
    if (rc != MEMCACHED_SUCCESS || memcached_server_major_version(server) != 1 ||
        memcached_server_minor_version(server) != 6) {
      return false;
    }
    memcached_stat_st* stats = memcached_stat(m, nullptr, &rc);
    if (stats == nullptr || rc != MEMCACHED_SUCCESS) return false;
    char* version = memcached_stat_get_value(m, stats, "version", &rc);
    const bool ok = version != nullptr && std::string(version).starts_with("1.6.18") &&
                    stats->pid > 0 && stats->cmd_get > 0;
    free(version);
    memcached_stat_free(m, stats);
    return ok;
  });
  Check("binary: buffered and noreply writes (quiet opcodes)", [&] {
    fresh();
    Memcached quiet = BinaryClient(port);
    memcached_behavior_set(quiet.get(), MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1);
    memcached_behavior_set(quiet.get(), MEMCACHED_BEHAVIOR_NOREPLY, 1);
    for (int i = 0; i < 50; ++i) {
      const std::string key = "b-q" + std::to_string(i);
      if (memcached_set(quiet.get(), key.data(), key.size(), "q", 1, 0, 0) != MEMCACHED_BUFFERED &&
          memcached_set(quiet.get(), key.data(), key.size(), "q", 1, 0, 0) != MEMCACHED_SUCCESS) {
        return false;
      }
    }
    memcached_delete(quiet.get(), "b-q0", 4, 0);
    if (memcached_flush_buffers(quiet.get()) != MEMCACHED_SUCCESS) return false;
    // Read back on the same connection, so the reads come after the writes
    // (another connection may be served by another thread first; and a
    // change of behaviour would reconnect).
    return GetValue(quiet.get(), "b-q49") == "q" && GetValue(quiet.get(), "b-q0") == "<missing>";
  });
  Check("binary: flush", [&] {
    fresh();
    return Set(m, "b-flush", "v") && memcached_flush(m, 0) == MEMCACHED_SUCCESS &&
           GetValue(m, "b-flush") == "<missing>";
  });
}

// SASL (-S): libmemcached's PLAIN, through Cyrus SASL's client.
void LibmemcachedSaslChecks(int port, const char* user, const char* password) {
  auto sasl_client = [&](const char* as, const char* with) {
    Memcached mc = Connect(port, false);
    memcached_behavior_set(mc.get(), MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
    if (as != nullptr) memcached_set_sasl_auth_data(mc.get(), as, with);
    return mc;
  };
  Check("SASL: PLAIN, then set/get", [&] {
    Memcached mc = sasl_client(user, password);
    return Set(mc.get(), "s-key", "s-value", 5) && GetValue(mc.get(), "s-key") == "s-value";
  });
  Check("SASL: a wrong password is refused", [&] {
    Memcached mc = sasl_client(user, "wrong");
    return !Set(mc.get(), "s-key", "x") && GetValue(sasl_client(user, password).get(), "s-key") == "s-value";
  });
  Check("SASL: no authentication, no service", [&] {
    Memcached mc = sasl_client(nullptr, nullptr);
    return !Set(mc.get(), "s-key", "y");
  });
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

void HiredisChecks(int port, int memcache_port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err) {
    Check("hiredis connect", [] { return false; });
    return;
  }
  auto command = [&](const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data())));
  };
  auto is_string = [](const Reply& r, const std::string& s) {
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           std::string(r->str, r->len) == s;
  };
  Check("hiredis set/get binary-safe", [&] {
    const std::string value("a\0b\r\nc", 6);
    return is_string(command({"SET", "h-key", value}), "OK") &&
           is_string(command({"GET", "h-key"}), value);
  });
  Check("hiredis nil, integer and error replies", [&] {
    auto nil = command({"GET", "h-missing"});
    auto incr = command({"INCRBY", "h-n", "5"});
    auto error = command({"INCR", "h-key"});
    return nil && nil->type == REDIS_REPLY_NIL && incr && incr->type == REDIS_REPLY_INTEGER &&
           incr->integer == 5 && error && error->type == REDIS_REPLY_ERROR &&
           std::string(error->str) == "ERR value is not an integer or out of range";
  });
  Check("hiredis pipelining, answered in order", [&] {
    for (int i = 0; i < 100; ++i) {
      redisAppendCommand(c, "SET h-p%d %d", i, i * i);
      redisAppendCommand(c, "GET h-p%d", i);
    }
    for (int i = 0; i < 100; ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) return false;
      Reply set(static_cast<redisReply*>(raw));
      if (redisGetReply(c, &raw) != REDIS_OK) return false;
      Reply get(static_cast<redisReply*>(raw));
      if (!is_string(set, "OK") || !is_string(get, std::to_string(i * i))) return false;
    }
    return true;
  });
  Check("hiredis expiry: SET EX, TTL, PERSIST", [&] {
    auto set = command({"SET", "h-ttl", "v", "EX", "100"});
    auto ttl = command({"TTL", "h-ttl"});
    auto persist = command({"PERSIST", "h-ttl"});
    auto after = command({"TTL", "h-ttl"});
    return is_string(set, "OK") && ttl && ttl->integer == 100 && persist &&
           persist->integer == 1 && after && after->integer == -1;
  });
  Check("hiredis 1 MiB value", [&] {
    std::string big(1 << 20, 'x');
    for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i);
    return is_string(command({"SET", "h-big", big}), "OK") &&
           is_string(command({"GET", "h-big"}), big);
  });
  Check("one keyspace: memcached writes, Redis reads and back", [&] {
    Memcached mc = Connect(memcache_port, false);
    if (!Set(mc.get(), "shared", "from-memcached", 3)) return false;
    if (!is_string(command({"GET", "shared"}), "from-memcached")) return false;
    if (!is_string(command({"SET", "shared", "from-redis"}), "OK")) return false;
    uint32_t flags = 99;
    return GetValue(mc.get(), "shared", &flags) == "from-redis" && flags == 0;
  });
  redisFree(c);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string_view(argv[1]) == "--sasl") {
    LibmemcachedSaslChecks(std::atoi(argv[2]), argv[3], argv[4]);
    return failures == 0 ? 0 : 1;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MEMCACHE_PORT RESP_PORT\n       %s --sasl PORT USER PASSWORD\n",
                 argv[0], argv[0]);
    return 2;
  }
  const int memcache_port = std::atoi(argv[1]);
  const int resp_port = std::atoi(argv[2]);
  LibmemcachedChecks(memcache_port);
  LibmemcachedBinaryChecks(memcache_port);
  HiredisChecks(resp_port, memcache_port);
  return failures == 0 ? 0 : 1;
}
