// libFuzzer target for the RESP2 request parser. Checks, on every input:
//  - results stay inside the input and always make progress;
//  - "need more" asks for more than is there;
//  - a parsed command, re-encoded as a multibulk request, parses back to the
//    same arguments (the encoder and the parser agree);
//  - the command table's checks never throw or crash on any argument list.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/redis_commands.h"
#include "protocol/resp.h"

namespace resp = xdpkv::resp;

static void Check(bool ok) {
  if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  resp::ParseOptions options;
  options.max_bulk_length = 1 << 16;

  std::string_view rest = input;
  for (int commands = 0; commands < 1000 && !rest.empty(); ++commands) {
    const resp::ParseResult r = resp::ParseCommand(rest, options);
    if (r.status == resp::ParseStatus::kNeedMore) {
      Check(r.consumed == 0 && r.need_at_least > rest.size());
      break;
    }
    if (r.status == resp::ParseStatus::kError) {
      Check(r.error_reply.starts_with("-ERR Protocol error: ") && r.error_reply.ends_with("\r\n"));
      break;
    }
    Check(r.consumed > 0 && r.consumed <= rest.size());
    if (r.status == resp::ParseStatus::kCommand) {
      Check(!r.command.args.empty());
      std::string encoded;
      resp::AppendArrayHeader(&encoded, r.command.args.size());
      for (std::string_view arg : r.command.args) resp::AppendBulk(&encoded, arg);
      const resp::ParseResult again = resp::ParseCommand(encoded, options);
      Check(again.status == resp::ParseStatus::kCommand && again.consumed == encoded.size());
      Check(again.command.args.size() == r.command.args.size());
      for (size_t i = 0; i < r.command.args.size(); ++i) {
        Check(again.command.args[i] == r.command.args[i]);
      }
      const auto error = resp::CheckCommand(r.command.args);
      if (error) Check(error->starts_with("-ERR ") && error->ends_with("\r\n"));
    }
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
