// IngestSender: sends batches to HTTP ingest over N connections at once.
// One producer thread hands batches over with Submit(); N sender threads,
// each with its own IngestClient (hence its own keep-alive connection),
// take them from a bounded queue in order and send each with
// IngestClient's retry rules. Batches may be acknowledged out of order.
//
//   absl::StatusOr<std::unique_ptr<IngestSender>> sender =
//       IngestSender::Start({.client = {.url = url}, .connections = 4});
//   for (...) VORONKA_RETURN_IF_ERROR((*sender)->Submit(batch, stopping));
//   absl::Status done = (*sender)->Finish(/*abandon=*/false);
//   ... (*sender)->stats().acknowledged ...
//
// Submit() blocks while the queue is full (that is the back pressure that
// keeps a paced producer at the senders' speed). The first error a sender
// meets (a permanent 4xx, retries exhausted) stops all senders: queued
// batches are dropped, and Submit() and Finish() return that error.
// Finish(false) sends everything submitted; Finish(true) (a stop signal)
// lets each sender finish the request in flight without waiting to retry
// and drops the queued batches.
//
// Thread-safety: Submit() and Finish() from one producer thread; stats()
// from any thread.
#ifndef VORONKA_SERVICES_INGEST_SENDER_H_
#define VORONKA_SERVICES_INGEST_SENDER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "events/event.h"
#include "services/ingest_client.h"

namespace voronka {

struct IngestSenderOptions {
  IngestClientOptions client;  // Its `wait` is replaced by the sender's.
  int connections = 1;         // Sender threads, >= 1.
  size_t queue_batches = 0;    // Queue bound; 0: 2 * connections.
};

struct IngestSenderStats {
  int64_t acknowledged = 0;  // Events in batches answered 2xx.
  int64_t appended = 0;
  int64_t duplicates = 0;
  int64_t dropped = 0;  // Events submitted but not sent (error or stop).
  int64_t retries = 0;  // Requests beyond the first, of acknowledged batches.
};

class IngestSender {
 public:
  // InvalidArgument for a bad option or URL. Starts the threads; they
  // connect on their first batch.
  static absl::StatusOr<std::unique_ptr<IngestSender>> Start(
      IngestSenderOptions options);
  ~IngestSender();  // Finish(true) if not finished.
  IngestSender(const IngestSender&) = delete;
  IngestSender& operator=(const IngestSender&) = delete;

  // Queues one batch (non-empty). Waits for room, calling `interrupted`
  // about every 100 ms meanwhile: if it returns true, Submit returns
  // Cancelled without queueing. Returns a sender's error once there is one.
  absl::Status Submit(std::vector<Event> batch,
                      const std::function<bool()>& interrupted = {});

  // Closes the queue and joins the threads (see the top of the file). The
  // first sender error, or OK. Idempotent.
  absl::Status Finish(bool abandon);

  IngestSenderStats stats() const;

  struct Impl;

 private:
  explicit IngestSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_INGEST_SENDER_H_
