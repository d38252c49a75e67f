#include "services/logging.h"

#include <memory>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {

void AppendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
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
        } else {
          out += c;
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
