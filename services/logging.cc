#include "services/logging.h"

#include <memory>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {

// The length of the well-formed UTF-8 sequence at s[i] (Unicode table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF), 0 if none.
size_t Utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // Range of the second byte.
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

// JSON string contents: quotes, backslashes and control characters
// escaped; bytes that are not UTF-8 (messages may echo what clients sent)
// replaced by U+FFFD, so that the line stays valid JSON.
void AppendEscaped(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else if (static_cast<unsigned char>(c) < 0x80) {
          out += c;
        } else if (const size_t n = Utf8Length(s, i); n > 0) {
          out.append(s.substr(i, n));
          i += n - 1;
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD, for this byte.
        }
    }
  }
}

class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    const absl::Time t = absl::FromChrono(msg.time);
    const std::string time =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
    // The names --log-level takes ("warn", not spdlog's "warning").
    const auto name = spdlog::level::to_string_view(msg.level);
    std::string_view level(name.data(), name.size());
    if (msg.level == spdlog::level::warn) level = "warn";
    std::string line =
        JsonLogLine(time, level, static_cast<int64_t>(msg.thread_id),
                    std::string_view(msg.payload.data(), msg.payload.size()));
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::string JsonLogLine(std::string_view time, std::string_view level,
                        int64_t thread, std::string_view message) {
  std::string out = "{\"time\":\"";
  AppendEscaped(out, time);
  out += "\",\"level\":\"";
  AppendEscaped(out, level);
  out += fmt::format("\",\"service\":\"voronka\",\"thread\":{},\"msg\":\"",
                     thread);
  AppendEscaped(out, message);
  out += "\"}";
  return out;
}

void AddLoggingFlags(CLI::App& app, LoggingFlags& flags) {
  app.add_option("--log-format", flags.format,
                 "Log lines on stderr: text (for people) or json (JSON "
                 "Lines for log pipelines)")
      ->envname("VORONKA_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", flags.level,
                 "Least severe level logged: trace, debug, info, warn, "
                 "error, off")
      ->envname("VORONKA_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

absl::Status ConfigureLogging(const LoggingFlags& flags) {
  const spdlog::level::level_enum level = spdlog::level::from_str(flags.level);
  if (level == spdlog::level::off && flags.level != "off") {
    return absl::InvalidArgumentError(
        fmt::format("--log-level: unknown level \"{}\"", flags.level));
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  if (flags.format == "json") {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else if (flags.format == "text") {
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "--log-format: \"{}\" is neither text nor json", flags.format));
  }
  auto logger = std::make_shared<spdlog::logger>("voronka", std::move(sink));
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace voronka
