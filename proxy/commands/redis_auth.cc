// Redis's AUTH, with requirepass as the default user's one password
// (Redis 7.0's acl.c authCommand and ACLAuthenticateUser, without other
// users). HELLO's AUTH option (redis_server.cc) authenticates through the
// same Authenticate.
#include "proxy/commands/redis_family.h"

namespace xdpkv::redis {

bool AuthRequired(const Call& call) {
  return !call.client.authenticated && call.context.runtime->requirepass.required();
}

bool Authenticate(Call& call, std::string_view user, std::string_view password) {
  // As Redis: a failed attempt leaves an authenticated client so.
  if (!call.context.runtime->requirepass.Check(user, password)) return false;
  call.client.authenticated = true;
  return true;
}

namespace {

// AUTH [user] password.
void Auth(Call& call) {
  if (call.args.size() > 3) return call.Error(kSyntax);
  std::string_view user = "default";
  std::string_view password = call.args[1];
  if (call.args.size() == 2) {
    // The one-argument form is an error when there is no password, as
    // Redis's "mimic the old behaviour".
    if (!call.context.runtime->requirepass.required()) {
      return call.Error(kRedisAuthWithoutPassword);
    }
  } else {
    user = call.args[1];
    password = call.args[2];
  }
  if (!Authenticate(call, user, password)) return call.Error(kRedisWrongPass);
  call.Ok();
}

}  // namespace

void RegisterAuthFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"auth", kNoScript | kLoading | kStale | kFast | kNoAuth, -2, 0, 0}.Handle(Auth);
}

}  // namespace xdpkv::redis
