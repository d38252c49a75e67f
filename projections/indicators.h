// Leading indicators (DOMAIN.md §4): per manager, per department and in
// total, per day of the event's time (in the configuration's time zone).
//
// Rows  i/<scope>/<id>/<day>, scope "m" (manager), "d" (department) or "t"
// (total, id ""), with the counters
//   calls, calls_answered, talk_seconds               (A)
//   proposals_general                                 (C)
//   applications, applications_amount.<CUR>          (D: applications +
//                                                      individual proposals)
//   invoices_issued, invoices_issued_amount.<CUR>
//   invoices_paid, invoices_paid_amount.<CUR>
//   deals_won, deals_lost
// Rows o/<scope>/<id>/<day> count the calls per organisation that day, one
// field per organisation called (named by its id), so that B (calls per
// organisation) divides by the distinct organisations called in the whole
// queried range, not by an average of daily ratios; being counters they are
// merged without reading, like every other row. Entries
// md/<department>/<manager> list the managers credited in each department.
//
// Credit goes to the manager and department named on the event. An
// invoice.paid naming no manager is credited to whoever issued the invoice
// (the earliest invoice.issued of that deal and invoice in EventKey order);
// until that is known it counts in the total only. That is the one piece of
// state: InvoiceState, whose view is recomputed when either event arrives.
// A deal entering a won or lost stage counts for the actor named on the
// stage change, or in the total only when none is named.
//
// Pure; no clock, no I/O.
#ifndef VORONKA_PROJECTIONS_INDICATORS_H_
#define VORONKA_PROJECTIONS_INDICATORS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "events/funnel_config.h"
#include "projections/deal.h"
#include "projections/view.h"

namespace voronka {

// The counters named above, for one scope and day.
inline constexpr std::string_view kIndicatorScopeManager = "m";
inline constexpr std::string_view kIndicatorScopeDepartment = "d";
inline constexpr std::string_view kIndicatorScopeTotal = "t";

// What `event` contributes by itself (everything but payments without a
// manager). manager.* events contribute nothing.
View IndicatorView(const Event& event, const FunnelConfig& config,
                   const absl::TimeZone& tz);
// The same, added to `changes` without building the view (the projector's
// hot path): equal to changes.Add(IndicatorView(...), +1).
void AddIndicatorView(const Event& event, const FunnelConfig& config,
                      const absl::TimeZone& tz, Changes& changes);

// The invoice's issuers and its payments that name no manager.
struct InvoiceState {
  struct Issue {
    EventKey key;
    ManagerId manager;
    DepartmentId department;
    friend bool operator==(const Issue&, const Issue&) = default;
    template <class Archive>
    void serialize(Archive& ar) {
      ar(key, manager, department);
    }
  };
  struct Payment {
    EventKey key;
    Money amount;
    friend bool operator==(const Payment&, const Payment&) = default;
    template <class Archive>
    void serialize(Archive& ar) {
      ar(key, amount);
    }
  };
  std::vector<Issue> issues;       // Sorted by key, unique.
  std::vector<Payment> anonymous;  // Sorted by key, unique.

  // Records an invoice.issued or an invoice.paid without manager; false if
  // the event is neither or already recorded.
  bool Add(const Event& event);
  friend bool operator==(const InvoiceState&, const InvoiceState&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(issues, anonymous);
  }
};

// True for events that change an InvoiceState.
bool TouchesInvoiceState(const Event& event);

// The credit of the anonymous payments.
View InvoiceView(const InvoiceState& state, const absl::TimeZone& tz);

std::string EncodeInvoiceState(const InvoiceState& state);
absl::StatusOr<InvoiceState> DecodeInvoiceState(std::string_view bytes);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_INDICATORS_H_
