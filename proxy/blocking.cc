#include "proxy/blocking.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace xdpkv {

void BlockingRoom::Attempt(const std::function<void()>& attempt) {
  // Interest first, then the try: a writer whose write the try missed
  // sees the interest (both are read-modify-writes, so neither is
  // reordered around the store accesses beside it) and comes to serve.
  interested_.fetch_add(1, std::memory_order_seq_cst);
  {
    std::lock_guard lock(mu_);
    attempt();
  }
  interested_.fetch_sub(1, std::memory_order_seq_cst);
}

void BlockingRoom::Park(std::shared_ptr<ParkedClient> client) {
  // Called inside Attempt: mu_ is held.
  interested_.fetch_add(1, std::memory_order_seq_cst);
  ++parked_;
  for (const std::string& key : client->keys) by_key_[{client->db, key}].push_back(client);
}

void BlockingRoom::Remove(const ParkedClient& client) {
  for (const std::string& key : client.keys) {
    const auto it = by_key_.find(DatabaseKey{client.db, key});
    if (it == by_key_.end()) continue;
    std::erase_if(it->second, [&](const auto& parked) { return parked.get() == &client; });
    if (it->second.empty()) by_key_.erase(it);
  }
  --parked_;
  interested_.fetch_sub(1, std::memory_order_seq_cst);
}

void BlockingRoom::Signal(std::vector<DatabaseKey> keys, const Retry& retry) {
  if (keys.empty() || interested_.fetch_add(0, std::memory_order_seq_cst) == 0) return;
  std::lock_guard lock(mu_);
  std::deque<DatabaseKey> ready(std::make_move_iterator(keys.begin()),
                                std::make_move_iterator(keys.end()));
  // Each client served leaves the room, so this ends: one more pass over
  // the keys each served client's run wrote.
  while (!ready.empty()) {
    const DatabaseKey key = std::move(ready.front());
    ready.pop_front();
    if (key.second.empty()) {  // every key of the database
      for (const auto& [parked_key, clients] : by_key_) {
        if (parked_key.first == key.first) ready.push_back(parked_key);
      }
      continue;
    }
    const auto it = by_key_.find(key);
    if (it == by_key_.end()) continue;
    // Every client parked on the key, oldest first: one that finds
    // nothing (the key emptied, or of a type it does not pop) stays, and
    // one behind it may still be served (a BZPOPMIN behind a BLPOP).
    const std::vector<std::shared_ptr<ParkedClient>> waiting(it->second.begin(), it->second.end());
    for (const std::shared_ptr<ParkedClient>& client : waiting) {
      if (client->done) continue;  // served through another of its keys
      std::vector<DatabaseKey> written;
      std::string reply = retry(*client, &written);
      if (reply.empty()) continue;
      client->reply = std::move(reply);
      client->done = true;
      Remove(*client);
      client->wake();
      for (DatabaseKey& more : written) ready.push_back(std::move(more));
    }
  }
}

std::optional<std::string> BlockingRoom::Cancel(ParkedClient& client) {
  std::lock_guard lock(mu_);
  if (client.done) return client.reply.empty() ? std::nullopt : std::optional(client.reply);
  client.done = true;
  Remove(client);
  return std::nullopt;
}

std::optional<std::string> BlockingRoom::Served(ParkedClient& client) {
  std::lock_guard lock(mu_);
  if (!client.done) return std::nullopt;
  return client.reply;
}

size_t BlockingRoom::parked() const {
  std::lock_guard lock(mu_);
  return parked_;
}

ParkedConnections::ParkedConnections() : wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

ParkedConnections::~ParkedConnections() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

std::function<void()> ParkedConnections::WakeFor(int fd) {
  return [this, fd] {
    {
      std::lock_guard lock(woken_mu_);
      woken_.push_back(fd);
    }
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  };
}

std::vector<int> ParkedConnections::TakeWoken() {
  uint64_t count;
  (void)!read(wake_fd_, &count, sizeof(count));
  std::lock_guard lock(woken_mu_);
  return std::exchange(woken_, {});
}

std::vector<int> ParkedConnections::Expired(uint64_t now_ms) const {
  std::vector<int> expired;
  for (const auto& [fd, deadline] : deadlines_) {
    if (deadline != 0 && deadline <= now_ms) expired.push_back(fd);
  }
  return expired;
}

int ParkedConnections::TimeoutMs(uint64_t now_ms) const {
  uint64_t nearest = std::numeric_limits<uint64_t>::max();
  for (const auto& [fd, deadline] : deadlines_) {
    if (deadline != 0) nearest = std::min(nearest, deadline);
  }
  if (nearest == std::numeric_limits<uint64_t>::max()) return -1;
  if (nearest <= now_ms) return 0;
  return static_cast<int>(std::min<uint64_t>(nearest - now_ms, 60'000));
}

}  // namespace xdpkv
