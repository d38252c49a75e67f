// KafkaLog against an in-process DevBroker (librdkafka's mock cluster): the
// log contract of events/log.h plus the Kafka record format of kafka_log.h.
#include "events/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "events/codec.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dev_broker.h"

namespace voronka {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

Event Call(const std::string& org, const std::string& id) {
  return Event{
      .id = EventId(id),
      .source = SourceId("pbx/test"),
      .time = Timestamp::FromUnixMicros(1795000000000000 + id.size() * 1000),
      .recorded_time = Timestamp::FromUnixMicros(1795000001000000),
      .data = CallLogged{.org = OrgId(org),
                         .manager = ManagerId("m-1"),
                         .department = DepartmentId("lead_generation"),
                         .duration_s = 42}};
}

std::vector<Event> Calls(int count, int orgs, const std::string& prefix) {
  std::vector<Event> out;
  for (int i = 0; i < count; ++i) {
    out.push_back(
        Call(fmt::format("org-{}", i % orgs), fmt::format("{}-{}", prefix, i)));
  }
  return out;
}

// Reads until `count` records arrived or `timeout` passed.
std::vector<LogRecord> ReadAtLeast(LogReader& reader, size_t count,
                                   absl::Duration timeout = absl::Seconds(15)) {
  std::vector<LogRecord> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (out.size() < count && absl::Now() < deadline) {
    absl::StatusOr<std::vector<LogRecord>> batch =
        reader.Next(1000, absl::Milliseconds(500));
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) break;
    for (LogRecord& r : *batch) out.push_back(std::move(r));
  }
  return out;
}

// A raw librdkafka record, as another client would see it.
struct RawRecord {
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

absl::StatusOr<RawRecord> RawConsume(const std::string& brokers,
                                     const std::string& topic,
                                     LogPosition position) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err,
                    sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "raw-test-consumer", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) return absl::InternalError(err);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), position.partition)
      ->offset = position.offset;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  absl::StatusOr<RawRecord> out =
      absl::DeadlineExceededError("no record within 10 s");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 200);
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      RawRecord r;
      r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
      r.value.assign(static_cast<const char*>(msg->payload), msg->len);
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(msg, &headers) == 0) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(headers, i, &name, &value, &size) == 0;
             ++i) {
          r.headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      out = std::move(r);
      rd_kafka_message_destroy(msg);
      break;
    }
    rd_kafka_message_destroy(msg);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

// Produces one record with a plain producer (no KafkaLog involved).
absl::Status RawProduce(
    const std::string& brokers, const std::string& topic, int32_t partition,
    const std::string& key, const std::string& value,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err,
                    sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) return absl::InternalError(err);
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [name, v] : headers) {
    rd_kafka_header_add(hdrs, name.c_str(), -1, v.data(), v.size());
  }
  rd_kafka_vu_t vus[5];
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = topic.c_str();
  vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
  vus[1].u.i32 = partition;
  vus[2].vtype = RD_KAFKA_VTYPE_KEY;
  vus[2].u.mem = {const_cast<char*>(key.data()), key.size()};
  vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[3].u.mem = {const_cast<char*>(value.data()), value.size()};
  vus[4].vtype = RD_KAFKA_VTYPE_HEADERS;
  vus[4].u.headers = hdrs;
  absl::Status status;
  if (rd_kafka_error_t* error = rd_kafka_produceva(rk, vus, 5)) {
    status = absl::InternalError(rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    rd_kafka_headers_destroy(hdrs);
  } else if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::InternalError("raw produce not flushed");
  }
  rd_kafka_destroy(rk);
  return status;
}

// A binary-mode CloudEvent (ce_* headers, the data as the value), as a
// Kafka producer outside Voronka writes it: call bin-1 of pbx/asterisk-1.
absl::Status ProduceBinaryCall(const std::string& brokers,
                               const std::string& topic) {
  return RawProduce(
      brokers, topic, 0, "org-9",
      R"({"org":"org-9","manager":"m-1","department":"lead_generation",)"
      R"("direction":"outbound","outcome":"answered","duration_s":12})",
      {{"ce_specversion", "1.0"},
       {"ce_id", "bin-1"},
       {"ce_source", "pbx/asterisk-1"},
       {"ce_type", "call.logged"},
       {"ce_time", "2026-11-23T09:30:00+03:00"},
       {"content-type", "application/json"}});
}

class KafkaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<DevBroker>> broker =
        DevBroker::Start({.brokers = 3, .partitions = 4});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }

  std::unique_ptr<KafkaLog> OpenLog(KafkaLogOptions options = {}) {
    options.brokers = broker_->bootstrap();
    if (options.append_timeout == absl::Seconds(30)) {
      options.append_timeout = absl::Seconds(5);
    }
    absl::StatusOr<std::unique_ptr<KafkaLog>> log = KafkaLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  std::unique_ptr<DevBroker> broker_;
};

TEST_F(KafkaLogTest, AppendThenReadBackWithPositions) {
  std::unique_ptr<KafkaLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->partition_count(), 4);

  std::vector<Event> events = Calls(20, 5, "rt");
  absl::StatusOr<std::vector<LogPosition>> positions = log->Append(events);
  ASSERT_TRUE(positions.ok()) << positions.status();
  ASSERT_THAT(*positions, SizeIs(events.size()));
  absl::StatusOr<std::vector<LogPosition>> empty = log->Append({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  absl::StatusOr<std::unique_ptr<LogReader>> reader = log->OpenReader({});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<LogRecord> records = ReadAtLeast(**reader, events.size());
  ASSERT_THAT(records, SizeIs(events.size()));

  std::map<LogPosition, Event> by_position;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_TRUE(by_position.emplace((*positions)[i], events[i]).second)
        << "duplicate position";
  }
  std::map<int32_t, int64_t> last_offset;
  for (const LogRecord& r : records) {
    ASSERT_TRUE(by_position.contains(r.position));
    EXPECT_EQ(r.event, by_position.at(r.position));
    auto [it, first] = last_offset.emplace(r.position.partition, -1);
    EXPECT_GT(r.position.offset, it->second) << "offset order in partition";
    it->second = r.position.offset;
  }

  absl::StatusOr<std::vector<int64_t>> end = log->EndOffsets();
  ASSERT_TRUE(end.ok()) << end.status();
  ASSERT_THAT(*end, SizeIs(4));
  int64_t total = 0;
  for (int64_t e : *end) total += e;
  EXPECT_EQ(total, 20);
  EXPECT_EQ((*reader)->positions(), *end);

  // A reader opened at the end offsets sees only what is appended later.
  absl::StatusOr<std::unique_ptr<LogReader>> tail =
      log->OpenReader({.start_offsets = *end});
  ASSERT_TRUE(tail.ok());
  std::vector<Event> more = {Call("org-1", "late-1")};
  ASSERT_TRUE(log->Append(more).ok());
  std::vector<LogRecord> late = ReadAtLeast(**tail, 1);
  ASSERT_THAT(late, SizeIs(1));
  EXPECT_EQ(late[0].event, more[0]);
}

TEST_F(KafkaLogTest, SameKeyLandsInSamePartition) {
  std::unique_ptr<KafkaLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  std::vector<Event> first = Calls(5, 1, "a");  // All for org-0.
  std::vector<Event> second = Calls(5, 1, "b");
  absl::StatusOr<std::vector<LogPosition>> p1 = log->Append(first);
  absl::StatusOr<std::vector<LogPosition>> p2 = log->Append(second);
  ASSERT_TRUE(p1.ok() && p2.ok());
  for (const LogPosition& p : *p2) {
    EXPECT_EQ(p.partition, (*p1)[0].partition);
  }
  for (const LogPosition& p : *p1) EXPECT_EQ(p.partition, (*p1)[0].partition);
  // Offsets within the partition follow append order.
  for (size_t i = 1; i < p1->size(); ++i) {
    EXPECT_EQ((*p1)[i].offset, (*p1)[i - 1].offset + 1);
  }
  EXPECT_GT((*p2)[0].offset, p1->back().offset);
}

TEST_F(KafkaLogTest, RecordsCarryKeyAndCloudEventsHeaders) {
  std::unique_ptr<KafkaLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  Event manager =
      Event{.id = EventId("mj-1"),
            .source = SourceId("crm/web"),
            .time = *ParseRfc3339("2026-11-23T09:30:00+03:00"),
            .data = ManagerJoined{.manager = ManagerId("ivanov"),
                                  .department = DepartmentId("sales")}};
  std::vector<Event> events = {Call("org-7", "call-1"), manager};
  absl::StatusOr<std::vector<LogPosition>> positions = log->Append(events);
  ASSERT_TRUE(positions.ok()) << positions.status();

  absl::StatusOr<RawRecord> call =
      RawConsume(broker_->bootstrap(), "voronka.events", (*positions)[0]);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->key, "org-7");
  EXPECT_EQ(call->headers["ce_specversion"], "1.0");
  EXPECT_EQ(call->headers["ce_id"], "call-1");
  EXPECT_EQ(call->headers["ce_type"], "call.logged");
  EXPECT_EQ(call->headers["ce_source"], "pbx/test");
  EXPECT_EQ(call->headers["ce_time"], FormatRfc3339(events[0].time));
  EXPECT_EQ(call->headers["content-type"], kRecordContentType);
  absl::StatusOr<Event> decoded = DecodeEvent(call->value);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, events[0]);

  absl::StatusOr<RawRecord> joined =
      RawConsume(broker_->bootstrap(), "voronka.events", (*positions)[1]);
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(joined->key, "ivanov");
  EXPECT_EQ(joined->headers["ce_type"], "manager.joined");
  absl::StatusOr<Timestamp> time = ParseRfc3339(joined->headers["ce_time"]);
  ASSERT_TRUE(time.ok()) << time.status();
  EXPECT_EQ(*time, manager.time);
}

TEST_F(KafkaLogTest, RetriableProduceErrorsAreRetried) {
  std::unique_ptr<KafkaLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  broker_->InjectProduceErrors(2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  std::vector<Event> events = Calls(3, 1, "retry");
  absl::StatusOr<std::vector<LogPosition>> positions = log->Append(events);
  ASSERT_TRUE(positions.ok()) << positions.status();
  absl::StatusOr<std::unique_ptr<LogReader>> reader = log->OpenReader({});
  ASSERT_TRUE(reader.ok());
  std::vector<LogRecord> records = ReadAtLeast(**reader, 3);
  ASSERT_THAT(records, SizeIs(3));  // Exactly once despite the retries.
  ASSERT_THAT(ReadAtLeast(**reader, 1, absl::Milliseconds(500)), SizeIs(0));
}

TEST_F(KafkaLogTest, PersistentProduceErrorsAreUnavailable) {
  std::unique_ptr<KafkaLog> log = OpenLog({.append_timeout = absl::Seconds(2)});
  ASSERT_NE(log, nullptr);
  broker_->InjectProduceErrors(10000, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<LogPosition>> positions =
      log->Append(Calls(3, 1, "ner"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ASSERT_FALSE(positions.ok());
  EXPECT_EQ(positions.status().code(), absl::StatusCode::kUnavailable)
      << positions.status();
}

TEST_F(KafkaLogTest, NonRetriableProduceErrorIsUnavailable) {
  std::unique_ptr<KafkaLog> log = OpenLog({.append_timeout = absl::Seconds(2)});
  ASSERT_NE(log, nullptr);
  broker_->InjectProduceErrors(1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  absl::StatusOr<std::vector<LogPosition>> positions =
      log->Append(Calls(1, 1, "auth"));
  ASSERT_FALSE(positions.ok());
  EXPECT_EQ(positions.status().code(), absl::StatusCode::kUnavailable)
      << positions.status();
  EXPECT_THAT(positions.status().message(),
              HasSubstr("TOPIC_AUTHORIZATION_FAILED"));
}

TEST_F(KafkaLogTest, FatalProducerErrorRefusesFurtherAppends) {
  std::unique_ptr<KafkaLog> log = OpenLog({.append_timeout = absl::Seconds(2)});
  ASSERT_NE(log, nullptr);
  // A sequence gap is fatal for an idempotent producer: it can no longer
  // guarantee exactly-once order.
  broker_->InjectProduceErrors(1,
                               RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  absl::StatusOr<std::vector<LogPosition>> first =
      log->Append(Calls(1, 1, "fatal"));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kInternal)
      << first.status();
  absl::StatusOr<std::vector<LogPosition>> second =
      log->Append(Calls(1, 1, "after-fatal"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kInternal)
      << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("no further appends"));
}

TEST_F(KafkaLogTest, AllBrokersDownIsUnavailableAndRecovers) {
  std::unique_ptr<KafkaLog> log = OpenLog({.append_timeout = absl::Seconds(2)});
  ASSERT_NE(log, nullptr);
  std::vector<Event> acked;
  std::vector<Event> before = Calls(6, 3, "before");
  ASSERT_TRUE(log->Append(before).ok());
  acked.insert(acked.end(), before.begin(), before.end());

  ASSERT_TRUE(broker_->SetAllDown().ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<LogPosition>> down =
      log->Append(Calls(4, 2, "down"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable)
      << down.status();

  ASSERT_TRUE(broker_->SetAllUp().ok());
  std::vector<Event> after = Calls(6, 3, "after");
  absl::StatusOr<std::vector<LogPosition>> up = log->Append(after);
  ASSERT_TRUE(up.ok()) << up.status();
  acked.insert(acked.end(), after.begin(), after.end());

  absl::StatusOr<std::vector<int64_t>> end = log->EndOffsets();
  ASSERT_TRUE(end.ok()) << end.status();
  int64_t total = 0;
  for (int64_t e : *end) total += e;
  absl::StatusOr<std::unique_ptr<LogReader>> reader = log->OpenReader({});
  ASSERT_TRUE(reader.ok());
  std::vector<LogRecord> records = ReadAtLeast(**reader, total);
  ASSERT_EQ(static_cast<int64_t>(records.size()), total);
  absl::flat_hash_map<std::string, int> seen;
  for (const LogRecord& r : records) ++seen[r.event.id.value()];
  for (const Event& e : acked) {
    EXPECT_EQ(seen[e.id.value()], 1) << e.id.value();
  }
  for (const auto& [id, count] : seen) {
    EXPECT_EQ(count, 1) << id << " stored more than once";
  }
}

TEST_F(KafkaLogTest, CorruptRecordIsDataLossOrDeadLettered) {
  // librdkafka 2.0's mock cluster has no CreateTopics: create it directly.
  ASSERT_TRUE(broker_->CreateTopic("voronka.corrupt", 1, 3).ok());
  std::unique_ptr<KafkaLog> log = OpenLog({.topic = "voronka.corrupt"});
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(log->partition_count(), 1);
  std::vector<Event> good1 = {Call("org-1", "good-1")};
  std::vector<Event> good2 = {Call("org-1", "good-2")};
  ASSERT_TRUE(log->Append(good1).ok());
  ASSERT_TRUE(RawProduce(broker_->bootstrap(), "voronka.corrupt", 0, "org-1",
                         "\x01garbage",
                         {{"content-type", std::string(kRecordContentType)}})
                  .ok());
  ASSERT_TRUE(log->Append(good2).ok());

  absl::StatusOr<std::unique_ptr<LogReader>> strict = log->OpenReader({});
  ASSERT_TRUE(strict.ok());
  std::vector<LogRecord> records;
  absl::Status error;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (error.ok() && absl::Now() < deadline) {
    absl::StatusOr<std::vector<LogRecord>> batch =
        (*strict)->Next(100, absl::Milliseconds(500));
    if (!batch.ok()) {
      error = batch.status();
    } else {
      for (LogRecord& r : *batch) records.push_back(std::move(r));
    }
  }
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0].event, good1[0]);
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss) << error;
  EXPECT_THAT(error.message(), HasSubstr("partition 0 offset 1"));
  // The reader stays before the bad record.
  EXPECT_EQ((*strict)->positions(), std::vector<int64_t>{1});
  absl::StatusOr<std::vector<LogRecord>> again =
      (*strict)->Next(100, absl::Milliseconds(100));
  EXPECT_EQ(again.status(), error);

  std::vector<CorruptRecord> dead;
  absl::StatusOr<std::unique_ptr<LogReader>> lenient = log->OpenReader(
      {.dead_letter = [&](const CorruptRecord& r) { dead.push_back(r); }});
  ASSERT_TRUE(lenient.ok());
  std::vector<LogRecord> all = ReadAtLeast(**lenient, 2);
  ASSERT_THAT(all, SizeIs(2));
  EXPECT_EQ(all[0].event, good1[0]);
  EXPECT_EQ(all[1].event, good2[0]);
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].position, (LogPosition{.partition = 0, .offset = 1}));
  EXPECT_EQ(dead[0].bytes, "\x01garbage");
  EXPECT_EQ(dead[0].error.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ((*lenient)->positions(), std::vector<int64_t>{3});
}

// Binary-mode CloudEvents (ce_* headers, JSON data) written by another
// producer. Needs the CloudEvents decoder (events/cloudevents.cc).
TEST_F(KafkaLogTest, ReadsBinaryModeCloudEvents) {
  ASSERT_TRUE(broker_->CreateTopic("voronka.binary", 1, 3).ok());
  std::unique_ptr<KafkaLog> log = OpenLog({.topic = "voronka.binary"});
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(ProduceBinaryCall(broker_->bootstrap(), "voronka.binary").ok());
  absl::StatusOr<std::unique_ptr<LogReader>> reader = log->OpenReader({});
  ASSERT_TRUE(reader.ok());
  absl::StatusOr<std::vector<LogRecord>> batch =
      (*reader)->Next(10, absl::Seconds(10));
  if (!batch.ok() &&
      absl::StrContains(batch.status().message(), "unimplemented")) {
    GTEST_SKIP() << "CloudEvents decoder not merged yet: " << batch.status();
  }
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_THAT(*batch, SizeIs(1));
  const Event& e = (*batch)[0].event;
  EXPECT_EQ(e.id.value(), "bin-1");
  EXPECT_EQ(e.source.value(), "pbx/asterisk-1");
  ASSERT_NE(e.get_if<CallLogged>(), nullptr);
  EXPECT_EQ(e.get_if<CallLogged>()->duration_s, 12);
}

// ReadAt decodes every record format exactly as a reader does: codec
// records (bytes set), structured JSON as `kcat -P` writes it and
// binary-mode CloudEvents (bytes empty).
TEST_F(KafkaLogTest, ReadAtReturnsWhatTheReaderReturnsForEveryFormat) {
  ASSERT_TRUE(broker_->CreateTopic("voronka.formats", 1, 3).ok());
  std::unique_ptr<KafkaLog> codec = OpenLog({.topic = "voronka.formats"});
  std::unique_ptr<KafkaLog> json = OpenLog(
      {.topic = "voronka.formats",
       .record_format = KafkaLogOptions::RecordFormat::kCloudEventsJson});
  ASSERT_NE(codec, nullptr);
  ASSERT_NE(json, nullptr);
  ASSERT_TRUE(codec->Append(Calls(2, 1, "codec")).ok());
  ASSERT_TRUE(json->Append(Calls(2, 1, "json")).ok());
  ASSERT_TRUE(ProduceBinaryCall(broker_->bootstrap(), "voronka.formats").ok());
  absl::StatusOr<std::unique_ptr<LogReader>> reader = codec->OpenReader({});
  ASSERT_TRUE(reader.ok());
  std::vector<LogRecord> read = ReadAtLeast(**reader, 5);
  ASSERT_THAT(read, SizeIs(5));

  const std::vector<LogPosition> positions = {
      read[4].position, read[2].position, read[0].position, read[3].position,
      read[1].position};
  std::vector<LogRecord> got;
  absl::Status status = codec->ReadAt(positions, [&](const LogRecord& r) {
    got.push_back(r);
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_THAT(got, SizeIs(5));
  const size_t order[] = {4, 2, 0, 3, 1};
  for (size_t k = 0; k < 5; ++k) {
    const LogRecord& want = read[order[k]];
    EXPECT_EQ(got[k].position, want.position);
    EXPECT_EQ(got[k].event, want.event);
    EXPECT_EQ(got[k].bytes, want.bytes);
  }
  EXPECT_FALSE(got[2].bytes.empty());  // Codec.
  EXPECT_TRUE(got[1].bytes.empty());   // Structured JSON.
  EXPECT_TRUE(got[0].bytes.empty());   // Binary mode.
  EXPECT_EQ(got[0].event.id.value(), "bin-1");
}

// Records that retention deleted (below the start offset) are NotFound.
// The dev broker keeps the newest 5 MiB of a partition.
TEST_F(KafkaLogTest, ReadAtBelowTheStartOffsetIsNotFound) {
  ASSERT_TRUE(broker_->CreateTopic("voronka.retention", 1, 3).ok());
  std::unique_ptr<KafkaLog> log = OpenLog({.topic = "voronka.retention"});
  ASSERT_NE(log, nullptr);
  absl::StatusOr<std::vector<LogPosition>> first =
      log->Append(Calls(1, 1, "old"));
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string filler(100'000, 'x');
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(RawProduce(broker_->bootstrap(), "voronka.retention", 0,
                           "org-0", filler, {})
                    .ok());
  }
  std::vector<Event> recent = Calls(1, 1, "new");
  absl::StatusOr<std::vector<LogPosition>> last = log->Append(recent);
  ASSERT_TRUE(last.ok()) << last.status();
  absl::StatusOr<std::vector<int64_t>> start = log->StartOffsets();
  ASSERT_TRUE(start.ok()) << start.status();
  ASSERT_GT((*start)[0], (*first)[0].offset);

  int calls = 0;
  auto count = [&](const LogRecord&) {
    ++calls;
    return absl::OkStatus();
  };
  absl::Status gone = log->ReadAt(*first, count);
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound) << gone;
  EXPECT_THAT(gone.message(), HasSubstr("partition 0 offset 0: deleted"));
  EXPECT_EQ(calls, 0);
  std::vector<LogRecord> got;
  absl::Status kept = log->ReadAt(*last, [&](const LogRecord& r) {
    got.push_back(r);
    return absl::OkStatus();
  });
  ASSERT_TRUE(kept.ok()) << kept;
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].event, recent[0]);
}

TEST_F(KafkaLogTest, MissingTopicIsNotFound) {
  absl::StatusOr<std::unique_ptr<KafkaLog>> log =
      KafkaLog::Open({.brokers = broker_->bootstrap(),
                      .topic = "voronka.nope",
                      .append_timeout = absl::Seconds(5)});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound) << log.status();
}

TEST_F(KafkaLogTest, BadClientConfigIsInvalidArgumentNamingTheKey) {
  absl::StatusOr<std::unique_ptr<KafkaLog>> log =
      KafkaLog::Open({.brokers = broker_->bootstrap(),
                      .client_config = {{"no.such.property", "1"}}});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr("no.such.property"));
}

TEST(KafkaLogOpenTest, NoBrokerIsUnavailableWithinTheBound) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<KafkaLog>> log = KafkaLog::Open(
      {.brokers = "127.0.0.1:1", .append_timeout = absl::Seconds(1)});
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kUnavailable)
      << log.status();
}

}  // namespace
}  // namespace voronka
