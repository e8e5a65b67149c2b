#include "proxy/commands/redis_family.h"
namespace xdpkv::redis {
void RegisterSetFamily(Registry*) {}
}
