// Redis's persistence commands over RDB snapshots (proxy/persistence.h):
// SAVE BGSAVE LASTSAVE SHUTDOWN, with Redis 7.0's replies and errors.
#include <string>

#include "absl/strings/str_cat.h"
#include "proxy/commands/redis_family.h"
#include "proxy/persistence.h"

namespace xdpkv::redis {
namespace {

constexpr std::string_view kNoPersistence = "ERR persistence is not configured on this server";

// SAVE: "+OK", or Redis's bare "-ERR" when the save failed (the reason is
// in the log and in INFO persistence).
void Save(Call& call) {
  Persistence* persistence = call.context.persistence;
  if (persistence == nullptr) return call.Error(kNoPersistence);
  const absl::Status status = persistence->Save();
  if (status.ok()) return call.Ok();
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    return call.Error(absl::StrCat("ERR ", std::string(status.message())));
  }
  call.Error("ERR");
}

void Bgsave(Call& call) {
  Persistence* persistence = call.context.persistence;
  if (call.args.size() > 2 || (call.args.size() == 2 && !Is(call.args[1], "SCHEDULE"))) {
    return call.Error(kSyntax);
  }
  if (persistence == nullptr) return call.Error(kNoPersistence);
  const absl::Status status = persistence->StartBackgroundSave();
  if (!status.ok()) return call.Error(absl::StrCat("ERR ", std::string(status.message())));
  call.out->append("+Background saving started\r\n");
}

void Lastsave(Call& call) {
  if (call.context.persistence == nullptr) return call.Error(kNoPersistence);
  call.Integer(call.context.persistence->GetInfo().last_save_time);
}

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as Redis 7.0: saves first
// (SAVE, or save points configured, unless NOSAVE), and only if that
// worked (or FORCE) stops the server; the client gets no reply, its
// connection closes. NOW changes nothing here (no replicas to wait for).
void Shutdown(Call& call) {
  bool nosave = false, save = false, force = false, abort = false, flags = false;
  for (size_t i = 1; i < call.args.size(); ++i) {
    const std::string_view arg = call.args[i];
    if (Is(arg, "NOSAVE")) {
      nosave = flags = true;
    } else if (Is(arg, "SAVE")) {
      save = flags = true;
    } else if (Is(arg, "NOW")) {
      flags = true;
    } else if (Is(arg, "FORCE")) {
      force = flags = true;
    } else if (Is(arg, "ABORT")) {
      abort = true;
    } else {
      return call.Error(kSyntax);
    }
  }
  if ((abort && flags) || (nosave && save)) return call.Error(kSyntax);
  if (abort) return call.Error("ERR No shutdown in progress.");
  if (!call.context.request_shutdown) return call.Error("ERR SHUTDOWN is not available here");
  Persistence* persistence = call.context.persistence;
  const bool saving =
      persistence != nullptr && !nosave && (save || !persistence->save_points().empty());
  if (save && persistence == nullptr) return call.Error(kNoPersistence);
  if (saving) {
    // As Redis: a background save in progress is stopped, then a save of
    // our own.
    persistence->CancelBackgroundSave();
    if (!persistence->Save().ok() && !force) {
      return call.Error("ERR Errors trying to SHUTDOWN. Check logs.");
    }
  } else if (persistence != nullptr) {
    persistence->CancelBackgroundSave();
  }
  call.context.request_shutdown(saving ? ShutdownSave::kIfChanged : ShutdownSave::kNo);
  call.close = true;
}

}  // namespace

void RegisterPersistenceFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"save", kAdmin | kNoScript, 1, 0, 0}.Handle(Save)
            << CI{"bgsave", kAdmin | kNoScript, -1, 0, 0}.Handle(Bgsave)
            << CI{"lastsave", kLoading | kStale | kFast, 1, 0, 0}.Handle(Lastsave)
            << CI{"shutdown", kAdmin | kNoScript | kLoading | kStale, -1, 0, 0}.Handle(Shutdown);
}

}  // namespace xdpkv::redis
