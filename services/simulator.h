// Simulator: a seeded, reproducible sales organisation that produces Voronka
// events (DOMAIN.md) in the order a real set of senders would send them.
//
// What it models (docs/simulator.md has the details and the numbers):
//  * staff: lead-generation agents, closers, account managers and key-account
//    managers, each an agent that works its own book of deals during office
//    hours; managers depart (their open deals are reassigned to colleagues,
//    or queued when nobody is left) and are replaced by joiners; with
//    squeeze_weeks, a leaver first squeezes the pipeline for that long;
//  * organisations: prospects never contacted, established clients and
//    sleeping clients; each has a phone number, a currency and a typical deal
//    size;
//  * the three funnels of the configuration, by kind: `acquisition` (cold
//    calls with realistic outcomes, general proposals, handoff to closers,
//    individual proposals, applications, invoices, payments, onboarding),
//    `retention` (renewal reviews of clients) and `reactivation` (sleeping
//    clients woken up). Stages are entered in the funnel's order, with an
//    occasional skip (a prospect who calls in) and lost deals. Handoffs and
//    key-account routing follow DOMAIN.md §4: a stage owned by another
//    department puts the deal in that department's queue, and a manager
//    claims it; deals at or above the key-account threshold are worked by
//    the key-accounts department;
//  * the transport: a fraction of events is sent late (after later events,
//    with its original time) and a fraction is sent twice (same source and
//    id, as a retrying client does).
//
// Contract:
//  * Deterministic: the same configuration and options give a byte-identical
//    event sequence, however it is cut into Next() calls. Randomness comes
//    from std::mt19937_64 streams seeded from `seed`, with our own
//    distributions (the standard library's are implementation-defined).
//    The transport (late and duplicate events) draws from its own stream,
//    so changing late_fraction or duplicate_fraction does not change the
//    story.
//  * Every event is valid for the configuration (it passes the CloudEvents
//    decoder). Event times strictly increase in generation order; only late
//    events and duplicates are sent after later ones. recorded_time is left
//    unset: it belongs to whoever accepts the event.
//  * (source, id) is unique except for the deliberate duplicates, which are
//    identical copies. Event, deal, invoice and manager ids start with
//    id_prefix ("s<seed>" by default), so runs with different seeds can share
//    one log; organisation ids ("org-00001") are the same in every run.
//
// Thread-compatible: one thread per Simulator.
//
//   Simulator sim(FunnelConfig::Default(), {.seed = 7});
//   std::vector<Event> batch = sim.Next(1000);
//   fmt::print("{}", FormatStats(sim.stats()));
#ifndef VORONKA_SERVICES_SIMULATOR_H_
#define VORONKA_SERVICES_SIMULATOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "events/funnel_config.h"
#include "events/timestamp.h"

namespace voronka {

struct SimulatorOptions {
  uint64_t seed = 1;
  // Staff at the start, per department.
  int lead_gen_managers = 8;
  int closers = 4;
  int account_managers = 3;
  int key_account_managers = 1;
  // Organisations in the market; at the start, client_fraction of them are
  // established clients and sleeping_fraction sleeping clients, the rest are
  // prospects nobody has called yet.
  int organisations = 2000;
  double client_fraction = 0.15;
  double sleeping_fraction = 0.10;
  // Share of organisations that pay in USD or EUR instead of RUB.
  double foreign_currency_fraction = 0.08;
  // Simulated time of the first event: Monday 2026-11-02 09:00 Moscow time.
  Timestamp start = Timestamp::FromUnixMicros(1'793'599'200'000'000);
  // Mean pause between two actions of one manager (besides the action's own
  // duration, e.g. the call). Smaller means more events per simulated day.
  absl::Duration tick = absl::Minutes(6);
  // Work happens Monday to Friday, 09:00-18:00 Moscow time (06:00-15:00
  // UTC); false: around the clock.
  bool office_hours = true;
  // Fraction of events sent after later events, with their original time.
  double late_fraction = 0.02;
  // Fraction of events sent a second time (same source and id).
  double duplicate_fraction = 0.01;
  // Expected manager departures per 30 simulated days, whole organisation.
  // Each departure is followed by a joiner in the same department.
  double departure_rate = 1.0;
  // Pipeline drain (seed 001): with N > 0, a departing manager is chosen N
  // weeks before leaving and "squeezes" in those weeks: no cold calls to new
  // organisations, no general proposals, no preparatory calls, and pushes
  // the deals in the book to close (sooner follow-ups, more applications
  // and handoffs, quicker payments). 0: managers leave the moment they are
  // chosen, and the events are the same as without the option. At most 52.
  int squeeze_weeks = 0;
  // Prefix of event, deal, invoice and manager ids; "s<seed>" if empty.
  std::string id_prefix;
};

struct SimulatorStats {
  int64_t events = 0;                              // Sent, duplicates included.
  std::array<int64_t, kEventTypeCount> by_type{};  // Sent, per EventType.
  int64_t duplicates = 0;  // Second copies of an already sent (source, id).
  int64_t late = 0;        // Sent after an event with a later time.
  // Per funnel name.
  std::map<std::string, int64_t> deals_opened;
  std::map<std::string, int64_t> deals_won;
  std::map<std::string, int64_t> deals_lost;
  // Amount of paid invoices, minor units per currency code.
  std::map<std::string, int64_t> paid_minor;
  int64_t handoffs = 0;           // Deals queued for another department.
  int64_t key_account_deals = 0;  // Deals that reached key accounts.
  int64_t managers_joined = 0;    // The initial staff included.
  int64_t managers_departed = 0;
  Timestamp first_time;  // Simulated time of the first and latest event.
  Timestamp last_time;
};

// A few lines for people: events per type, deals per funnel, staff changes.
std::string FormatStats(const SimulatorStats& stats);

class Simulator {
 public:
  // InvalidArgument if the simulator can not run on `config` with `options`:
  // the configuration must have an `acquisition` funnel, every funnel a won
  // and a lost stage, departments lead_generation, sales and
  // account_management, and stages owned only by those; counts must be
  // at least 1 (big deals need a key-account manager), fractions in
  // [0, 1] with client_fraction + sleeping_fraction <= 1, tick positive.
  static absl::Status Check(const FunnelConfig& config,
                            const SimulatorOptions& options);

  // Precondition: Check(config, options) is OK (aborts with its message
  // otherwise). `config` must outlive the simulator.
  Simulator(const FunnelConfig& config, SimulatorOptions options);
  ~Simulator();
  Simulator(Simulator&&) noexcept;
  Simulator& operator=(Simulator&&) noexcept;

  // The next `n` events in sending order. Never returns fewer than `n`: the
  // organisation works forever (lost prospects come back to the market
  // after a while, clients come up for renewal).
  std::vector<Event> Next(size_t n);

  const SimulatorStats& stats() const;
  const SimulatorOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_SIMULATOR_H_
