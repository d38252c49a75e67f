#include "services/inbox.h"

#include <librdkafka/rdkafka.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "events/cloudevents.h"
#include "events/kafka_conf.h"
#include "events/kafka_record.h"
#include "events/status.h"
#include "fmt/format.h"
#include "services/ingest_api.h"
#include "services/log_limiter.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {

constexpr char kErrorHeader[] = "voronka-error";
constexpr char kOriginHeader[] = "voronka-origin";

std::string ErrorName(rd_kafka_resp_err_t err) {
  return fmt::format("{} ({})", rd_kafka_err2name(err), rd_kafka_err2str(err));
}

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// One record of a batch and what becomes of it.
struct Record {
  MessagePtr msg;
  std::vector<Event> events;   // Valid: appended (empty when dead-lettered).
  std::string error;           // Not empty: goes to the dead-letter topic.
  bool dead_lettered = false;  // Its delivery report arrived.
};

// Delivery reports of one round of dead-letter produces.
struct Deliveries {
  int outstanding = 0;
  absl::Status first_error;
};

std::string JoinErrors(const std::vector<FieldError>& errors) {
  std::string out;
  for (const FieldError& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.ToString();
  }
  return out;
}

}  // namespace

struct Inbox::Impl {
  InboxOptions options;
  rd_kafka_t* consumer = nullptr;
  rd_kafka_t* producer = nullptr;
  CloudEventsDecoder decoder;
  InboxStats stats;
  LogLimiter dead_letter_log{20};  // Lines per second.
  std::thread thread;

  mutable std::mutex mu;
  std::condition_variable cv;  // stop changed.
  bool stop = false;           // Guarded by mu.
  absl::Status last_error;     // Guarded by mu.
  bool stopped = false;        // Stop() ran; controlling thread only.

  explicit Impl(InboxOptions o)
      : options(std::move(o)), decoder(*options.config) {}

  ~Impl() {
    if (consumer != nullptr) rd_kafka_destroy(consumer);
    if (producer != nullptr) {
      rd_kafka_flush(producer, 5000);
      rd_kafka_destroy(producer);
    }
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
    auto* d = static_cast<Deliveries*>(msg->_private);
    if (d == nullptr) return;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR && d->first_error.ok()) {
      d->first_error = absl::UnavailableError(
          fmt::format("dead-letter topic: {}", ErrorName(msg->err)));
    }
    --d->outstanding;
  }

  absl::Status Connect() {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    absl::Status s =
        SetKafkaConfs(conf, {{"bootstrap.servers", options.brokers},
                             {"group.id", options.group},
                             {"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             {"auto.offset.reset", "earliest"}});
    if (s.ok()) s = SetKafkaConfs(conf, options.client_config);
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
    consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (consumer == nullptr) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(
          fmt::format("Kafka consumer: {}", errstr));
    }
    rd_kafka_poll_set_consumer(consumer);

    conf = rd_kafka_conf_new();
    s = SetKafkaConfs(conf, {{"bootstrap.servers", options.brokers},
                             {"enable.idempotence", "true"},
                             {"message.timeout.ms", "30000"}});
    if (s.ok()) s = SetKafkaConfs(conf, options.client_config);
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &Impl::OnDelivery);
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (producer == nullptr) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(
          fmt::format("Kafka producer: {}", errstr));
    }

    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, options.topic.c_str(),
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InvalidArgumentError(fmt::format(
          "Kafka inbox: subscribing to {}: {}", options.topic, ErrorName(err)));
    }
    return absl::OkStatus();
  }

  bool stopping() {
    std::lock_guard<std::mutex> lock(mu);
    return stop;
  }

  // Up to max_batch records: waits for the first, takes what is there.
  std::vector<Record> Poll() {
    std::vector<Record> batch;
    int wait_ms = 200;
    while (batch.size() < options.max_batch) {
      MessagePtr msg(rd_kafka_consumer_poll(consumer, wait_ms));
      if (msg == nullptr) break;
      wait_ms = 0;
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          spdlog::warn("inbox {}: consumer error: {}", options.topic,
                       ErrorName(msg->err));
        }
        continue;
      }
      batch.push_back(Record{.msg = std::move(msg)});
    }
    return batch;
  }

  void Decode(Record& r) {
    std::string_view value(static_cast<const char*>(r.msg->payload),
                           r.msg->payload == nullptr ? 0 : r.msg->len);
    Headers headers = KafkaRecordHeaders(r.msg.get());
    DecodeResult result;
    if (HasCloudEventsHeaders(headers)) {
      result = decoder.DecodeBinary(headers, value, Binding::kKafka);
    } else {
      size_t first = value.find_first_not_of(" \t\r\n");
      result = first != std::string_view::npos && value[first] == '['
                   ? decoder.DecodeBatch(value)
                   : decoder.DecodeStructured(value);
    }
    if (!result.ok()) {
      r.error = JoinErrors(result.errors);
      return;
    }
    const Timestamp now = options.clock ? options.clock() : Timestamp::Now();
    for (Event& e : result.events) e.recorded_time = now;
    r.events = std::move(result.events);
  }

  // Appends the events of every valid record; records with an event that
  // conflicts move to the dead letters and the rest is appended again.
  absl::Status Append(std::vector<Record>& batch) {
    while (true) {
      std::vector<Event> events;
      std::vector<size_t> record_of;
      for (size_t i = 0; i < batch.size(); ++i) {
        for (const Event& e : batch[i].events) {
          events.push_back(e);
          record_of.push_back(i);
        }
      }
      if (events.empty()) return absl::OkStatus();
      VORONKA_ASSIGN_OR_RETURN(AppendOnceResult result,
                               options.log->AppendOnce(events));
      if (result.conflicts == 0) {
        stats.appended += result.appended;
        stats.duplicates += result.duplicates;
        return absl::OkStatus();
      }
      std::vector<FieldError> conflicts =
          ConflictErrors(result, events, [&](size_t i) {
            return fmt::format("offset {} event {}",
                               batch[record_of[i]].msg->offset, i);
          });
      for (const FieldError& c : conflicts) {
        Record& r = batch[record_of[c.index]];
        r.events.clear();
        if (!r.error.empty()) r.error += "; ";
        r.error += c.reason;
      }
    }
  }

  absl::Status ProduceDeadLetters(std::vector<Record>& batch) {
    Deliveries deliveries;
    absl::Status produce_error;
    for (Record& r : batch) {
      if (!produce_error.ok()) break;
      if (r.error.empty() || r.dead_lettered) continue;
      const std::string origin =
          fmt::format("{}/{}/{}", rd_kafka_topic_name(r.msg->rkt),
                      r.msg->partition, r.msg->offset);
      while (true) {
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(r.msg.get(), &headers) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
          headers = rd_kafka_headers_copy(headers);
        } else {
          headers = rd_kafka_headers_new(2);
        }
        rd_kafka_header_add(headers, kErrorHeader, -1, r.error.data(),
                            static_cast<ssize_t>(r.error.size()));
        rd_kafka_header_add(headers, kOriginHeader, -1, origin.data(),
                            static_cast<ssize_t>(origin.size()));
        rd_kafka_resp_err_t err = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(options.dead_letter_topic.c_str()),
            RD_KAFKA_V_VALUE(r.msg->payload, r.msg->len),
            RD_KAFKA_V_KEY(r.msg->key, r.msg->key_len),
            RD_KAFKA_V_HEADERS(headers),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(&deliveries), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          ++deliveries.outstanding;
          break;
        }
        rd_kafka_headers_destroy(headers);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          produce_error = absl::UnavailableError(
              fmt::format("dead-letter topic {}: {}", options.dead_letter_topic,
                          ErrorName(err)));
          break;
        }
        rd_kafka_poll(producer, 100);
      }
    }
    // Delivery reports are served here, on this thread; every produced
    // record points at `deliveries`, so wait for all of them in any case.
    while (deliveries.outstanding > 0) rd_kafka_poll(producer, 100);
    VORONKA_RETURN_IF_ERROR(produce_error);
    VORONKA_RETURN_IF_ERROR(deliveries.first_error);
    for (Record& r : batch) {
      if (r.error.empty() || r.dead_lettered) continue;
      r.dead_lettered = true;
      ++stats.dead_lettered;
      if (std::optional<int64_t> dropped = dead_letter_log.Allow()) {
        spdlog::warn("inbox: record {}/{}/{} dead-lettered to {}: {}{}",
                     rd_kafka_topic_name(r.msg->rkt), r.msg->partition,
                     r.msg->offset, options.dead_letter_topic, r.error,
                     LogLimiter::Note(*dropped));
      }
    }
    return absl::OkStatus();
  }

  void Commit(const std::vector<Record>& batch) {
    std::map<std::pair<std::string, int32_t>, int64_t> next;
    for (const Record& r : batch) {
      int64_t& n = next[{rd_kafka_topic_name(r.msg->rkt), r.msg->partition}];
      n = std::max(n, r.msg->offset + 1);
    }
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
    for (const auto& [tp, offset] : next) {
      rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)
          ->offset = offset;
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(consumer, list, /*async=*/0);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // The records are durable; whoever reads them again appends nothing.
      spdlog::warn("inbox {}: committing offsets: {}", options.topic,
                   ErrorName(err));
    }
  }

  // After the log refused a batch as such (InvalidArgument: a record it
  // can never take), appends record by record and dead-letters the ones
  // it refuses.
  absl::Status AppendEach(std::vector<Record>& batch) {
    for (Record& r : batch) {
      if (r.events.empty()) continue;
      absl::StatusOr<AppendOnceResult> result =
          options.log->AppendOnce(r.events);
      if (absl::IsInvalidArgument(result.status())) {
        r.error = fmt::format("the event log refused it: {}",
                              result.status().message());
        r.events.clear();
        continue;
      }
      VORONKA_RETURN_IF_ERROR(result.status());
      if (result->conflicts > 0) {
        r.error = "an event reuses an id of its source with other content";
        r.events.clear();
        continue;
      }
      stats.appended += result->appended;
      stats.duplicates += result->duplicates;
    }
    return absl::OkStatus();
  }

  // Settles one batch; false if stopped before it became durable.
  bool Settle(std::vector<Record>& batch) {
    for (Record& r : batch) Decode(r);
    while (true) {
      absl::Status status = Append(batch);
      if (absl::IsInvalidArgument(status)) status = AppendEach(batch);
      if (status.ok()) status = ProduceDeadLetters(batch);
      if (status.ok()) break;
      ++stats.retries;
      spdlog::warn("inbox {}: batch of {} records not settled, retrying: {}",
                   options.topic, batch.size(), status.message());
      std::unique_lock<std::mutex> lock(mu);
      last_error = status;
      if (cv.wait_for(lock, absl::ToChronoMilliseconds(options.retry_backoff),
                      [&] { return stop; })) {
        return false;
      }
    }
    Commit(batch);
    stats.records += static_cast<int64_t>(batch.size());
    std::lock_guard<std::mutex> lock(mu);
    last_error = absl::OkStatus();
    return true;
  }

  void Run() {
    while (!stopping()) {
      std::vector<Record> batch = Poll();
      if (!batch.empty() && !Settle(batch)) return;
    }
  }
};

Inbox::Inbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Inbox::~Inbox() { Stop(); }

absl::StatusOr<std::unique_ptr<Inbox>> Inbox::Start(InboxOptions options) {
  if (options.config == nullptr || options.log == nullptr) {
    return absl::InvalidArgumentError(
        "Kafka inbox: a configuration and a log are required");
  }
  if (options.brokers.empty() || options.topic.empty() ||
      options.dead_letter_topic.empty() || options.group.empty()) {
    return absl::InvalidArgumentError(
        "Kafka inbox: brokers, topic, dead-letter topic and group are "
        "required");
  }
  if (options.topic == options.dead_letter_topic) {
    return absl::InvalidArgumentError(
        "Kafka inbox: the dead-letter topic must differ from the inbox");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  VORONKA_RETURN_IF_ERROR(impl->Connect());
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<Inbox>(new Inbox(std::move(impl)));
}

void Inbox::Stop() {
  if (impl_ == nullptr || impl_->stopped) return;
  impl_->stopped = true;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  rd_kafka_consumer_close(impl_->consumer);
}

const InboxStats& Inbox::stats() const { return impl_->stats; }

absl::Status Inbox::last_error() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_error;
}

}  // namespace voronka
