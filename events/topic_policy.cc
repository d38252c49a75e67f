#include "events/topic_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"

namespace voronka {
namespace {

constexpr char kRetentionMs[] = "retention.ms";
constexpr char kRetentionBytes[] = "retention.bytes";
constexpr char kCleanupPolicy[] = "cleanup.policy";
constexpr char kMinInsync[] = "min.insync.replicas";
constexpr char kUnclean[] = "unclean.leader.election.enable";

absl::Status CheckTopicName(const std::string& flag, const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") {
    return absl::InvalidArgumentError(fmt::format(
        "{} \"{}\": a Kafka topic name is 1 to 249 characters, not . or ..",
        flag, name));
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
          c == '-')) {
      return absl::InvalidArgumentError(fmt::format(
          "{} \"{}\": a Kafka topic name has only a-z A-Z 0-9 . _ -", flag,
          name));
    }
  }
  return absl::OkStatus();
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "7d", "36h", "90m" for messages; "infinite" for negative values.
std::string DescribeMs(int64_t ms) {
  if (ms < 0) return "-1 (infinite)";
  const absl::Duration d = absl::Milliseconds(ms);
  return fmt::format("{} ({})", ms, absl::FormatDuration(d));
}

// Collects the findings of one topic.
class Checker {
 public:
  Checker(const TopicRequirements& t, const DescribedTopic& found)
      : t_(t), found_(found) {}

  std::vector<TopicFinding> Run() {
    if (!found_.exists) {
      Add("topic", "missing", "present", FindingLevel::kMissing,
          "the topic does not exist (voronka topics create makes it)");
      return std::move(out_);
    }
    CheckPartitions();
    CheckReplication();
    if (!found_.config.has_value()) {
      // The reason once; each setting below then refers to it.
      Add("configuration", "unreadable", "DescribeConfigs answer",
          FindingLevel::kUnverified, found_.config_error);
    }
    CheckRetentionMs();
    CheckRetentionBytes();
    CheckCleanupPolicy();
    CheckMinInsync();
    CheckUnclean();
    return std::move(out_);
  }

 private:
  void Add(std::string setting, std::string found, std::string required,
           FindingLevel level, std::string why) {
    out_.push_back({.topic = t_.topic,
                    .setting = std::move(setting),
                    .found = std::move(found),
                    .required = std::move(required),
                    .level = level,
                    .why = std::move(why)});
  }

  void CheckPartitions() {
    const int n = static_cast<int>(found_.replicas.size());
    const std::string required =
        t_.role == TopicRole::kEvents
            ? std::to_string(t_.partitions)
            : fmt::format("{} (advice)", t_.partitions);
    if (n == t_.partitions) {
      Add("partitions", std::to_string(n), required, FindingLevel::kOk, "");
    } else if (t_.role == TopicRole::kEvents) {
      Add("partitions", std::to_string(n), required, FindingLevel::kMismatch,
          "an event store's partition count never changes (the key -> "
          "partition mapping would move an organisation's later events away "
          "from its earlier ones); pass --partitions with the topic's count "
          "if it is the one you meant");
    } else {
      Add("partitions", std::to_string(n), required, FindingLevel::kWarning,
          "differs from --partitions; harmless for this topic");
    }
  }

  void CheckReplication() {
    if (found_.replicas.empty()) {
      Add("replication.factor", "no partitions",
          std::to_string(t_.replication_factor), FindingLevel::kMismatch,
          "the topic has no partitions");
      return;
    }
    const auto [lo, hi] =
        std::minmax_element(found_.replicas.begin(), found_.replicas.end());
    min_replicas_ = *lo;
    std::string text = std::to_string(*lo);
    if (*lo != *hi) text = fmt::format("{} to {} (uneven)", *lo, *hi);
    const std::string required = fmt::format(">= {}", t_.replication_factor);
    if (*lo < t_.replication_factor) {
      Add("replication.factor", text, required, FindingLevel::kMismatch,
          "fewer copies than asked: losing that many brokers loses "
          "acknowledged records");
    } else {
      Add("replication.factor", text, required, FindingLevel::kOk, "");
    }
  }

  // The value of `key`, or nullptr after adding a kUnverified finding.
  const ConfigValue* Config(const std::string& key,
                            const std::string& required) {
    if (!found_.config.has_value()) {
      Add(key, "unknown", required, FindingLevel::kUnverified,
          "the topic's configuration is unreadable (see above)");
      return nullptr;
    }
    auto it = found_.config->find(key);
    if (it == found_.config->end()) {
      Add(key, "not reported", required, FindingLevel::kUnverified,
          "the broker's DescribeConfigs answer does not list it");
      return nullptr;
    }
    return &it->second;
  }

  static std::string Shown(const ConfigValue& v) {
    if (v.source.empty() || v.source == "topic") return v.value;
    return fmt::format("{} ({})", v.value, v.source);
  }

  // For the events topic, a history-keeping value that is only inherited
  // from the broker would change with the broker's default.
  void AddKept(const std::string& key, const ConfigValue& v,
               const std::string& required, std::string shown = "") {
    if (shown.empty()) shown = Shown(v);
    if (t_.role == TopicRole::kEvents && v.is_default) {
      Add(key, std::move(shown), required, FindingLevel::kWarning,
          "inherited, not set on the topic: changing the broker's default "
          "would change it; set it on the topic");
    } else {
      Add(key, std::move(shown), required, FindingLevel::kOk, "");
    }
  }

  void CheckRetentionMs() {
    const std::string required =
        t_.role == TopicRole::kInbox
            ? fmt::format("-1 or >= {}", DescribeMs(t_.retention_ms))
            : "-1 (infinite)";
    const ConfigValue* v = Config(kRetentionMs, required);
    if (v == nullptr) return;
    std::optional<int64_t> ms = ParseInt(v->value);
    if (!ms.has_value()) {
      Add(kRetentionMs, Shown(*v), required, FindingLevel::kUnverified,
          "not a number");
      return;
    }
    const std::string shown =
        v->value == Shown(*v)
            ? DescribeMs(*ms)
            : fmt::format("{} ({})", DescribeMs(*ms), v->source);
    if (*ms < 0) {
      AddKept(kRetentionMs, *v, required, shown);
      return;
    }
    switch (t_.role) {
      case TopicRole::kEvents:
        Add(kRetentionMs, shown, required, FindingLevel::kLosesHistory,
            "the broker deletes events older than this: the event log is the "
            "only copy of history");
        break;
      case TopicRole::kInbox:
        if (*ms < t_.retention_ms) {
          Add(kRetentionMs, shown, required, FindingLevel::kMismatch,
              "shorter than asked: an ingest outage longer than this loses "
              "events not yet appended to the event log");
        } else {
          Add(kRetentionMs, shown, required, FindingLevel::kOk, "");
        }
        break;
      case TopicRole::kDeadLetter:
        Add(kRetentionMs, shown, required, FindingLevel::kWarning,
            "dead letters older than this are deleted before anyone looks");
        break;
    }
  }

  void CheckRetentionBytes() {
    const std::string required = "-1 (no size limit)";
    const ConfigValue* v = Config(kRetentionBytes, required);
    if (v == nullptr) return;
    std::optional<int64_t> bytes = ParseInt(v->value);
    if (!bytes.has_value()) {
      Add(kRetentionBytes, Shown(*v), required, FindingLevel::kUnverified,
          "not a number");
    } else if (*bytes < 0) {
      AddKept(kRetentionBytes, *v, required);
    } else if (t_.role == TopicRole::kEvents) {
      Add(kRetentionBytes, Shown(*v), required, FindingLevel::kLosesHistory,
          "the broker deletes the oldest events once a partition is this "
          "large: the event log is the only copy of history");
    } else {
      Add(kRetentionBytes, Shown(*v), required, FindingLevel::kWarning,
          "a burst larger than this per partition deletes records before "
          "they are read");
    }
  }

  void CheckCleanupPolicy() {
    const std::string required = "delete";
    const ConfigValue* v = Config(kCleanupPolicy, required);
    if (v == nullptr) return;
    std::vector<std::string> policies =
        absl::StrSplit(v->value, ',', absl::SkipWhitespace());
    for (std::string& p : policies) {
      p.erase(std::remove(p.begin(), p.end(), ' '), p.end());
    }
    if (std::find(policies.begin(), policies.end(), "compact") !=
        policies.end()) {
      Add(kCleanupPolicy, Shown(*v), required, FindingLevel::kLosesHistory,
          "compaction keeps only the newest record of each key and deletes "
          "the rest of its history");
    } else if (policies == std::vector<std::string>{"delete"}) {
      AddKept(kCleanupPolicy, *v, required);
    } else {
      Add(kCleanupPolicy, Shown(*v), required, FindingLevel::kMismatch,
          "not a policy this check knows to keep history");
    }
  }

  void CheckMinInsync() {
    const std::string required = fmt::format(">= {}", t_.min_insync_replicas);
    const ConfigValue* v = Config(kMinInsync, required);
    if (v == nullptr) return;
    std::optional<int64_t> n = ParseInt(v->value);
    if (!n.has_value()) {
      Add(kMinInsync, Shown(*v), required, FindingLevel::kUnverified,
          "not a number");
    } else if (*n < t_.min_insync_replicas) {
      Add(kMinInsync, Shown(*v), required, FindingLevel::kMismatch,
          "an acknowledged append may live on fewer brokers than asked; one "
          "lost disk can lose it");
    } else if (min_replicas_ > 0 && *n > min_replicas_) {
      Add(kMinInsync, Shown(*v), required, FindingLevel::kMismatch,
          fmt::format("more than the {} replicas of a partition: every "
                      "append is refused (NOT_ENOUGH_REPLICAS)",
                      min_replicas_));
    } else if (*n == min_replicas_ && min_replicas_ > 1) {
      Add(kMinInsync, Shown(*v), required, FindingLevel::kWarning,
          "equal to the replication factor: one broker down stops appends");
    } else {
      Add(kMinInsync, Shown(*v), required, FindingLevel::kOk, "");
    }
  }

  void CheckUnclean() {
    const std::string required = "false";
    const ConfigValue* v = Config(kUnclean, required);
    if (v == nullptr) return;
    if (v->value == "false") {
      Add(kUnclean, Shown(*v), required, FindingLevel::kOk, "");
    } else if (v->value == "true") {
      Add(kUnclean, Shown(*v), required, FindingLevel::kLosesHistory,
          "an out-of-sync replica may become leader and truncate "
          "acknowledged records");
    } else {
      Add(kUnclean, Shown(*v), required, FindingLevel::kUnverified,
          "neither true nor false");
    }
  }

  const TopicRequirements& t_;
  const DescribedTopic& found_;
  int min_replicas_ = 0;
  std::vector<TopicFinding> out_;
};

}  // namespace

std::string_view TopicRoleName(TopicRole role) {
  switch (role) {
    case TopicRole::kEvents:
      return "events";
    case TopicRole::kInbox:
      return "inbox";
    case TopicRole::kDeadLetter:
      return "dead letter";
  }
  return "?";
}

std::string_view FindingLevelName(FindingLevel level) {
  switch (level) {
    case FindingLevel::kOk:
      return "ok";
    case FindingLevel::kWarning:
      return "WARNING";
    case FindingLevel::kUnverified:
      return "UNVERIFIED";
    case FindingLevel::kMissing:
      return "MISSING";
    case FindingLevel::kMismatch:
      return "MISMATCH";
    case FindingLevel::kLosesHistory:
      return "LOSES HISTORY";
  }
  return "?";
}

absl::Status ValidateTopicPolicyOptions(const TopicPolicyOptions& o) {
  if (o.partitions < 1) {
    return absl::InvalidArgumentError("--partitions must be at least 1");
  }
  if (o.replication_factor < 1) {
    return absl::InvalidArgumentError(
        "--replication-factor must be at least 1");
  }
  if (o.min_insync_replicas < 1) {
    return absl::InvalidArgumentError(
        "--min-insync-replicas must be at least 1");
  }
  if (o.min_insync_replicas > o.replication_factor) {
    return absl::InvalidArgumentError(fmt::format(
        "--min-insync-replicas {} is more than --replication-factor {}: "
        "every append would be refused",
        o.min_insync_replicas, o.replication_factor));
  }
  if (o.inbox_retention < absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "the inbox retention must be at least 1h");
  }
  if (absl::Status s = CheckTopicName("--topic", o.events_topic); !s.ok()) {
    return s;
  }
  if (!o.inbox_topic.empty()) {
    if (absl::Status s = CheckTopicName("--inbox-topic", o.inbox_topic);
        !s.ok()) {
      return s;
    }
  }
  if (!o.dead_letter_topic.empty()) {
    if (absl::Status s =
            CheckTopicName("--dead-letter-topic", o.dead_letter_topic);
        !s.ok()) {
      return s;
    }
  }
  if (o.inbox_topic == o.events_topic ||
      o.dead_letter_topic == o.events_topic ||
      (!o.inbox_topic.empty() && o.inbox_topic == o.dead_letter_topic)) {
    return absl::InvalidArgumentError(
        "the events, inbox and dead-letter topics must be three different "
        "topics");
  }
  return absl::OkStatus();
}

std::vector<TopicRequirements> RequiredTopics(const TopicPolicyOptions& o) {
  std::vector<TopicRequirements> out;
  const TopicRequirements base{.partitions = o.partitions,
                               .replication_factor = o.replication_factor,
                               .min_insync_replicas = o.min_insync_replicas};
  TopicRequirements events = base;
  events.topic = o.events_topic;
  events.role = TopicRole::kEvents;
  out.push_back(events);
  if (!o.inbox_topic.empty()) {
    TopicRequirements inbox = base;
    inbox.topic = o.inbox_topic;
    inbox.role = TopicRole::kInbox;
    inbox.retention_ms = absl::ToInt64Milliseconds(o.inbox_retention);
    out.push_back(inbox);
  }
  if (!o.dead_letter_topic.empty()) {
    TopicRequirements dlq = base;
    dlq.topic = o.dead_letter_topic;
    dlq.role = TopicRole::kDeadLetter;
    out.push_back(dlq);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> CreationConfig(
    const TopicRequirements& t) {
  return {
      {kCleanupPolicy, "delete"},
      {kRetentionMs, std::to_string(t.retention_ms < 0 ? -1 : t.retention_ms)},
      {kRetentionBytes, "-1"},
      {kMinInsync, std::to_string(t.min_insync_replicas)},
      {kUnclean, "false"}};
}

std::vector<TopicFinding> CheckTopic(const TopicRequirements& t,
                                     const DescribedTopic& found) {
  return Checker(t, found).Run();
}

absl::Status TopicCheckStatus(const std::vector<TopicFinding>& findings,
                              bool allow_unverified) {
  FindingLevel worst = FindingLevel::kOk;
  std::vector<std::string> problems;
  // Unverified settings are listed by name, each distinct reason once.
  std::vector<std::string> unverified;
  std::vector<std::string> reasons;
  for (const TopicFinding& f : findings) {
    if (f.level == FindingLevel::kOk || f.level == FindingLevel::kWarning) {
      continue;
    }
    if (f.level == FindingLevel::kUnverified) {
      if (allow_unverified) continue;
      if (f.setting == "configuration") {
        reasons.push_back(fmt::format("{}: {}", f.topic, f.why));
        continue;
      }
      unverified.push_back(fmt::format("{} {}", f.topic, f.setting));
      if (f.why.find("see above") == std::string::npos) {
        reasons.push_back(fmt::format("{} {}: {}", f.topic, f.setting, f.why));
      }
    } else {
      problems.push_back(fmt::format("{} {}: found {}, required {} ({})",
                                     f.topic, f.setting, f.found, f.required,
                                     f.why));
    }
    worst = std::max(worst, f.level);
  }
  if (!unverified.empty()) {
    problems.push_back(fmt::format(
        "could not verify {} ({}); unverified is not verified "
        "(--allow-unverified accepts it)",
        absl::StrJoin(unverified, ", "), absl::StrJoin(reasons, "; ")));
  }
  if (problems.empty()) return absl::OkStatus();
  const std::string message = fmt::format("{} problem{}: {}", problems.size(),
                                          problems.size() == 1 ? "" : "s",
                                          absl::StrJoin(problems, "; "));
  switch (worst) {
    case FindingLevel::kLosesHistory:
      return absl::DataLossError(message);
    case FindingLevel::kMismatch:
      return absl::InvalidArgumentError(message);
    case FindingLevel::kMissing:
      return absl::NotFoundError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

std::string FormatFinding(const TopicFinding& f) {
  std::string line =
      fmt::format("{} {} = {} (required {}): {}", f.topic, f.setting, f.found,
                  f.required, FindingLevelName(f.level));
  if (!f.why.empty()) line += " — " + f.why;
  return line;
}

}  // namespace voronka
