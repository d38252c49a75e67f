// StopSignals: SIGINT and SIGTERM as something a command's main thread waits
// for, instead of an asynchronous handler.
//
// The constructor blocks both signals in the calling thread; threads started
// afterwards inherit the mask, so only Wait() ever receives them. Construct
// it first thing in a command, before any thread (librdkafka's, RocksDB's,
// ours) starts.
//
//   StopSignals stop;
//   StartThings();
//   while (!stop.Wait(absl::Seconds(5))) PrintStatus();
#ifndef VORONKA_SERVICES_STOP_SIGNALS_H_
#define VORONKA_SERVICES_STOP_SIGNALS_H_

#include <signal.h>

#include "absl/time/time.h"

namespace voronka {

class StopSignals {
 public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Waits up to `timeout` (forever if infinite); true if SIGINT or SIGTERM
  // arrived, and the signal number in signal_number().
  bool Wait(absl::Duration timeout);
  int signal_number() const { return signal_number_; }

 private:
  sigset_t set_;
  int signal_number_ = 0;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_STOP_SIGNALS_H_
