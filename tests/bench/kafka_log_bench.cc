// Append throughput of KafkaLog on the dev broker (librdkafka's mock cluster,
// in-process) against librdkafka alone producing the same payloads — the same
// encoded bytes, keys and CloudEvents headers, with the same producer settings
// (idempotent, acks=all) — to the same broker, each waiting for the delivery
// reports of its batch. The two alternate inside every iteration, so noise
// hits both alike; `ratio` = KafkaLog rate / raw rate. Target: >= 0.8.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "events/codec.h"
#include "events/kafka_log.h"
#include "events/timestamp.h"
#include "services/dev_broker.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

using Clock = std::chrono::steady_clock;

// One record as KafkaLog writes it, prepared ahead of time.
struct RawRecord {
  std::string key, value, id, type, source, time;
};

// librdkafka's producer with KafkaLog's settings and nothing else.
class RawProducer {
 public:
  explicit RawProducer(const std::string& brokers, const std::string& topic) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"bootstrap.servers", brokers},
             {"enable.idempotence", "true"},
             {"acks", "all"},
             {"partitioner", "murmur2_random"},
             {"linger.ms", "5"}}) {
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &RawProducer::OnDelivery);
    rd_kafka_conf_set_opaque(conf, this);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    topic_ = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  }
  ~RawProducer() {
    rd_kafka_flush(rk_, 10000);
    rd_kafka_topic_destroy(topic_);
    rd_kafka_destroy(rk_);
  }

  // Produces every record and polls until all are acknowledged.
  bool ProduceAndWait(const std::vector<RawRecord>& records) {
    pending_ = static_cast<int64_t>(records.size());
    failed_ = 0;
    for (const RawRecord& r : records) {
      rd_kafka_headers_t* h = rd_kafka_headers_new(6);
      rd_kafka_header_add(h, "ce_specversion", -1, "1.0", 3);
      rd_kafka_header_add(h, "ce_id", -1, r.id.data(), r.id.size());
      rd_kafka_header_add(h, "ce_type", -1, r.type.data(), r.type.size());
      rd_kafka_header_add(h, "ce_source", -1, r.source.data(), r.source.size());
      rd_kafka_header_add(h, "ce_time", -1, r.time.data(), r.time.size());
      rd_kafka_header_add(h, "content-type", -1, kRecordContentType.data(),
                          kRecordContentType.size());
      while (rd_kafka_producev(
                 rk_, RD_KAFKA_V_RKT(topic_),
                 RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
                 RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()),
                                  r.value.size()),
                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                 RD_KAFKA_V_HEADERS(h),
                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk_, 10);
      }
    }
    while (pending_ > 0) rd_kafka_poll(rk_, 1);
    return failed_ == 0;
  }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m,
                         void* opaque) {
    auto* self = static_cast<RawProducer*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++self->failed_;
    --self->pending_;
  }

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
  std::atomic<int64_t> pending_{0};
  std::atomic<int64_t> failed_{0};
};

void BM_KafkaAppendVsRawProduce(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  auto broker = DevBroker::Start({.brokers = 3, .partitions = 4});
  if (!broker.ok()) return state.SkipWithError("dev broker did not start");
  auto log = KafkaLog::Open({.brokers = (*broker)->bootstrap()});
  if (!log.ok()) return state.SkipWithError("KafkaLog did not open");
  RawProducer raw((*broker)->bootstrap(), "voronka.events");

  const std::vector<Event> events = EventMix(batch);
  std::vector<RawRecord> records;
  for (const Event& e : events) {
    records.push_back({std::string(e.key()), EncodeEvent(e),
                       std::string(e.id.value()), std::string(e.type_name()),
                       std::string(e.source.value()), FormatRfc3339(e.time)});
  }

  double voronka_seconds = 0, raw_seconds = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (!(*log)->Append(events).ok()) return state.SkipWithError("append");
    const auto t1 = Clock::now();
    if (!raw.ProduceAndWait(records)) return state.SkipWithError("raw");
    const auto t2 = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    voronka_seconds += std::chrono::duration<double>(t1 - t0).count();
    raw_seconds += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = static_cast<double>(state.iterations() * batch);
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["voronka_eps"] = n / voronka_seconds;
  state.counters["raw_eps"] = n / raw_seconds;
  state.counters["ratio"] = raw_seconds / voronka_seconds;
}
BENCHMARK(BM_KafkaAppendVsRawProduce)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace voronka::bench
