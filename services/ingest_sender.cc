// IngestSender. See ingest_sender.h for the contract.
#include "services/ingest_sender.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "events/status.h"
#include "fmt/format.h"

namespace voronka {

struct IngestSender::Impl {
  std::mutex mu;
  std::condition_variable changed;  // Queue, closed, abandon or error.
  std::deque<std::vector<Event>> queue;
  size_t capacity = 2;
  bool closed = false;   // No more Submit().
  bool abandon = false;  // Stop signal: no retry waits, drop the queue.
  bool finished = false;
  absl::Status error;  // The first sender error.
  IngestSenderStats stats;
  std::vector<std::unique_ptr<IngestClient>> clients;
  std::vector<std::thread> threads;

  // Waits `pause` unless the run is abandoned or failed meanwhile.
  bool Wait(absl::Duration pause) {
    std::unique_lock<std::mutex> lock(mu);
    return !changed.wait_for(lock, absl::ToChronoNanoseconds(pause),
                             [&] { return abandon || !error.ok(); });
  }

  void Run(IngestClient* client) {
    while (true) {
      std::vector<Event> batch;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return !queue.empty() || closed; });
        if (queue.empty()) return;  // Closed and drained.
        batch = std::move(queue.front());
        queue.pop_front();
        changed.notify_all();  // Room for Submit().
      }
      absl::StatusOr<IngestResult> result = client->Send(batch);
      std::lock_guard<std::mutex> lock(mu);
      if (result.ok()) {
        stats.acknowledged += static_cast<int64_t>(batch.size());
        stats.appended += result->appended;
        stats.duplicates += result->duplicates;
        stats.retries += result->attempts - 1;
        continue;
      }
      stats.dropped += static_cast<int64_t>(batch.size());
      if (absl::IsCancelled(result.status()) && abandon) continue;
      if (error.ok()) {
        error = result.status();
        DropQueue();
        changed.notify_all();
      }
    }
  }

  void DropQueue() {  // mu held.
    for (const auto& b : queue) stats.dropped += static_cast<int64_t>(b.size());
    queue.clear();
  }
};

IngestSender::IngestSender(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

IngestSender::~IngestSender() { Finish(true).IgnoreError(); }

absl::StatusOr<std::unique_ptr<IngestSender>> IngestSender::Start(
    IngestSenderOptions options) {
  if (options.connections < 1 || options.connections > 1024) {
    return absl::InvalidArgumentError(fmt::format(
        "ingest sender: connections {} not in 1..1024", options.connections));
  }
  auto impl = std::make_unique<Impl>();
  Impl* raw = impl.get();
  impl->capacity = options.queue_batches > 0
                       ? options.queue_batches
                       : 2 * static_cast<size_t>(options.connections);
  options.client.wait = [raw](absl::Duration d) { return raw->Wait(d); };
  for (int i = 0; i < options.connections; ++i) {
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<IngestClient> client,
                             IngestClient::Create(options.client));
    impl->clients.push_back(std::move(client));
  }
  for (auto& client : impl->clients) {
    impl->threads.emplace_back([raw, c = client.get()] { raw->Run(c); });
  }
  return std::unique_ptr<IngestSender>(new IngestSender(std::move(impl)));
}

absl::Status IngestSender::Submit(std::vector<Event> batch,
                                  const std::function<bool()>& interrupted) {
  if (batch.empty()) return absl::OkStatus();
  std::unique_lock<std::mutex> lock(impl_->mu);
  while (true) {
    if (!impl_->error.ok()) return impl_->error;
    if (impl_->closed) {
      return absl::FailedPreconditionError("ingest sender: already finished");
    }
    if (impl_->queue.size() < impl_->capacity) break;
    impl_->changed.wait_for(lock, std::chrono::milliseconds(100));
    if (interrupted && impl_->queue.size() >= impl_->capacity) {
      lock.unlock();
      const bool stop = interrupted();
      lock.lock();
      if (stop) return absl::CancelledError("interrupted");
    }
  }
  impl_->queue.push_back(std::move(batch));
  impl_->changed.notify_all();
  return absl::OkStatus();
}

absl::Status IngestSender::Finish(bool abandon) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->finished) return impl_->error;
    impl_->finished = true;
    impl_->closed = true;
    if (abandon) {
      impl_->abandon = true;
      impl_->DropQueue();
    }
    impl_->changed.notify_all();
  }
  for (std::thread& t : impl_->threads) t.join();
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->error;
}

IngestSenderStats IngestSender::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

}  // namespace voronka
