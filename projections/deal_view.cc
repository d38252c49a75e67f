#include "projections/deal_view.h"

#include "projections/keys.h"

namespace voronka {
namespace {

// The next stage a deal in stage `i` moves on to: the next one that is not
// lost, or -1 from the last.
int NextStage(const Funnel& funnel, int i) {
  for (int j = i + 1; j < static_cast<int>(funnel.stages.size()); ++j) {
    if (funnel.stages[j].outcome != StageOutcome::kLost) return j;
  }
  return -1;
}

Timestamp FirstWon(const Funnel& funnel, const DealState& state) {
  Timestamp won;
  for (size_t i = 0; i < funnel.stages.size() && i < state.reached.size();
       ++i) {
    if (funnel.stages[i].outcome == StageOutcome::kWon &&
        state.reached[i].is_set() &&
        (!won.is_set() || state.reached[i] < won)) {
      won = state.reached[i];
    }
  }
  return won;
}

}  // namespace

View DealView(const DealState& state, const FunnelConfig& config,
              const absl::TimeZone& tz) {
  View view;
  const std::string& deal = state.deal.value();
  for (size_t n = 0; n < state.claims.size(); ++n) {
    const ClaimWait& c = state.claims[n];
    const int64_t day = DayOf(c.claimed, tz);
    const int64_t wait_us = (c.claimed - c.enqueued) / absl::Microseconds(1);
    Counters& row = view.Row(Key("cw").Str(c.department.value()).Int(day));
    row.Add("claims", 1);
    row.Add("wait_s", wait_us / 1000000);
    view.Put(Key("cl")
                 .Str(c.department.value())
                 .Int(day)
                 .Int(wait_us)
                 .Str(deal)
                 .Int(static_cast<int64_t>(n)),
             c.manager.value());
  }
  const Funnel* funnel = config.FindFunnel(state.funnel.value());
  // A state from another configuration is never viewed: the projection's
  // version includes the configuration, so such a store is rebuilt first.
  if (funnel == nullptr || state.stage < 0 ||
      state.stage >= static_cast<int>(funnel->stages.size()) ||
      state.reached.size() > funnel->stages.size()) {
    return view;
  }
  const Stage& stage = funnel->stages[state.stage];
  const std::string& f = state.funnel.value();
  const std::string& s = stage.name.value();
  const bool open = state.open();

  Counters& work = view.Row(Key("w")
                                .Str(f)
                                .Str(s)
                                .Str(state.stage_department.value())
                                .Str(state.owner ? state.owner->value() : ""));
  work.Add("deals", 1);
  if (open) {
    work.Add("open", 1);
    // Summed stage entry times: the average time in stage at any "now" is
    // now - entered_s / open, for whatever rows a query adds up.
    work.Add("entered_s", state.stage_entered.unix_micros() / 1'000'000);
  }
  if (state.amount) {
    work.AddMoney("amount", *state.amount);
    if (open) {
      work.AddMoney("forecast_bp",
                    Money{state.amount->minor * stage.probability_bp,
                          state.amount->currency});
    }
  }

  const Timestamp won = FirstWon(*funnel, state);
  for (size_t i = 0; i < state.reached.size(); ++i) {
    if (!state.reached[i].is_set()) continue;
    const std::string& name = funnel->stages[i].name.value();
    const int64_t day = DayOf(state.reached[i], tz);
    view.Row(Key("g").Str(f).Str(name).Int(day)).Add("reached", 1);
    Counters& cohort = view.Row(Key("c").Str(f).Str(name).Int(day));
    cohort.Add("entered", 1);
    const int next = NextStage(*funnel, static_cast<int>(i));
    if (next >= 0 && state.reached[next].is_set()) {
      cohort.Add("to_next", 1);
      if (state.reached[next] >= state.reached[i]) {
        cohort.Add("moved_on", 1);
        cohort.Add("next_wait_s",
                   (state.reached[next] - state.reached[i]) / absl::Seconds(1));
      }
    }
    if (won.is_set()) cohort.Add("to_won", 1);
  }

  if (!open) return view;
  if (state.queue) {
    view.Row(Key("ql").Str(state.queue->department.value())).Add("deals", 1);
    view.Put(Key("q")
                 .Str(state.queue->department.value())
                 .Int(state.queue->since.unix_micros())
                 .Str(deal),
             std::string(ToString(state.queue->reason)));
  }
  view.Put(
      Key("st").Str(f).Str(s).Int(state.stage_entered.unix_micros()).Str(deal),
      "");
  view.Put(
      Key("id").Str(f).Str(s).Int(state.last_activity.unix_micros()).Str(deal),
      "");
  if (state.owner) {
    view.Put(Key("ob").Str(state.owner->value()).Str(deal), "");
  }
  return view;
}

}  // namespace voronka
