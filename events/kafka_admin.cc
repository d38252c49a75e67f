// KafkaAdmin on librdkafka's Admin API. See kafka_admin.h.
#include "events/kafka_admin.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <deque>
#include <mutex>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "events/kafka_conf.h"
#include "events/status.h"
#include "fmt/format.h"

namespace voronka {
namespace {

int TimeoutMs(absl::Duration d) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, 1 << 30));
}

std::string ErrorName(rd_kafka_resp_err_t err) {
  return fmt::format("{} ({})", rd_kafka_err2name(err), rd_kafka_err2str(err));
}

// The status of a failed admin request or of one of its topics.
absl::Status AdminError(rd_kafka_resp_err_t err, const std::string& what,
                        const char* detail) {
  std::string message = fmt::format("{}: {}", what, ErrorName(err));
  if (detail != nullptr && *detail != '\0' &&
      std::string_view(detail) != rd_kafka_err2str(err)) {
    message += fmt::format(": {}", detail);
  }
  switch (err) {
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
      return absl::UnimplementedError(message);
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
      return absl::PermissionDeniedError(message);
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return absl::NotFoundError(message);
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return absl::AlreadyExistsError(message);
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return absl::InvalidArgumentError(message);
    default:
      return absl::UnavailableError(message);
  }
}

std::string SourceName(rd_kafka_ConfigSource_t source) {
  switch (source) {
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG:
      return "topic";
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG:
      return "dynamic broker config";
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG:
      return "dynamic broker default";
    case RD_KAFKA_CONFIG_SOURCE_STATIC_BROKER_CONFIG:
      return "static broker config";
    case RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG:
      return "default";
    default:
      return "";
  }
}

}  // namespace

struct KafkaAdmin::Impl {
  KafkaAdminOptions options;
  rd_kafka_t* client = nullptr;
  rd_kafka_queue_t* queue = nullptr;

  // What librdkafka last logged about its connections (warnings and
  // errors), newest last: the "broker state" of an Unavailable message.
  std::mutex mu;
  std::deque<std::string> seen;

  ~Impl() {
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
    if (client != nullptr) rd_kafka_destroy(client);
  }

  static void OnLog(const rd_kafka_t* rk, int level, const char* /*fac*/,
                    const char* buf) {
    if (level > 4) return;  // Only warnings and errors.
    auto* self = static_cast<Impl*>(rd_kafka_opaque(rk));
    std::lock_guard<std::mutex> lock(self->mu);
    std::string line = buf;
    // "[thrd:NAME]: " says which librdkafka thread; the rest names the
    // broker.
    if (line.starts_with("[thrd:")) {
      if (size_t end = line.find("]: "); end != std::string::npos) {
        line.erase(0, end + 3);
      }
    }
    if (std::find(self->seen.begin(), self->seen.end(), line) !=
        self->seen.end()) {
      return;
    }
    self->seen.push_back(std::move(line));
    if (self->seen.size() > 3) self->seen.pop_front();
  }

  std::string BrokerState() {
    std::lock_guard<std::mutex> lock(mu);
    if (seen.empty()) return "no broker answered";
    return absl::StrJoin(seen, "; ");
  }

  absl::Status Unavailable(const std::string& what, rd_kafka_resp_err_t err) {
    return absl::UnavailableError(
        fmt::format("Kafka {} on {}: {}; last seen: {}", what, options.brokers,
                    ErrorName(err), BrokerState()));
  }

  absl::Status Create() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    absl::Status s = Configure(conf);
    char errstr[512];
    if (s.ok()) {
      client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
      if (client == nullptr) {
        s = absl::InvalidArgumentError(
            fmt::format("Kafka admin client: {}", errstr));
      }
    }
    if (client == nullptr) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
    queue = rd_kafka_queue_new(client);
    return absl::OkStatus();
  }

  absl::Status Configure(rd_kafka_conf_t* conf) {
    VORONKA_RETURN_IF_ERROR(
        SetKafkaConf(conf, "bootstrap.servers", options.brokers));
    VORONKA_RETURN_IF_ERROR(
        SetKafkaConf(conf, "reconnect.backoff.max.ms", "1000"));
    for (const auto& [key, value] : options.client_config) {
      VORONKA_RETURN_IF_ERROR(SetKafkaConf(conf, key, value));
    }
    rd_kafka_conf_set_log_cb(conf, &Impl::OnLog);
    rd_kafka_conf_set_opaque(conf, this);
    return absl::OkStatus();
  }

  // One metadata request for all topics.
  absl::StatusOr<ClusterTopics> Metadata(int32_t* admin_broker) {
    // librdkafka fails at once while no broker is connected; brokers that
    // are starting get until the timeout.
    const absl::Time deadline = absl::Now() + options.timeout;
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_metadata(client, /*all_topics=*/1, nullptr, &md,
                                    TimeoutMs(deadline - absl::Now()))) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (absl::Now() + absl::Milliseconds(200) >= deadline) {
        return Unavailable("metadata", err);
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    ClusterTopics out;
    out.broker_count = md->broker_cnt;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& t = md->topics[i];
      // A topic being created may answer LEADER_NOT_AVAILABLE with its
      // partitions listed: it exists.
      if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt == 0) {
        continue;
      }
      std::vector<int>& replicas = out.replicas[t.topic];
      for (int p = 0; p < t.partition_cnt; ++p) {
        replicas.push_back(t.partitions[p].replica_cnt);
      }
    }
    if (admin_broker != nullptr && md->broker_cnt > 0) {
      const int32_t controller = rd_kafka_controllerid(client, 0);
      *admin_broker = md->brokers[0].id;
      for (int i = 0; i < md->broker_cnt; ++i) {
        if (md->brokers[i].id == controller) *admin_broker = controller;
      }
    }
    rd_kafka_metadata_destroy(md);
    return out;
  }

  // Runs one admin request on the chosen broker and returns its result
  // event (to destroy), or the request's error.
  template <typename Call>
  absl::StatusOr<rd_kafka_event_t*> Run(rd_kafka_admin_op_t op,
                                        const std::string& what, Call call) {
    int32_t broker = -1;
    VORONKA_RETURN_IF_ERROR(Metadata(&broker).status());
    char errstr[512];
    rd_kafka_AdminOptions_t* admin = rd_kafka_AdminOptions_new(client, op);
    rd_kafka_AdminOptions_set_request_timeout(admin, TimeoutMs(options.timeout),
                                              errstr, sizeof(errstr));
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
      // Wait until the topic exists on every broker before answering.
      rd_kafka_AdminOptions_set_operation_timeout(
          admin, TimeoutMs(options.timeout), errstr, sizeof(errstr));
    }
    if (broker >= 0) {
      rd_kafka_AdminOptions_set_broker(admin, broker, errstr, sizeof(errstr));
    }
    call(admin, queue);
    rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_event_t* event =
        rd_kafka_queue_poll(queue, TimeoutMs(2 * options.timeout));
    if (event == nullptr) {
      return Unavailable(what, RD_KAFKA_RESP_ERR__TIMED_OUT);
    }
    if (rd_kafka_resp_err_t err = rd_kafka_event_error(event);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      absl::Status s = AdminError(err,
                                  fmt::format("Kafka {} on broker {} of {}",
                                              what, broker, options.brokers),
                                  rd_kafka_event_error_string(event));
      rd_kafka_event_destroy(event);
      if (s.code() == absl::StatusCode::kUnavailable) {
        return absl::UnavailableError(
            fmt::format("{}; last seen: {}", MessageOf(s), BrokerState()));
      }
      return s;
    }
    return event;
  }
};

KafkaAdmin::KafkaAdmin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaAdmin::~KafkaAdmin() = default;

absl::StatusOr<std::unique_ptr<KafkaAdmin>> KafkaAdmin::Connect(
    KafkaAdminOptions options) {
  if (options.brokers.empty()) {
    return absl::InvalidArgumentError("Kafka: no bootstrap servers given");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  VORONKA_RETURN_IF_ERROR(impl->Create());
  VORONKA_RETURN_IF_ERROR(impl->Metadata(nullptr).status());
  return std::unique_ptr<KafkaAdmin>(new KafkaAdmin(std::move(impl)));
}

const std::string& KafkaAdmin::brokers() const {
  return impl_->options.brokers;
}

absl::Duration KafkaAdmin::timeout() const { return impl_->options.timeout; }

absl::StatusOr<ClusterTopics> KafkaAdmin::DescribeTopics() {
  return impl_->Metadata(nullptr);
}

absl::StatusOr<std::map<std::string, ConfigValue>>
KafkaAdmin::DescribeTopicConfig(const std::string& topic) {
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  absl::StatusOr<rd_kafka_event_t*> event = impl_->Run(
      RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS,
      fmt::format("DescribeConfigs of topic {}", topic),
      [&](rd_kafka_AdminOptions_t* admin, rd_kafka_queue_t* queue) {
        rd_kafka_DescribeConfigs(impl_->client, &resource, 1, admin, queue);
      });
  rd_kafka_ConfigResource_destroy(resource);
  if (!event.ok()) return event.status();

  std::map<std::string, ConfigValue> out;
  absl::Status status;
  size_t count = 0;
  const rd_kafka_ConfigResource_t** resources =
      rd_kafka_DescribeConfigs_result_resources(
          rd_kafka_event_DescribeConfigs_result(*event), &count);
  for (size_t i = 0; i < count && status.ok(); ++i) {
    if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(resources[i]);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = AdminError(
          err, fmt::format("Kafka DescribeConfigs of topic {}", topic),
          rd_kafka_ConfigResource_error_string(resources[i]));
      break;
    }
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** config =
        rd_kafka_ConfigResource_configs(resources[i], &entries);
    for (size_t j = 0; j < entries; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(config[j]);
      const rd_kafka_ConfigSource_t source =
          rd_kafka_ConfigEntry_source(config[j]);
      out[rd_kafka_ConfigEntry_name(config[j])] = ConfigValue{
          .value = value != nullptr ? value : "",
          .source = SourceName(source),
          .is_default =
              source == RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG
                  ? rd_kafka_ConfigEntry_is_default(config[j]) != 0
                  : source != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG};
    }
  }
  rd_kafka_event_destroy(*event);
  if (!status.ok()) return status;
  return out;
}

absl::Status KafkaAdmin::CreateTopic(
    const std::string& topic, int partitions, int replication_factor,
    const std::vector<std::pair<std::string, std::string>>& config) {
  char errstr[512];
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(
      topic.c_str(), partitions, replication_factor, errstr, sizeof(errstr));
  if (new_topic == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("Kafka topic {}: {}", topic, errstr));
  }
  for (const auto& [key, value] : config) {
    rd_kafka_NewTopic_set_config(new_topic, key.c_str(), value.c_str());
  }
  absl::StatusOr<rd_kafka_event_t*> event = impl_->Run(
      RD_KAFKA_ADMIN_OP_CREATETOPICS,
      fmt::format("CreateTopics of topic {}", topic),
      [&](rd_kafka_AdminOptions_t* admin, rd_kafka_queue_t* queue) {
        rd_kafka_CreateTopics(impl_->client, &new_topic, 1, admin, queue);
      });
  rd_kafka_NewTopic_destroy(new_topic);
  if (!event.ok()) return event.status();
  absl::Status status;
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(
      rd_kafka_event_CreateTopics_result(*event), &count);
  for (size_t i = 0; i < count; ++i) {
    if (rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = AdminError(err, fmt::format("Kafka creating topic {}", topic),
                          rd_kafka_topic_result_error_string(results[i]));
    }
  }
  rd_kafka_event_destroy(*event);
  return status;
}

}  // namespace voronka
