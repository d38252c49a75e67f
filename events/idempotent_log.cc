#include "events/idempotent_log.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "events/codec.h"
#include "events/status.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace voronka {
namespace {

class EmbeddedIdempotentLog : public IdempotentLog {
 public:
  explicit EmbeddedIdempotentLog(EmbeddedLog* log) : log_(log) {}
  absl::StatusOr<AppendOnceResult> AppendOnce(
      std::span<const Event> events) override {
    return log_->AppendOnce(events);
  }
  EventLog& log() override { return *log_; }

 private:
  EmbeddedLog* log_;
};

// The reader's position, stored with the entries. Dedup keys start with a
// printable source, never with 0x00; its value (8 bytes per partition) is
// never kDedupValueSize long, so the window filter keeps it.
constexpr std::string_view kCheckpointKey("\0checkpoint", 11);

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = fmt::format("dedup index: {}: {}", what, s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  return absl::UnavailableError(msg);
}

std::string EncodeOffsets(const std::vector<int64_t>& offsets) {
  std::string out;
  for (int64_t o : offsets) {
    for (int i = 7; i >= 0; --i) {
      out.push_back(static_cast<char>((static_cast<uint64_t>(o) >> (8 * i))));
    }
  }
  return out;
}

std::vector<int64_t> DecodeOffsets(std::string_view s) {
  std::vector<int64_t> out;
  for (size_t at = 0; at + 8 <= s.size(); at += 8) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

class KafkaIdempotentLog : public IdempotentLog {
 public:
  KafkaIdempotentLog(KafkaLog* log, KafkaDedupOptions options)
      : log_(log), options_(std::move(options)) {}

  ~KafkaIdempotentLog() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (tail_.joinable()) tail_.join();
  }

  absl::Status Open() {
    std::error_code ignored;
    std::filesystem::create_directories(options_.dedup_dir, ignored);
    rocksdb::Options ro;
    ro.create_if_missing = true;
    ro.compaction_filter_factory = DedupWindowFilterFactory(options_.window);
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    ro.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::DB* db = nullptr;
    VORONKA_RETURN_IF_ERROR(
        FromRocks(rocksdb::DB::Open(ro, options_.dedup_dir, &db),
                  fmt::format("open {}", options_.dedup_dir)));
    db_.reset(db);

    std::string checkpoint;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(),
                 rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()),
                 &checkpoint);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read checkpoint");
    // From the checkpoint, but never before what the topic still holds
    // (a new index on a topic whose oldest records were deleted).
    std::vector<int64_t> start = DecodeOffsets(checkpoint);
    VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> oldest, log_->StartOffsets());
    start.resize(std::max(start.size(), oldest.size()), 0);
    for (size_t p = 0; p < oldest.size(); ++p) {
      start[p] = std::max(start[p], oldest[p]);
    }
    ReaderOptions reader_options{.start_offsets = std::move(start)};
    // A record that does not decode is the projectors' to report; the
    // index just has nothing to remember of it.
    reader_options.dead_letter = [](const CorruptRecord&) {};
    VORONKA_ASSIGN_OR_RETURN(reader_,
                             log_->OpenReader(std::move(reader_options)));
    indexed_ = reader_->positions();
    // Catch up before the first AppendOnce can look anything up.
    VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end, log_->EndOffsets());
    while (!Reached(indexed_, end)) {
      VORONKA_ASSIGN_OR_RETURN(std::vector<LogRecord> records,
                               reader_->Next(10000, absl::Seconds(1)));
      VORONKA_RETURN_IF_ERROR(Index(records));
    }
    tail_ = std::thread([this] { Tail(); });
    return absl::OkStatus();
  }

  absl::StatusOr<AppendOnceResult> AppendOnce(
      std::span<const Event> events) override {
    AppendOnceResult result;
    if (events.empty()) return result;
    const size_t n = events.size();
    std::vector<std::string> keys(n);
    std::vector<uint64_t> fingerprints(n);
    std::string record;
    for (size_t i = 0; i < n; ++i) {
      keys[i] = DedupKey(events[i]);
      EncodeEventTo(events[i], &record);
      fingerprints[i] = RecordFingerprint(record);
    }
    absl::flat_hash_set<std::string> distinct(keys.begin(), keys.end());
    Reservation reservation(this, std::move(distinct));
    VORONKA_RETURN_IF_ERROR(ResolveUncertain(reservation.keys()));

    VORONKA_ASSIGN_OR_RETURN(std::vector<std::optional<DedupEntry>> known,
                             LookUp(keys));
    std::vector<size_t> first_of;
    ClassifyBatch(keys, fingerprints, known, &result, &first_of);
    if (result.conflicts > 0) return result;

    std::vector<Event> fresh;
    std::vector<size_t> fresh_index;
    for (size_t i = 0; i < n; ++i) {
      if (result.outcomes[i] != AppendOutcome::kAppended) continue;
      fresh.push_back(events[i]);
      fresh_index.push_back(i);
    }
    if (!fresh.empty()) {
      absl::StatusOr<std::vector<LogPosition>> positions = log_->Append(fresh);
      if (!positions.ok()) {
        // Some records may have reached the topic all the same, some may
        // still: librdkafka gives up on each only after its own timeout.
        std::lock_guard<std::mutex> lock(mu_);
        for (size_t i : fresh_index) uncertain_.insert(keys[i]);
        uncertain_until_ = absl::Now() + options_.settle;
        return positions.status();
      }
      rocksdb::WriteBatch batch;
      const int64_t now_us = absl::ToUnixMicros(absl::Now());
      for (size_t k = 0; k < fresh_index.size(); ++k) {
        const size_t i = fresh_index[k];
        result.positions[i] = (*positions)[k];
        batch.Put(keys[i], EncodeDedupEntry({.position = (*positions)[k],
                                             .fingerprint = fingerprints[i],
                                             .recorded_us = now_us}));
      }
      // The events are durable in Kafka whatever happens to this write; if
      // it is lost, the reader indexes them again from the topic.
      rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        for (size_t i : fresh_index) uncertain_.insert(keys[i]);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (first_of[i] != i) result.positions[i] = result.positions[first_of[i]];
    }
    return result;
  }

  EventLog& log() override { return *log_; }

 private:
  // Holds the keys of one AppendOnce call against concurrent calls for the
  // same keys.
  class Reservation {
   public:
    Reservation(KafkaIdempotentLog* owner, absl::flat_hash_set<std::string> k)
        : owner_(owner), keys_(std::move(k)) {
      std::unique_lock<std::mutex> lock(owner_->mu_);
      owner_->cv_.wait(lock, [&] {
        for (const std::string& key : keys_) {
          if (owner_->in_flight_.contains(key)) return false;
        }
        return true;
      });
      for (const std::string& key : keys_) owner_->in_flight_.insert(key);
    }
    ~Reservation() {
      {
        std::lock_guard<std::mutex> lock(owner_->mu_);
        for (const std::string& key : keys_) owner_->in_flight_.erase(key);
      }
      owner_->cv_.notify_all();
    }
    const absl::flat_hash_set<std::string>& keys() const { return keys_; }

   private:
    KafkaIdempotentLog* owner_;
    absl::flat_hash_set<std::string> keys_;
  };

  static bool Reached(const std::vector<int64_t>& at,
                      const std::vector<int64_t>& end) {
    for (size_t p = 0; p < end.size(); ++p) {
      if ((p < at.size() ? at[p] : 0) < end[p]) return false;
    }
    return true;
  }

  // If an earlier failed append left any of `keys` uncertain, waits until
  // the reader has indexed the topic up to its current end.
  absl::Status ResolveUncertain(const absl::flat_hash_set<std::string>& keys) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      bool any = false;
      for (const std::string& k : keys) any = any || uncertain_.contains(k);
      if (!any) return absl::OkStatus();
      if (absl::Now() < uncertain_until_) {
        return absl::UnavailableError(fmt::format(
            "an earlier append of some of these events failed and its "
            "records may still reach the topic; retry in {}",
            absl::FormatDuration(
                absl::Ceil(uncertain_until_ - absl::Now(), absl::Seconds(1)))));
      }
    }
    VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end, log_->EndOffsets());
    std::unique_lock<std::mutex> lock(mu_);
    const bool reached =
        cv_.wait_for(lock, absl::ToChronoMilliseconds(absl::Seconds(30)),
                     [&] { return stop_ || Reached(indexed_, end); });
    if (!reached || stop_) {
      return absl::UnavailableError(
          "dedup index: still reading the topic after a failed append; "
          "retry later");
    }
    for (const std::string& k : keys) uncertain_.erase(k);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::optional<DedupEntry>>> LookUp(
      const std::vector<std::string>& keys) {
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(),
                  keys.size(), slices.data(), values.data(), statuses.data());
    std::vector<std::optional<DedupEntry>> found(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      VORONKA_RETURN_IF_ERROR(FromRocks(statuses[i], "lookup"));
      found[i] = DecodeDedupEntry(
          std::string_view(values[i].data(), values[i].size()));
      if (!found[i].has_value()) {
        return absl::DataLossError(
            fmt::format("dedup index {}: an entry of {} bytes (want {})",
                        options_.dedup_dir, values[i].size(), kDedupValueSize));
      }
    }
    return found;
  }

  // Remembers the first copy of every (source, id) in `records` and the
  // reader's position, in one write.
  absl::Status Index(const std::vector<LogRecord>& records) {
    std::vector<std::string> keys(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      keys[i] = DedupKey(records[i].event);
    }
    VORONKA_ASSIGN_OR_RETURN(std::vector<std::optional<DedupEntry>> known,
                             LookUp(keys));
    rocksdb::WriteBatch batch;
    absl::flat_hash_set<std::string_view> seen;
    const int64_t now_us = absl::ToUnixMicros(absl::Now());
    for (size_t i = 0; i < records.size(); ++i) {
      if (known[i].has_value() || !seen.insert(keys[i]).second) continue;
      const LogRecord& r = records[i];
      const uint64_t fingerprint =
          RecordFingerprint(r.bytes.empty() ? EncodeEvent(r.event) : r.bytes);
      batch.Put(keys[i], EncodeDedupEntry({.position = r.position,
                                           .fingerprint = fingerprint,
                                           .recorded_us = now_us}));
    }
    std::vector<int64_t> positions = reader_->positions();
    batch.Put(rocksdb::Slice(kCheckpointKey.data(), kCheckpointKey.size()),
              EncodeOffsets(positions));
    VORONKA_RETURN_IF_ERROR(
        FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "write"));
    {
      std::lock_guard<std::mutex> lock(mu_);
      indexed_ = std::move(positions);
    }
    cv_.notify_all();
    return absl::OkStatus();
  }

  void Tail() {
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      absl::StatusOr<std::vector<LogRecord>> records =
          reader_->Next(10000, options_.poll);
      absl::Status status = records.ok() ? Index(*records) : records.status();
      if (!status.ok()) {
        // The broker or disk is away; AppendOnce sees its own errors.
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll),
                     [&] { return stop_; });
      }
    }
  }

  KafkaLog* log_;
  KafkaDedupOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<LogReader> reader_;  // Used by Open, then by tail_ only.
  std::thread tail_;

  std::mutex mu_;
  std::condition_variable cv_;  // in_flight_ shrank, indexed_ grew, stop_.
  absl::flat_hash_set<std::string> in_flight_;  // Guarded by mu_.
  absl::flat_hash_set<std::string> uncertain_;  // Guarded by mu_.
  absl::Time uncertain_until_;                  // Guarded by mu_.
  std::vector<int64_t> indexed_;                // Guarded by mu_.
  bool stop_ = false;                           // Guarded by mu_.
};

}  // namespace

std::unique_ptr<IdempotentLog> MakeIdempotent(EmbeddedLog* log) {
  return std::make_unique<EmbeddedIdempotentLog>(log);
}

absl::StatusOr<std::unique_ptr<IdempotentLog>> OpenKafkaIdempotent(
    KafkaLog* log, KafkaDedupOptions options) {
  if (options.dedup_dir.empty()) {
    return absl::InvalidArgumentError("dedup index: no directory given");
  }
  auto result = std::make_unique<KafkaIdempotentLog>(log, std::move(options));
  VORONKA_RETURN_IF_ERROR(result->Open());
  return std::unique_ptr<IdempotentLog>(std::move(result));
}

}  // namespace voronka
