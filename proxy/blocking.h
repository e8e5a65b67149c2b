// Clients parked by Redis's blocking commands (BLPOP, BRPOP, BLMOVE,
// BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP) until a write makes one
// of their keys worth trying again, or their deadline passes.
//
// No thread waits: a command that finds nothing parks its client here and
// its session stops reading commands. A write command, once it has run,
// names the keys it wrote (Signal), and the clients parked on them are
// served there and then, by the writing thread, in the order they parked,
// each by running its command again: a push of three elements serves three
// BLPOPs oldest first, as Redis's handleClientsBlockedOnKeys does. A served
// client's answer is handed to its connection's loop (its wake function);
// the loop also times parked clients out (Cancel).
//
// Only userspace writes signal: the kernel path writes strings only, and
// no string unblocks anyone, so it never has to.
#ifndef XDPKV_PROXY_BLOCKING_H_
#define XDPKV_PROXY_BLOCKING_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace xdpkv {

// A key of a Redis database: (database number, key). An empty key names
// every key of the database (SWAPDB).
using DatabaseKey = std::pair<int, std::string>;

// One parked client. Set up before parking; `done` and `reply` change
// under the room's mutex only.
struct ParkedClient {
  int db = 0;                        // the client's database number
  std::vector<std::string> command;  // the blocking command, run again to serve it
  std::vector<std::string> keys;     // what it waits on
  uint64_t deadline_ms = 0;          // CLOCK_BOOTTIME ms; 0: none
  std::function<void()> wake;        // tells its loop the reply is in (any thread)
  bool done = false;                 // served, or cancelled
  std::string reply;                 // when served
};

class BlockingRoom {
 public:
  // Runs a parked client's command again (as the writing thread, its
  // database as it is now): its reply, or empty while there is still
  // nothing for it; `written` gets the keys that run wrote (BLMOVE's
  // destination), which may serve others in turn.
  using Retry =
      std::function<std::string(const ParkedClient& client, std::vector<DatabaseKey>* written)>;

  // Runs `attempt`, a blocking command's first try, so that no write's
  // Signal falls between its finding nothing and its Park: attempts and
  // serving take turns, and a writer that finds no one interested skips
  // the room (Signal's fast path) only when no attempt has begun.
  void Attempt(const std::function<void()>& attempt);
  // Parks `client` (inside an Attempt).
  void Park(std::shared_ptr<ParkedClient> client);
  // After a write: serves the clients parked on `keys` (and on the keys
  // their own runs write) with `retry`, oldest first; those that still
  // find nothing stay. O(clients parked on those keys).
  void Signal(std::vector<DatabaseKey> keys, const Retry& retry);
  // Takes a client out (its deadline passed, or it disconnected): nullopt,
  // or its reply when it was served first.
  std::optional<std::string> Cancel(ParkedClient& client);
  // A parked client's reply once it is served; nullopt while it waits.
  std::optional<std::string> Served(ParkedClient& client);
  // Whether any client is parked or about to be: a writer checks after
  // its write, so a parking it misses has seen the write.
  bool Interested() { return interested_.fetch_add(0, std::memory_order_seq_cst) != 0; }
  // How many clients are parked (INFO's blocked_clients).
  size_t parked() const;

 private:
  void Remove(const ParkedClient& client);  // from every key's queue

  mutable std::mutex mu_;
  // Parked clients plus attempts under way: Signal's fast path.
  std::atomic<int64_t> interested_{0};
  absl::flat_hash_map<DatabaseKey, std::deque<std::shared_ptr<ParkedClient>>> by_key_;
  size_t parked_ = 0;
};

// One event loop's parked connections (proxy/server.cc): their deadlines,
// and those whose reply came in from another thread, announced on an
// eventfd the loop watches. Bounded by the loop's connections, which
// maxclients bounds.
class ParkedConnections {
 public:
  ParkedConnections();
  ~ParkedConnections();
  ParkedConnections(const ParkedConnections&) = delete;
  ParkedConnections& operator=(const ParkedConnections&) = delete;

  int wake_fd() const { return wake_fd_; }  // readable: TakeWoken
  // The wake function for connection `fd` (RespSession::SetWake).
  std::function<void()> WakeFor(int fd);
  // The connections woken since the last call (perhaps no longer parked,
  // or gone).
  std::vector<int> TakeWoken();

  void Track(int fd, uint64_t deadline_ms) { deadlines_[fd] = deadline_ms; }
  void Untrack(int fd) { deadlines_.erase(fd); }
  bool Tracked(int fd) const { return deadlines_.contains(fd); }
  // Those whose deadline is at or before `now_ms`.
  std::vector<int> Expired(uint64_t now_ms) const;
  // epoll_wait's timeout until the nearest deadline: -1 when none.
  int TimeoutMs(uint64_t now_ms) const;

 private:
  int wake_fd_;
  absl::flat_hash_map<int, uint64_t> deadlines_;  // by fd; 0: none
  std::mutex woken_mu_;
  std::vector<int> woken_;
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_BLOCKING_H_
