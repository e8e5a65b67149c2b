#include "proxy/persistence.h"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace xdpkv {
namespace {

// Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed save, the schedule
// tries again this much later at the earliest.
constexpr int64_t kRetryDelaySeconds = 5;

double MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string Absolute(const std::string& dir) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(dir, ec);
  return ec ? dir : absolute.lexically_normal().string();
}

}  // namespace

std::optional<std::vector<SavePoint>> ParseSavePoints(std::string_view text) {
  std::vector<std::string_view> words;
  while (!text.empty()) {
    const size_t start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const size_t end = std::min(text.find(' '), text.size());
    words.push_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  if (words.size() % 2 != 0) return std::nullopt;
  std::vector<SavePoint> points;
  for (size_t i = 0; i < words.size(); i += 2) {
    SavePoint point;
    int64_t* fields[2] = {&point.seconds, &point.changes};
    for (int f = 0; f < 2; ++f) {
      const std::string_view word = words[i + f];
      const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), *fields[f]);
      if (ec != std::errc() || end != word.data() + word.size()) return std::nullopt;
    }
    if (point.seconds < 1 || point.changes < 0) return std::nullopt;
    points.push_back(point);
  }
  return points;
}

std::string FormatSavePoints(const std::vector<SavePoint>& points) {
  return absl::StrJoin(points, " ", [](std::string* out, const SavePoint& p) {
    absl::StrAppend(out, p.seconds, " ", p.changes);
  });
}

Persistence::Persistence(Store& store, PersistenceConfig config, std::function<uint64_t()> changes,
                         std::function<int64_t()> unix_minus_boot_ms)
    : store_(store),
      changes_(std::move(changes)),
      unix_minus_boot_ms_(std::move(unix_minus_boot_ms)),
      compress_(config.compress),
      version_(std::move(config.version)),
      dir_(Absolute(config.dir)),
      dbfilename_(std::move(config.dbfilename)),
      save_points_(std::move(config.save)) {
  // As Redis: at start the store counts as saved.
  changes_at_last_save_ = changes_();
  last_save_time_ = time(nullptr);
}

Persistence::~Persistence() { CancelBackgroundSave(); }

std::string Persistence::dir() const {
  std::lock_guard lock(mu_);
  return dir_;
}

absl::Status Persistence::SetDir(std::string_view dir) {
  const std::string path(dir);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return absl::NotFoundError(std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(std::strerror(ENOTDIR));
  std::lock_guard lock(mu_);
  dir_ = Absolute(path);
  return absl::OkStatus();
}

std::string Persistence::dbfilename() const {
  std::lock_guard lock(mu_);
  return dbfilename_;
}

absl::Status Persistence::SetDbFilename(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError("dbfilename can't be a path, just a filename");
  }
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError("dbfilename must name a file");
  }
  std::lock_guard lock(mu_);
  dbfilename_ = std::string(name);
  return absl::OkStatus();
}

std::vector<SavePoint> Persistence::save_points() const {
  std::lock_guard lock(mu_);
  return save_points_;
}

void Persistence::SetSavePoints(std::vector<SavePoint> points) {
  std::lock_guard lock(mu_);
  save_points_ = std::move(points);
}

std::string Persistence::path() const {
  std::lock_guard lock(mu_);
  return (std::filesystem::path(dir_) / dbfilename_).string();
}

absl::Status Persistence::RunSave(bool background, const std::atomic<bool>* cancel) {
  std::lock_guard one_at_a_time(save_mu_);
  const uint64_t changes_before = changes_();
  const std::string target = path();
  SaveOptions options;
  options.compress = compress_.load();
  options.unix_minus_boot_ms = unix_minus_boot_ms_();
  options.now_unix_s = time(nullptr);
  options.version = version_;
  options.cancel = cancel;
  const double started = MonotonicSeconds();
  auto saved = SaveRdbFile(store_, target, options);
  const double took = MonotonicSeconds() - started;
  const int64_t now = time(nullptr);
  std::lock_guard lock(mu_);
  if (saved.status().code() == absl::StatusCode::kCancelled) {
    std::printf("xdpkv: background save cancelled (%s left as it was)\n", target.c_str());
    std::fflush(stdout);
    return saved.status();
  }
  ++saves_;
  last_try_time_ = now;
  if (background) last_bgsave_seconds_ = static_cast<int64_t>(took + 0.5);
  if (!saved.ok()) {
    last_ok_ = false;
    last_error_ = std::string(saved.status().message());
    std::fprintf(stderr, "xdpkv: %s failed, %s left as it was: %s\n",
                 background ? "background save" : "save", target.c_str(), last_error_.c_str());
    return saved.status();
  }
  last_ok_ = true;
  last_error_.clear();
  changes_at_last_save_ = changes_before;
  last_save_time_ = now;
  last_save_keys_ = saved->keys;
  last_save_bytes_ = saved->bytes;
  std::printf("xdpkv: DB saved on disk%s: %s, %llu keys, %llu bytes in %.3f s\n",
              background ? " (background)" : "", target.c_str(),
              static_cast<unsigned long long>(saved->keys),
              static_cast<unsigned long long>(saved->bytes), took);
  if (saved->corrupt != 0) {
    std::fprintf(stderr,
                 "xdpkv: the dump left out %llu keys whose stored value is not its type's "
                 "encoding (corrupt; Redis's commands on them answer an error too)\n",
                 static_cast<unsigned long long>(saved->corrupt));
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Persistence::Save() {
  if (background_running_.load()) {
    return absl::FailedPreconditionError("Background save already in progress");
  }
  return RunSave(/*background=*/false, nullptr);
}

void Persistence::JoinFinishedBackgroundSave() {
  std::thread finished;
  {
    std::lock_guard lock(mu_);
    if (!background_.joinable() || background_running_.load()) return;
    finished = std::move(background_);
  }
  finished.join();
}

absl::Status Persistence::StartBackgroundSave() {
  JoinFinishedBackgroundSave();
  std::lock_guard lock(mu_);
  if (background_running_.load() || background_.joinable()) {
    return absl::FailedPreconditionError("Background save already in progress");
  }
  cancel_ = false;
  background_running_ = true;
  bgsave_started_ = time(nullptr);
  background_ = std::thread([this] {
    (void)RunSave(/*background=*/true, &cancel_);
    background_running_ = false;
  });
  return absl::OkStatus();
}

void Persistence::CancelBackgroundSave() {
  std::thread running;
  {
    std::lock_guard lock(mu_);
    if (!background_.joinable()) return;
    cancel_ = true;
    running = std::move(background_);
  }
  running.join();
  cancel_ = false;
}

bool Persistence::ChangedSinceLastSave() const {
  const uint64_t now = changes_();
  std::lock_guard lock(mu_);
  return now != changes_at_last_save_;
}

void Persistence::Tick(int64_t now_unix_s) {
  JoinFinishedBackgroundSave();
  if (background_running_.load()) return;
  const uint64_t changes = changes_();
  std::optional<SavePoint> due;
  {
    std::lock_guard lock(mu_);
    const uint64_t dirty = changes - changes_at_last_save_;
    for (const SavePoint& point : save_points_) {
      if (dirty >= static_cast<uint64_t>(point.changes) &&
          now_unix_s - last_save_time_ > point.seconds &&
          (now_unix_s - last_try_time_ > kRetryDelaySeconds || last_ok_)) {
        due = point;
        break;
      }
    }
  }
  if (!due) return;
  std::printf("xdpkv: %lld changes in %lld seconds. Saving...\n",
              static_cast<long long>(due->changes), static_cast<long long>(due->seconds));
  std::fflush(stdout);
  (void)StartBackgroundSave();
}

void Persistence::NoteLoad(const LoadResult& result) {
  const uint64_t changes = changes_();
  std::lock_guard lock(mu_);
  load_loaded_ = result.loaded;
  load_expired_ = result.expired;
  load_skipped_ = result.no_database + result.unfit + result.empty;
  for (const auto& [type, count] : result.stats.skipped) load_skipped_ += count;
  changes_at_last_save_ = changes;
}

Persistence::Info Persistence::GetInfo() const {
  const uint64_t changes = changes_();
  const int64_t now = time(nullptr);
  std::lock_guard lock(mu_);
  Info info;
  info.changes_since_last_save = changes - changes_at_last_save_;
  info.bgsave_in_progress = background_running_.load();
  info.last_save_time = last_save_time_;
  info.last_bgsave_ok = last_ok_;
  info.last_bgsave_time_sec = last_bgsave_seconds_;
  info.current_bgsave_time_sec = info.bgsave_in_progress ? now - bgsave_started_ : -1;
  info.saves = saves_;
  info.last_save_keys = last_save_keys_;
  info.last_save_bytes = last_save_bytes_;
  info.last_load_keys_loaded = load_loaded_;
  info.last_load_keys_expired = load_expired_;
  info.last_load_keys_skipped = load_skipped_;
  info.last_error = last_error_;
  return info;
}

}  // namespace xdpkv
