// KafkaLog on librdkafka's C API. See kafka_log.h for the contract.
//
// Append: every record gets a heap MessageContext as its opaque, holding a
// shared reference to the batch it belongs to. The delivery-report callback
// (served by the poll thread) records the position or the first error and
// counts the batch down; Append waits for the count to reach zero. A batch
// outlives an Append that gave up waiting, so a late report never touches
// freed memory.
#include "events/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "events/cloudevents.h"
#include "events/codec.h"
#include "events/kafka_conf.h"
#include "events/kafka_record.h"
#include "events/status.h"
#include "fmt/format.h"

namespace voronka {
namespace {

constexpr char kContentTypeHeader[] = "content-type";
// Extra wait beyond message.timeout.ms: librdkafka scans for timed-out
// messages about once a second.
constexpr absl::Duration kDeliverySlack = absl::Seconds(3);

int TimeoutMs(absl::Duration d) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

std::string ErrorName(rd_kafka_resp_err_t err) {
  return fmt::format("{} ({})", rd_kafka_err2name(err), rd_kafka_err2str(err));
}

// A produce error that no retry can cure (the record itself is refused) is
// InvalidArgument; everything else is Unavailable.
absl::Status ProduceError(rd_kafka_resp_err_t err, std::string message) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return absl::InvalidArgumentError(std::move(message));
    default:
      return absl::UnavailableError(std::move(message));
  }
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// The state one Append() waits on.
struct Batch {
  std::mutex mu;
  std::condition_variable done;
  size_t outstanding = 0;
  std::vector<LogPosition> positions;
  absl::Status first_error;

  void Finish(size_t count, absl::Status error) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error.ok() && first_error.ok()) first_error = std::move(error);
    outstanding -= count;
    if (outstanding == 0) done.notify_all();
  }
};

struct MessageContext {
  std::shared_ptr<Batch> batch;
  size_t index;
};

std::string JoinErrors(const DecodeResult& result) {
  std::string out;
  for (const FieldError& e : result.errors) {
    if (!out.empty()) out += "; ";
    out += e.ToString();
  }
  return out;
}

absl::StatusOr<Event> OneEvent(DecodeResult result) {
  if (!result.ok()) return absl::DataLossError(JoinErrors(result));
  if (result.events.size() != 1) {
    return absl::DataLossError(
        fmt::format("expected one event, got {}", result.events.size()));
  }
  return std::move(result.events.front());
}

std::string RandomGroupId() {
  std::random_device rd;
  return fmt::format("voronka-reader-{:016x}",
                     (static_cast<uint64_t>(rd()) << 32) | rd());
}

LogPosition Position(const rd_kafka_message_t* msg) {
  return LogPosition{.partition = msg->partition, .offset = msg->offset};
}

// The error of a record that does not decode, naming its position.
absl::Status PositionedError(const rd_kafka_message_t* msg,
                             const absl::Status& error) {
  return absl::DataLossError(fmt::format("partition {} offset {}: {}",
                                         msg->partition, msg->offset,
                                         std::string(error.message())));
}

// The payload if it is a codec.h record, else "" (LogRecord::bytes).
std::string RecordBytes(const rd_kafka_message_t* msg) {
  if (KafkaHeaderValue(msg, kContentTypeHeader) != kRecordContentType) {
    return "";
  }
  return std::string(static_cast<const char*>(msg->payload), msg->len);
}

// Decodes a record as every KafkaLog reader does (kafka_log.h): codec.h
// bytes by content-type, else structured or binary-mode CloudEvents JSON.
absl::StatusOr<Event> DecodeRecord(const rd_kafka_message_t* msg,
                                   CloudEventsDecoder& decoder) {
  std::string_view value(static_cast<const char*>(msg->payload), msg->len);
  std::optional<std::string_view> content_type =
      KafkaHeaderValue(msg, kContentTypeHeader);
  if (content_type == kRecordContentType) return DecodeEvent(value);
  if (!content_type.has_value() || *content_type == kStructuredContentType) {
    return OneEvent(decoder.DecodeStructured(value));
  }
  Headers headers = KafkaRecordHeaders(msg);
  if (content_type->starts_with("application/json") &&
      HasCloudEventsHeaders(headers)) {
    return OneEvent(decoder.DecodeBinary(headers, value, Binding::kKafka));
  }
  return absl::DataLossError(
      fmt::format("unknown content-type \"{}\"", *content_type));
}

class KafkaReader : public LogReader {
 public:
  KafkaReader(rd_kafka_t* consumer, int32_t partitions, ReaderOptions options,
              const FunnelConfig& config)
      : consumer_(consumer),
        options_(std::move(options)),
        decoder_(config),
        positions_(partitions, 0) {
    for (size_t p = 0;
         p < positions_.size() && p < options_.start_offsets.size(); ++p) {
      positions_[p] = options_.start_offsets[p];
    }
  }

  ~KafkaReader() override {
    if (pending_ != nullptr) rd_kafka_message_destroy(pending_);
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }

  const std::vector<int64_t>& start_positions() const { return positions_; }

  absl::StatusOr<std::vector<LogRecord>> Next(size_t max_records,
                                              absl::Duration wait) override {
    std::vector<LogRecord> out;
    if (pending_ != nullptr) {
      // The reader is parked before a record that does not decode.
      absl::StatusOr<Event> event = DecodeRecord(pending_, decoder_);
      if (!event.ok()) return PositionedError(pending_, event.status());
      out.push_back(
          {Position(pending_), *std::move(event), RecordBytes(pending_)});
      Advance(pending_);
      rd_kafka_message_destroy(pending_);
      pending_ = nullptr;
    }
    const absl::Time deadline = absl::Now() + wait;
    while (out.size() < max_records) {
      // Block only while nothing has been collected.
      const int timeout_ms =
          out.empty() ? TimeoutMs(deadline - absl::Now()) : 0;
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer_, timeout_ms);
      if (msg == nullptr) {
        if (!out.empty() || absl::Now() >= deadline) break;
        continue;
      }
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (msg->partition >= 0 &&
            static_cast<size_t>(msg->partition) < positions_.size()) {
          positions_[msg->partition] =
              std::max(positions_[msg->partition], msg->offset);
        }
        rd_kafka_message_destroy(msg);
        continue;
      }
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        absl::Status status = ConsumerError(msg);
        rd_kafka_message_destroy(msg);
        if (!out.empty()) break;
        return status;
      }
      absl::StatusOr<Event> event = DecodeRecord(msg, decoder_);
      if (!event.ok()) {
        if (options_.dead_letter) {
          options_.dead_letter(CorruptRecord{
              .position = Position(msg),
              .bytes =
                  std::string(static_cast<const char*>(msg->payload), msg->len),
              .error = event.status()});
          Advance(msg);
          rd_kafka_message_destroy(msg);
          continue;
        }
        pending_ = msg;
        if (!out.empty()) break;  // Report the error on the next call.
        return PositionedError(msg, event.status());
      }
      out.push_back({Position(msg), *std::move(event), RecordBytes(msg)});
      Advance(msg);
      rd_kafka_message_destroy(msg);
    }
    return out;
  }

  std::vector<int64_t> positions() const override { return positions_; }

 private:
  void Advance(const rd_kafka_message_t* msg) {
    if (msg->partition >= 0 &&
        static_cast<size_t>(msg->partition) < positions_.size()) {
      positions_[msg->partition] = msg->offset + 1;
    }
  }

  absl::Status ConsumerError(const rd_kafka_message_t* msg) {
    std::string what = rd_kafka_message_errstr(msg);
    if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      // The start offset is no longer (or not yet) in the log: never skip
      // silently to another offset.
      return absl::DataLossError(fmt::format(
          "partition {}: {}: {}", msg->partition, ErrorName(msg->err), what));
    }
    return absl::UnavailableError(
        fmt::format("Kafka consumer: {}: {}", ErrorName(msg->err), what));
  }

  rd_kafka_t* consumer_;
  ReaderOptions options_;
  CloudEventsDecoder decoder_;
  std::vector<int64_t> positions_;
  rd_kafka_message_t* pending_ = nullptr;  // Undecodable, not yet skipped.
};

// KafkaLog::ReadAt on a consumer of its own (no group joined, nothing
// committed), one chunk of positions at a time. Per chunk, the distinct
// positions are grouped by partition and sorted by offset; each partition is
// assigned at its first wanted offset and consumed forward, seeking instead
// of reading through when the next wanted offset is more than kSeekGap
// records ahead, and unassigned once its last wanted offset is read. The chunk
// is then visited in the order given.
class PositionReader {
 public:
  PositionReader(rd_kafka_t* consumer, const KafkaLogOptions& options,
                 int32_t partitions, const FunnelConfig& config)
      : consumer_(consumer),
        queue_(rd_kafka_queue_get_consumer(consumer)),
        options_(options),
        decoder_(config),
        parts_(partitions) {}

  ~PositionReader() {
    rd_kafka_queue_destroy(queue_);
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }

  absl::Status ReadChunk(std::span<const LogPosition> chunk,
                         const EventLog::RecordVisitor& visit) {
    slots_.clear();
    index_.clear();
    for (Partition& part : parts_) {
      part.wanted.clear();
      part.next = 0;
      part.seek_target = -1;
    }
    for (const LogPosition& p : chunk) {
      if (!index_.try_emplace(p, slots_.size()).second) continue;
      const size_t slot = slots_.size();
      slots_.push_back(Slot{.position = p});
      if (p.partition < 0 ||
          static_cast<size_t>(p.partition) >= parts_.size()) {
        slots_[slot].status = absl::NotFoundError(fmt::format(
            "Kafka topic {}: no partition {} (it has {}), so no "
            "record at partition {} offset {}",
            options_.topic, p.partition, parts_.size(), p.partition, p.offset));
        continue;
      }
      VORONKA_RETURN_IF_ERROR(LearnWatermarks(p.partition, /*again=*/false));
      Partition& part = parts_[p.partition];
      absl::Status outside = Outside(p, part);
      if (!outside.ok()) {
        slots_[slot].status = std::move(outside);
      } else {
        part.wanted.push_back({p.offset, slot});
      }
    }
    VORONKA_RETURN_IF_ERROR(Fetch());
    for (const LogPosition& p : chunk) {
      const Slot& slot = slots_[index_.find(p)->second];
      VORONKA_RETURN_IF_ERROR(slot.status);
      VORONKA_RETURN_IF_ERROR(visit(slot.record));
    }
    return absl::OkStatus();
  }

 private:
  // Reading through this many records costs about what a seek does (one
  // fetch round trip, and it drops what was prefetched): a fetch returns up
  // to max.partition.fetch.bytes (1 MiB) per partition, a few thousand
  // records.
  static constexpr int64_t kSeekGap = 2000;
  static constexpr size_t kPollBatch = 1024;

  struct Slot {
    LogPosition position;
    absl::Status status;
    LogRecord record;
  };
  struct Wanted {
    int64_t offset;
    size_t slot;
  };
  struct Partition {
    bool known = false;  // low/high were queried (once per ReadAt call).
    int64_t low = 0;     // Watermarks: the records are [low, high).
    int64_t high = 0;
    std::vector<Wanted> wanted;  // This chunk's, sorted by offset.
    size_t next = 0;             // The first wanted one not read yet.
    int64_t seek_target = -1;    // The offset of the last seek.
    bool active() const { return next < wanted.size(); }
  };

  absl::Status LearnWatermarks(int32_t p, bool again) {
    Partition& part = parts_[p];
    if (part.known && !again) return absl::OkStatus();
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        consumer_, options_.topic.c_str(), p, &part.low, &part.high,
        std::max(1, TimeoutMs(options_.append_timeout)));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("Kafka watermarks of {} partition {}: {}", options_.topic,
                      p, ErrorName(err)));
    }
    part.known = true;
    return absl::OkStatus();
  }

  // NotFound if `p` is outside the partition's records, else OK.
  absl::Status Outside(const LogPosition& p, const Partition& part) const {
    if (p.offset >= part.high) {
      return absl::NotFoundError(
          fmt::format("Kafka topic {}: no record at partition {} offset {}: "
                      "the partition ends at {}",
                      options_.topic, p.partition, p.offset, part.high));
    }
    if (p.offset < part.low) {
      return absl::NotFoundError(
          fmt::format("Kafka topic {}: no record at partition {} offset {}: "
                      "deleted, the partition starts at {}",
                      options_.topic, p.partition, p.offset, part.low));
    }
    return absl::OkStatus();
  }

  // Assigns every partition with wanted offsets left, at the next one.
  absl::Status Assign() {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(parts_.size()));
    for (size_t p = 0; p < parts_.size(); ++p) {
      Partition& part = parts_[p];
      if (!part.active()) continue;
      part.seek_target = part.wanted[part.next].offset;
      rd_kafka_topic_partition_list_add(list, options_.topic.c_str(),
                                        static_cast<int32_t>(p))
          ->offset = part.seek_target;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("Kafka assign {}: {}", options_.topic, ErrorName(err)));
    }
    return absl::OkStatus();
  }

  void StopOrSeek(int32_t p) {
    Partition& part = parts_[p];
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t* tp =
        rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), p);
    if (!part.active()) {
      // Stop fetching it. (Not pause: librdkafka 2.0 notices a resume only
      // when the broker thread next wakes, up to 1 s later.) If librdkafka
      // refuses, its records keep coming and are ignored.
      if (rd_kafka_error_t* error =
              rd_kafka_incremental_unassign(consumer_, list)) {
        rd_kafka_error_destroy(error);
      }
      --active_;
    } else {
      tp->offset = part.wanted[part.next].offset;
      // Asynchronous: records fetched before it are dropped by librdkafka
      // (version barrier), never delivered.
      if (rd_kafka_error_t* error =
              rd_kafka_seek_partitions(consumer_, list, 0)) {
        rd_kafka_error_destroy(error);  // Reading through still works.
      } else {
        part.seek_target = tp->offset;
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  // Reads every wanted offset of the chunk into its slot.
  absl::Status Fetch() {
    active_ = 0;
    for (Partition& part : parts_) {
      std::sort(
          part.wanted.begin(), part.wanted.end(),
          [](const Wanted& a, const Wanted& b) { return a.offset < b.offset; });
      if (part.active()) ++active_;
    }
    if (active_ == 0) return absl::OkStatus();
    VORONKA_RETURN_IF_ERROR(Assign());
    const absl::Duration bound = options_.append_timeout;
    absl::Time deadline = absl::Now() + bound;
    std::vector<rd_kafka_message_t*> msgs(kPollBatch);
    while (active_ > 0) {
      ssize_t n =
          rd_kafka_consume_batch_queue(queue_, 0, msgs.data(), msgs.size());
      if (n <= 0) {
        // Nothing ready: wait for one record (or error) at most 100 ms.
        msgs[0] = rd_kafka_consumer_poll(
            consumer_, std::clamp(TimeoutMs(deadline - absl::Now()), 1, 100));
        n = msgs[0] != nullptr ? 1 : 0;
      }
      bool progress = false;
      absl::Status status;
      for (ssize_t i = 0; i < n; ++i) {
        if (status.ok()) status = Handle(msgs[i], progress);
        rd_kafka_message_destroy(msgs[i]);
      }
      VORONKA_RETURN_IF_ERROR(status);
      const absl::Time now = absl::Now();
      if (progress) {
        deadline = now + bound;
      } else if (now >= deadline) {
        return absl::UnavailableError(fmt::format(
            "Kafka topic {}: no record from the brokers within {} ({} "
            "partitions still to read){}",
            options_.topic, absl::FormatDuration(bound), active_,
            last_error_.empty() ? "" : "; last error: " + last_error_));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Handle(const rd_kafka_message_t* msg, bool& progress) {
    const int32_t p = msg->partition;
    const bool ours = msg->rkt != nullptr && p >= 0 &&
                      static_cast<size_t>(p) < parts_.size() &&
                      parts_[p].active();
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (!ours) return absl::OkStatus();  // A partition already done.
      Partition& part = parts_[p];
      // Wanted offsets the partition skipped hold no record (a transaction
      // marker; a compacted or aborted record).
      while (part.active() && part.wanted[part.next].offset < msg->offset) {
        const Wanted& w = part.wanted[part.next++];
        slots_[w.slot].status = absl::NotFoundError(fmt::format(
            "Kafka topic {}: no record at partition {} offset {} (the next "
            "record is at {})",
            options_.topic, p, w.offset, msg->offset));
      }
      if (part.active() && part.wanted[part.next].offset == msg->offset) {
        Fill(msg, slots_[part.wanted[part.next++].slot]);
      }
      progress = true;
      if (!part.active() ||
          (part.wanted[part.next].offset - msg->offset > kSeekGap &&
           part.seek_target != part.wanted[part.next].offset)) {
        StopOrSeek(p);
      }
      return absl::OkStatus();
    }
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (!ours) return absl::OkStatus();
      // Every record before the end was delivered before this.
      Partition& part = parts_[p];
      while (part.active()) {
        const Wanted& w = part.wanted[part.next++];
        slots_[w.slot].status = absl::NotFoundError(fmt::format(
            "Kafka topic {}: no record at partition {} offset {}: the "
            "partition ends at {}",
            options_.topic, p, w.offset, msg->offset));
      }
      progress = true;
      StopOrSeek(p);
      return absl::OkStatus();
    }
    if (ours && (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                 msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)) {
      // Retention deleted records since the watermarks were read: what is
      // below the new start is NotFound; the partition fetcher stopped, so
      // assign again.
      Partition& part = parts_[p];
      VORONKA_RETURN_IF_ERROR(LearnWatermarks(p, /*again=*/true));
      const int64_t first = part.wanted[part.next].offset;
      while (part.active()) {
        const Wanted& w = part.wanted[part.next];
        absl::Status outside = Outside({p, w.offset}, part);
        if (outside.ok() && w.offset != first) break;
        slots_[w.slot].status =
            outside.ok() ? absl::NotFoundError(fmt::format(
                               "Kafka topic {}: no record at partition {} "
                               "offset {}: {}",
                               options_.topic, p, w.offset,
                               rd_kafka_message_errstr(msg)))
                         : std::move(outside);
        ++part.next;
      }
      if (!part.active()) --active_;
      progress = true;
      return Assign();
    }
    // Connection trouble and the like: librdkafka retries; Fetch gives up
    // once nothing arrived for append_timeout.
    last_error_ = fmt::format("{}: {}", ErrorName(msg->err),
                              rd_kafka_message_errstr(msg));
    return absl::OkStatus();
  }

  // The record into its slot, decoded exactly as KafkaReader does.
  void Fill(const rd_kafka_message_t* msg, Slot& slot) {
    absl::StatusOr<Event> event = DecodeRecord(msg, decoder_);
    if (!event.ok()) {
      slot.status = PositionedError(msg, event.status());
      return;
    }
    slot.record = LogRecord{Position(msg), *std::move(event), RecordBytes(msg)};
  }

  rd_kafka_t* consumer_;
  rd_kafka_queue_t* queue_;
  const KafkaLogOptions& options_;
  CloudEventsDecoder decoder_;
  std::vector<Partition> parts_;
  std::vector<Slot> slots_;  // The chunk's distinct positions.
  absl::flat_hash_map<LogPosition, size_t> index_;  // Position -> slot.
  int active_ = 0;  // Partitions with wanted offsets left.
  std::string last_error_;
};

}  // namespace

struct KafkaLog::Impl {
  KafkaLogOptions options;
  rd_kafka_t* producer = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  int32_t partitions = 0;
  std::thread poller;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> delivery_errors{0};

  std::mutex fatal_mu;
  absl::Status fatal;  // Set once the producer hit a fatal error.

  ~Impl() {
    if (producer != nullptr) {
      rd_kafka_flush(producer, TimeoutMs(std::min(options.append_timeout,
                                                  absl::Seconds(10))));
      // Whatever is left fails its batch now instead of leaking.
      rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE |
                                   RD_KAFKA_PURGE_F_INFLIGHT |
                                   RD_KAFKA_PURGE_F_NON_BLOCKING);
    }
    stop = true;
    if (poller.joinable()) poller.join();
    if (producer != nullptr) {
      rd_kafka_poll(producer, 0);
      if (topic != nullptr) rd_kafka_topic_destroy(topic);
      rd_kafka_destroy(producer);
    }
  }

  absl::Status FatalStatus() { return CheckFatal(producer, ""); }

  // A consumer configured as every reader's (client_config included, so the
  // same isolation.level), not yet assigned anything.
  absl::StatusOr<rd_kafka_t*> NewConsumer(
      const std::vector<std::pair<std::string, std::string>>& extra = {}) const;

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg,
                         void* opaque) {
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      static_cast<Impl*>(opaque)->delivery_errors.fetch_add(1);
    }
    auto* ctx = static_cast<MessageContext*>(msg->_private);
    if (ctx == nullptr) return;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      {
        std::lock_guard<std::mutex> lock(ctx->batch->mu);
        ctx->batch->positions[ctx->index] =
            LogPosition{.partition = msg->partition, .offset = msg->offset};
      }
      ctx->batch->Finish(1, absl::OkStatus());
    } else {
      ctx->batch->Finish(
          1,
          ProduceError(msg->err,
                       fmt::format("Kafka delivery to partition {} failed: {}",
                                   msg->partition, ErrorName(msg->err))));
    }
    delete ctx;
  }

  // Records the producer's fatal error, if it has one, and returns it.
  absl::Status CheckFatal(rd_kafka_t* rk, const char* reason) {
    char errstr[512] = "";
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, errstr, sizeof(errstr));
    std::lock_guard<std::mutex> lock(fatal_mu);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && fatal.ok()) {
      fatal = absl::InternalError(
          fmt::format("Kafka producer fatal error, no further appends: {}: {}",
                      ErrorName(err), errstr[0] != '\0' ? errstr : reason));
    }
    return fatal;
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque) {
    if (err != RD_KAFKA_RESP_ERR__FATAL) return;  // librdkafka retries.
    static_cast<Impl*>(opaque)->CheckFatal(rk, reason).IgnoreError();
  }

  absl::Status ConfigureProducer(rd_kafka_conf_t* conf) {
    VORONKA_RETURN_IF_ERROR(SetKafkaConfs(
        conf, {{"bootstrap.servers", options.brokers},
               {"enable.idempotence", "true"},
               {"acks", "all"},
               {"partitioner", "murmur2_random"},
               {"linger.ms", "5"},
               {"message.timeout.ms",
                std::to_string(std::max(1, TimeoutMs(options.append_timeout)))},
               {"allow.auto.create.topics", "false"},
               // Reconnect soon after an outage (librdkafka's default backs off
               // up to 10 s).
               {"reconnect.backoff.max.ms", "1000"}}));
    VORONKA_RETURN_IF_ERROR(SetKafkaConfs(conf, options.client_config));
    rd_kafka_conf_set_dr_msg_cb(conf, &Impl::OnDelivery);
    rd_kafka_conf_set_error_cb(conf, &Impl::OnError);
    rd_kafka_conf_set_opaque(conf, this);
    return absl::OkStatus();
  }

  // Looks the topic up in the cluster metadata: its partition count, 0 if it
  // does not exist. Unavailable if no broker answers by `deadline`.
  absl::StatusOr<int32_t> LookUpTopic(absl::Time deadline) {
    while (true) {
      const rd_kafka_metadata_t* md = nullptr;
      rd_kafka_resp_err_t err =
          rd_kafka_metadata(producer, /*all_topics=*/1, nullptr, &md,
                            std::max(1, TimeoutMs(deadline - absl::Now())));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return absl::UnavailableError(fmt::format(
            "Kafka metadata from {}: {}", options.brokers, ErrorName(err)));
      }
      int32_t partitions = 0;
      rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (options.topic == md->topics[i].topic) {
          partitions = md->topics[i].partition_cnt;
          topic_err = md->topics[i].err;
        }
      }
      rd_kafka_metadata_destroy(md);
      if (topic_err == RD_KAFKA_RESP_ERR_NO_ERROR ||
          topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        return topic_err == RD_KAFKA_RESP_ERR_NO_ERROR ? partitions : 0;
      }
      if (absl::Now() >= deadline) {
        return absl::UnavailableError(fmt::format(
            "Kafka topic {}: {}", options.topic, ErrorName(topic_err)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Creates the topic through the Admin API; an existing topic is fine.
  absl::Status CreateTopic(int replication, absl::Time deadline) {
    char errstr[512];
    rd_kafka_NewTopic_t* new_topic =
        rd_kafka_NewTopic_new(options.topic.c_str(), options.create_partitions,
                              replication, errstr, sizeof(errstr));
    if (new_topic == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("Kafka topic {}: {}", options.topic, errstr));
    }
    // An event store keeps every event (events/topic_policy.h): never the
    // broker's default retention, never compaction.
    for (const auto& [key, value] :
         std::vector<std::pair<const char*, const char*>>{
             {"retention.ms", "-1"},
             {"retention.bytes", "-1"},
             {"cleanup.policy", "delete"},
             {"unclean.leader.election.enable", "false"}}) {
      rd_kafka_NewTopic_set_config(new_topic, key, value);
    }
    rd_kafka_queue_t* queue = rd_kafka_queue_new(producer);
    rd_kafka_AdminOptions_t* admin =
        rd_kafka_AdminOptions_new(producer, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(
        admin, std::max(1, TimeoutMs(deadline - absl::Now())), errstr,
        sizeof(errstr));
    rd_kafka_CreateTopics(producer, &new_topic, 1, admin, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(
        queue, std::max(1, TimeoutMs(deadline - absl::Now())) + 1000);
    absl::Status status;
    if (event == nullptr) {
      status = absl::UnavailableError(
          fmt::format("Kafka: creating topic {} timed out", options.topic));
    } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::UnavailableError(
          fmt::format("Kafka: creating topic {}: {}", options.topic,
                      ErrorName(rd_kafka_event_error(event))));
    } else {
      size_t count = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(
              rd_kafka_event_CreateTopics_result(event), &count);
      for (size_t i = 0; i < count; ++i) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
            err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          const char* why = rd_kafka_topic_result_error_string(results[i]);
          status = absl::UnavailableError(
              fmt::format("Kafka: creating topic {}: {}: {}", options.topic,
                          ErrorName(err), why ? why : ""));
        }
      }
    }
    if (event != nullptr) rd_kafka_event_destroy(event);
    rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_NewTopic_destroy(new_topic);
    rd_kafka_queue_destroy(queue);
    return status;
  }

  absl::Status Connect() {
    ConfPtr conf(rd_kafka_conf_new());
    VORONKA_RETURN_IF_ERROR(ConfigureProducer(conf.get()));
    char errstr[512];
    producer =
        rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
    if (producer == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("Kafka producer: {}", errstr));
    }
    conf.release();  // Owned by the producer now.
    poller = std::thread([this] {
      while (!stop) rd_kafka_poll(producer, 100);
    });

    const absl::Time deadline = absl::Now() + options.append_timeout;
    VORONKA_ASSIGN_OR_RETURN(partitions, LookUpTopic(deadline));
    if (partitions == 0) {
      if (options.create_partitions <= 0) {
        return absl::NotFoundError(
            fmt::format("Kafka topic {} does not exist on {}", options.topic,
                        options.brokers));
      }
      const rd_kafka_metadata_t* md = nullptr;
      int brokers = 1;
      if (rd_kafka_metadata(producer, 0, nullptr, &md,
                            std::max(1, TimeoutMs(deadline - absl::Now()))) ==
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        brokers = std::max(1, md->broker_cnt);
        rd_kafka_metadata_destroy(md);
      }
      VORONKA_RETURN_IF_ERROR(CreateTopic(std::min(3, brokers), deadline));
      while (partitions == 0) {
        VORONKA_ASSIGN_OR_RETURN(partitions, LookUpTopic(deadline));
        if (partitions > 0) break;
        if (absl::Now() >= deadline) {
          return absl::UnavailableError(fmt::format(
              "Kafka topic {} created but not visible yet", options.topic));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    topic = rd_kafka_topic_new(producer, options.topic.c_str(), nullptr);
    if (topic == nullptr) {
      return absl::InternalError(fmt::format("Kafka topic handle {}: {}",
                                             options.topic,
                                             ErrorName(rd_kafka_last_error())));
    }
    return absl::OkStatus();
  }

  // Enqueues one record, retrying while the local queue is full until
  // `deadline`. On success the record's delivery report finishes `ctx`.
  absl::Status Enqueue(const Event& event, MessageContext* ctx,
                       absl::Time deadline) {
    const bool json = options.record_format ==
                      KafkaLogOptions::RecordFormat::kCloudEventsJson;
    const std::string value =
        json ? ToStructuredJson(event) : EncodeEvent(event);
    const std::string_view key = event.key();
    const std::string type(event.type_name());
    const std::string time = FormatRfc3339(event.time);
    while (true) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(6);
      if (json) {
        rd_kafka_header_add(headers, kContentTypeHeader, -1,
                            kStructuredContentType.data(),
                            kStructuredContentType.size());
      } else {
        rd_kafka_header_add(headers, "ce_specversion", -1, "1.0", 3);
        rd_kafka_header_add(headers, "ce_id", -1, event.id.value().data(),
                            event.id.value().size());
        rd_kafka_header_add(headers, "ce_type", -1, type.data(), type.size());
        rd_kafka_header_add(headers, "ce_source", -1,
                            event.source.value().data(),
                            event.source.value().size());
        rd_kafka_header_add(headers, "ce_time", -1, time.data(), time.size());
        rd_kafka_header_add(headers, kContentTypeHeader, -1,
                            kRecordContentType.data(),
                            kRecordContentType.size());
      }

      rd_kafka_vu_t vus[6];
      vus[0].vtype = RD_KAFKA_VTYPE_RKT;
      vus[0].u.rkt = topic;
      vus[1].vtype = RD_KAFKA_VTYPE_KEY;
      vus[1].u.mem = {const_cast<char*>(key.data()), key.size()};
      vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vus[2].u.mem = {const_cast<char*>(value.data()), value.size()};
      vus[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[3].u.i = RD_KAFKA_MSG_F_COPY;
      vus[4].vtype = RD_KAFKA_VTYPE_HEADERS;
      vus[4].u.headers = headers;
      vus[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
      vus[5].u.ptr = ctx;

      rd_kafka_error_t* error = rd_kafka_produceva(producer, vus, 6);
      if (error == nullptr) return absl::OkStatus();  // Headers are owned.
      rd_kafka_headers_destroy(headers);
      const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
      std::string what = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL && absl::Now() < deadline) {
        rd_kafka_poll(producer, 10);  // Let deliveries drain the queue.
        continue;
      }
      if (code == RD_KAFKA_RESP_ERR__FATAL) {
        VORONKA_RETURN_IF_ERROR(FatalStatus());
      }
      return ProduceError(
          code, fmt::format("Kafka produce: {}: {}", ErrorName(code), what));
    }
  }
};

KafkaLog::KafkaLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaLog::~KafkaLog() = default;

absl::StatusOr<std::unique_ptr<KafkaLog>> KafkaLog::Open(
    KafkaLogOptions options) {
  if (options.brokers.empty()) {
    return absl::InvalidArgumentError("Kafka: no bootstrap brokers given");
  }
  if (options.topic.empty()) {
    return absl::InvalidArgumentError("Kafka: no topic given");
  }
  if (options.append_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("Kafka: append_timeout must be > 0");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  VORONKA_RETURN_IF_ERROR(impl->Connect());
  return std::unique_ptr<KafkaLog>(new KafkaLog(std::move(impl)));
}

absl::StatusOr<std::vector<LogPosition>> KafkaLog::Append(
    std::span<const Event> events) {
  if (events.empty()) return std::vector<LogPosition>();
  VORONKA_RETURN_IF_ERROR(impl_->FatalStatus());

  const absl::Time start = absl::Now();
  const absl::Time enqueue_deadline = start + impl_->options.append_timeout;
  auto batch = std::make_shared<Batch>();
  batch->outstanding = events.size();
  batch->positions.resize(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    auto* ctx = new MessageContext{batch, i};
    absl::Status status = impl_->Enqueue(events[i], ctx, enqueue_deadline);
    if (!status.ok()) {
      delete ctx;
      batch->Finish(events.size() - i, std::move(status));
      break;
    }
  }

  std::unique_lock<std::mutex> lock(batch->mu);
  const absl::Time wait_deadline =
      start + impl_->options.append_timeout + kDeliverySlack;
  const bool delivered =
      batch->done.wait_for(lock,
                           std::chrono::milliseconds(std::max(
                               0, TimeoutMs(wait_deadline - absl::Now()))),
                           [&] { return batch->outstanding == 0; });
  if (!delivered) {
    return absl::UnavailableError(fmt::format(
        "Kafka: {} of {} records not acknowledged within {}",
        batch->outstanding, events.size(),
        absl::FormatDuration(impl_->options.append_timeout + kDeliverySlack)));
  }
  if (!batch->first_error.ok()) {
    absl::Status fatal = impl_->FatalStatus();
    if (!fatal.ok()) return fatal;
    return batch->first_error;
  }
  return std::move(batch->positions);
}

int32_t KafkaLog::partition_count() const { return impl_->partitions; }

absl::StatusOr<std::vector<int64_t>> KafkaLog::EndOffsets() {
  return Watermarks(/*high=*/true);
}

absl::StatusOr<std::vector<int64_t>> KafkaLog::StartOffsets() {
  return Watermarks(/*high=*/false);
}

KafkaLog::ProducerStats KafkaLog::producer_stats() const {
  return {.delivery_errors = impl_->delivery_errors.load(),
          .queued = rd_kafka_outq_len(impl_->producer)};
}

absl::StatusOr<std::vector<int64_t>> KafkaLog::Watermarks(bool high_side) {
  std::vector<int64_t> out;
  out.reserve(impl_->partitions);
  for (int32_t p = 0; p < impl_->partitions; ++p) {
    int64_t low = 0;
    int64_t high = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        impl_->producer, impl_->options.topic.c_str(), p, &low, &high,
        std::max(1, TimeoutMs(impl_->options.append_timeout)));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          fmt::format("Kafka watermarks of {} partition {}: {}",
                      impl_->options.topic, p, ErrorName(err)));
    }
    out.push_back(high_side ? high : low);
  }
  return out;
}

absl::StatusOr<rd_kafka_t*> KafkaLog::Impl::NewConsumer(
    const std::vector<std::pair<std::string, std::string>>& extra) const {
  ConfPtr conf(rd_kafka_conf_new());
  // The group id is required by rd_kafka_assign; offsets are never committed
  // and the group is never joined.
  VORONKA_RETURN_IF_ERROR(
      SetKafkaConfs(conf.get(), {{"bootstrap.servers", options.brokers},
                                 {"group.id", RandomGroupId()},
                                 {"enable.auto.commit", "false"},
                                 {"enable.auto.offset.store", "false"},
                                 {"enable.partition.eof", "true"},
                                 {"auto.offset.reset", "error"},
                                 {"reconnect.backoff.max.ms", "1000"}}));
  VORONKA_RETURN_IF_ERROR(SetKafkaConfs(conf.get(), extra));
  VORONKA_RETURN_IF_ERROR(SetKafkaConfs(conf.get(), options.client_config));
  char errstr[512];
  rd_kafka_t* consumer =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr));
  if (consumer == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("Kafka consumer: {}", errstr));
  }
  conf.release();
  rd_kafka_poll_set_consumer(consumer);
  return consumer;
}

absl::StatusOr<std::unique_ptr<LogReader>> KafkaLog::OpenReader(
    ReaderOptions options) {
  const KafkaLogOptions& o = impl_->options;
  VORONKA_ASSIGN_OR_RETURN(rd_kafka_t * consumer, impl_->NewConsumer());
  auto reader = std::make_unique<KafkaReader>(
      consumer, impl_->partitions, std::move(options),
      o.config != nullptr ? *o.config : FunnelConfig::Default());

  rd_kafka_topic_partition_list_t* assignment =
      rd_kafka_topic_partition_list_new(impl_->partitions);
  for (int32_t p = 0; p < impl_->partitions; ++p) {
    rd_kafka_topic_partition_list_add(assignment, o.topic.c_str(), p)->offset =
        reader->start_positions()[p];
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(consumer, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        fmt::format("Kafka assign {}: {}", o.topic, ErrorName(err)));
  }
  return reader;
}

absl::Status KafkaLog::ReadAt(std::span<const LogPosition> positions,
                              const RecordVisitor& visit) {
  if (positions.empty()) return absl::OkStatus();
  const KafkaLogOptions& o = impl_->options;
  // ReadAt never waits for new records, so a fetch at a partition's end
  // need not wait for any: librdkafka sends one fetch per broker at a time,
  // and a long poll there (500 ms by default) would hold up the fetch of the
  // next chunk. client_config still has the last word.
  VORONKA_ASSIGN_OR_RETURN(rd_kafka_t * consumer,
                           impl_->NewConsumer({{"fetch.wait.max.ms", "10"}}));
  PositionReader reader(
      consumer, o, impl_->partitions,
      o.config != nullptr ? *o.config : FunnelConfig::Default());
  for (size_t begin = 0; begin < positions.size(); begin += kReadAtChunk) {
    VORONKA_RETURN_IF_ERROR(reader.ReadChunk(
        positions.subspan(begin,
                          std::min(kReadAtChunk, positions.size() - begin)),
        visit));
  }
  return absl::OkStatus();
}

}  // namespace voronka
