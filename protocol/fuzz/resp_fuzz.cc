// libFuzzer target for the RESP2 request parser. Checks, on every input:
//  - results stay inside the input and always make progress;
//  - "need more" asks for more than is there;
//  - a parsed command, re-encoded as a multibulk request, parses back to the
//    same arguments (the encoder and the parser agree);
//  - the command table's checks never throw or crash on any argument list;
//  - a Parser fed the same bytes in two reads (split at every 97th byte
//    and at the end) gives what the one-shot parse gives.
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

  // Incremental: the first result must not depend on how the bytes arrived
  // (below the line limit, whose check Redis also makes per read).
  if (input.size() > resp::kMaxInlineSize) return 0;
  const resp::ParseResult whole = resp::ParseCommand(input, options);
  for (size_t cut = 0; cut < input.size(); cut += 97) {
    resp::Parser parser(options);
    resp::ParseResult first = parser.Parse(input.substr(0, cut));
    if (first.status == resp::ParseStatus::kNeedMore) first = parser.Parse(input);
    Check(first.status == whole.status && first.consumed == whole.consumed &&
          first.error_reply == whole.error_reply);
    if (first.status == resp::ParseStatus::kCommand) {
      Check(first.command.args.size() == whole.command.args.size());
      for (size_t i = 0; i < whole.command.args.size(); ++i) {
        Check(first.command.args[i] == whole.command.args[i]);
      }
    }
  }
  return 0;
}
