// Redis's persistence commands and schedule over RDB snapshots
// (proxy/snapshot.h): SAVE, BGSAVE (a thread; the server keeps serving),
// LASTSAVE, the `save` schedule, and INFO persistence's figures. One per
// server; every method is safe from any thread. docs/protocols.md,
// "Persistence", says what is saved, when, and with which consistency.
#ifndef XDPKV_PROXY_PERSISTENCE_H_
#define XDPKV_PROXY_PERSISTENCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "proxy/snapshot.h"
#include "proxy/store.h"

namespace xdpkv {

// "save <seconds> <changes>": save when at least `changes` writes happened
// and `seconds` passed since the last save.
struct SavePoint {
  int64_t seconds = 0;
  int64_t changes = 0;
  bool operator==(const SavePoint&) const = default;
};

// Redis 7.0's parsing of the `save` value ("3600 1 300 100"; "" is none):
// pairs of integers, seconds >= 1, changes >= 0. nullopt: Redis's "Invalid
// save parameters".
std::optional<std::vector<SavePoint>> ParseSavePoints(std::string_view text);
std::string FormatSavePoints(const std::vector<SavePoint>& points);

struct PersistenceConfig {
  std::string dir = ".";  // made absolute by the constructor
  std::string dbfilename = "dump.rdb";
  std::vector<SavePoint> save;  // none: no scheduled saves
  bool compress = true;         // rdbcompression
  std::string version;          // xdpkv's, written into dumps
};

class Persistence {
 public:
  // `changes` counts every write to the store so far, kernel's included
  // (Redis's dirty counter before subtraction); `unix_minus_boot_ms` gives
  // the store's clock offset at the time of a save.
  Persistence(Store& store, PersistenceConfig config, std::function<uint64_t()> changes,
              std::function<int64_t()> unix_minus_boot_ms);
  ~Persistence();  // cancels a running BGSAVE
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  // SAVE: on the caller's thread. FailedPrecondition while a BGSAVE runs
  // (Redis's "Background save already in progress").
  absl::Status Save();
  // BGSAVE: starts the save on a thread of its own. FailedPrecondition
  // while one runs.
  absl::Status StartBackgroundSave();
  // Stops a running BGSAVE and waits for it (its temporary file is
  // removed, the previous dump untouched). For shutdown.
  void CancelBackgroundSave();
  // Once per chore tick: reaps a finished BGSAVE and starts one when a
  // save point is due (as Redis's serverCron: a failed one is retried
  // after 5 s).
  void Tick(int64_t now_unix_s);
  // Whether anything was written since the last successful save began.
  bool ChangedSinceLastSave() const;

  // Records what loading the dump at start did (INFO's rdb_last_load_*),
  // and counts the time of the load as the last save (Redis: lastsave is
  // the start time; the dump on disk is then what the store holds).
  void NoteLoad(const LoadResult& result);

  // ---- configuration (flags, CONFIG GET/SET) ----
  std::string dir() const;
  // An existing directory (made absolute); the error is strerror's words.
  absl::Status SetDir(std::string_view dir);
  std::string dbfilename() const;
  // A file name, not a path ("dbfilename can't be a path, just a filename").
  absl::Status SetDbFilename(std::string_view name);
  std::vector<SavePoint> save_points() const;
  void SetSavePoints(std::vector<SavePoint> points);
  bool compress() const { return compress_.load(); }
  void SetCompress(bool on) { compress_ = on; }
  // dir/dbfilename.
  std::string path() const;

  struct Info {
    uint64_t changes_since_last_save = 0;
    bool bgsave_in_progress = false;
    int64_t last_save_time = 0;         // unix s of the last successful save (start: start time)
    bool last_bgsave_ok = true;         // the last save's outcome (SAVE or BGSAVE)
    int64_t last_bgsave_time_sec = -1;  // how long the last BGSAVE took
    int64_t current_bgsave_time_sec = -1;
    uint64_t saves = 0;  // successful and failed, as Redis's rdb_saves
    uint64_t last_save_keys = 0;
    uint64_t last_save_bytes = 0;
    uint64_t last_load_keys_loaded = 0;
    uint64_t last_load_keys_expired = 0;
    uint64_t last_load_keys_skipped = 0;  // other types, databases, sizes, empty collections
    std::string last_error;               // the last failed save's reason
  };
  Info GetInfo() const;

 private:
  // One save into path(), under save_mu_; records its outcome.
  absl::Status RunSave(bool background, const std::atomic<bool>* cancel);
  void JoinFinishedBackgroundSave();

  Store& store_;
  std::function<uint64_t()> changes_;
  std::function<int64_t()> unix_minus_boot_ms_;
  std::atomic<bool> compress_;
  std::string version_;

  mutable std::mutex mu_;  // everything below but save_mu_ and the atomics
  std::string dir_;
  std::string dbfilename_;
  std::vector<SavePoint> save_points_;
  uint64_t changes_at_last_save_ = 0;  // changes() when the last good save began
  int64_t last_save_time_ = 0;
  int64_t last_try_time_ = 0;
  bool last_ok_ = true;
  std::string last_error_;
  int64_t last_bgsave_seconds_ = -1;
  int64_t bgsave_started_ = 0;
  uint64_t saves_ = 0;
  uint64_t last_save_keys_ = 0, last_save_bytes_ = 0;
  uint64_t load_loaded_ = 0, load_expired_ = 0, load_skipped_ = 0;
  std::thread background_;
  std::atomic<bool> background_running_{false};
  std::atomic<bool> cancel_{false};

  std::mutex save_mu_;  // one save at a time
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_PERSISTENCE_H_
