#include "projections/indicators.h"

#include <algorithm>

#include "cereal/types/string.hpp"
#include "cereal/types/vector.hpp"
#include "fmt/format.h"
#include "projections/keys.h"
#include "projections/state_codec.h"

namespace voronka {
namespace {

// Applies `fill` to the rows of every scope the credit goes to.
// `index_manager`: also list the manager under the department (md/...).
// Only stateless views do: an entity view's diff could delete the entry.
// `Out` is a View or Changes (both have Row() and Put()).
template <typename Out, typename Fill>
void Credit(Out& out, int64_t day, const ManagerId* manager,
            const DepartmentId* department, Fill fill,
            bool index_manager = true) {
  fill(out.Row(Key("i").Str(kIndicatorScopeTotal).Str("").Int(day)));
  if (manager != nullptr && !manager->empty()) {
    fill(out.Row(
        Key("i").Str(kIndicatorScopeManager).Str(manager->value()).Int(day)));
    if (index_manager && department != nullptr && !department->empty()) {
      out.Put(Key("md").Str(department->value()).Str(manager->value()), "");
    }
  }
  if (department != nullptr && !department->empty()) {
    fill(out.Row(Key("i")
                     .Str(kIndicatorScopeDepartment)
                     .Str(department->value())
                     .Int(day)));
  }
}

template <typename Out>
void CountOrgCalled(Out& out, int64_t day, const CallLogged& call) {
  const std::string& org = call.org.value();
  out.Row(Key("o").Str(kIndicatorScopeTotal).Str("").Int(day)).Add(org, 1);
  out.Row(Key("o")
              .Str(kIndicatorScopeManager)
              .Str(call.manager.value())
              .Int(day))
      .Add(org, 1);
  out.Row(Key("o")
              .Str(kIndicatorScopeDepartment)
              .Str(call.department.value())
              .Int(day))
      .Add(org, 1);
}

template <typename T>
bool InsertSorted(std::vector<T>& list, T item) {
  auto it =
      std::lower_bound(list.begin(), list.end(), item,
                       [](const T& a, const T& b) { return a.key < b.key; });
  if (it != list.end() && it->key == item.key) return false;
  list.insert(it, std::move(item));
  return true;
}

template <typename Out>
void IndicatorViewInto(const Event& event, const FunnelConfig& config,
                       const absl::TimeZone& tz, Out& view) {
  const int64_t day = DayOf(event.time, tz);
  if (const auto* c = event.get_if<CallLogged>()) {
    Credit(view, day, &c->manager, &c->department, [&](Counters& r) {
      r.Add("calls", 1);
      if (c->outcome == CallOutcome::kAnswered) r.Add("calls_answered", 1);
      r.Add("talk_seconds", c->billsec_s.value_or(c->duration_s));
    });
    CountOrgCalled(view, day, *c);
  } else if (const auto* p = event.get_if<ProposalSent>()) {
    Credit(view, day, &p->manager, &p->department, [&](Counters& r) {
      if (p->kind == ProposalKind::kGeneral) {
        r.Add("proposals_general", 1);
      } else {
        r.Add("applications", 1);
        if (p->amount) r.AddMoney("applications_amount", *p->amount);
      }
    });
  } else if (const auto* a = event.get_if<ApplicationReceived>()) {
    Credit(view, day, &a->manager, &a->department, [&](Counters& r) {
      r.Add("applications", 1);
      r.AddMoney("applications_amount", a->amount);
    });
  } else if (const auto* i = event.get_if<InvoiceIssued>()) {
    Credit(view, day, &i->manager, &i->department, [&](Counters& r) {
      r.Add("invoices_issued", 1);
      r.AddMoney("invoices_issued_amount", i->amount);
    });
  } else if (const auto* paid = event.get_if<InvoicePaid>()) {
    if (paid->manager) {  // Otherwise credited through InvoiceView.
      const DepartmentId* dept =
          paid->department ? &*paid->department : nullptr;
      Credit(view, day, &*paid->manager, dept, [&](Counters& r) {
        r.Add("invoices_paid", 1);
        r.AddMoney("invoices_paid_amount", paid->amount);
      });
    }
  } else if (const auto* s = event.get_if<DealStageChanged>()) {
    const Stage* stage = config.FindStage(s->funnel.value(), s->stage.value());
    if (stage != nullptr && stage->closed()) {
      const ManagerId* manager = s->manager ? &*s->manager : nullptr;
      const DepartmentId* dept = s->department ? &*s->department : nullptr;
      Credit(view, day, manager, dept, [&](Counters& r) {
        r.Add(stage->outcome == StageOutcome::kWon ? "deals_won" : "deals_lost",
              1);
      });
    }
  }
}

}  // namespace

View IndicatorView(const Event& event, const FunnelConfig& config,
                   const absl::TimeZone& tz) {
  View view;
  IndicatorViewInto(event, config, tz, view);
  return view;
}

void AddIndicatorView(const Event& event, const FunnelConfig& config,
                      const absl::TimeZone& tz, Changes& changes) {
  IndicatorViewInto(event, config, tz, changes);
}

bool TouchesInvoiceState(const Event& event) {
  if (event.get_if<InvoiceIssued>() != nullptr) return true;
  const auto* paid = event.get_if<InvoicePaid>();
  return paid != nullptr && !paid->manager;
}

bool InvoiceState::Add(const Event& event) {
  if (const auto* i = event.get_if<InvoiceIssued>()) {
    return InsertSorted(issues,
                        Issue{EventKey::Of(event), i->manager, i->department});
  }
  const auto* paid = event.get_if<InvoicePaid>();
  if (paid == nullptr || paid->manager) return false;
  return InsertSorted(anonymous, Payment{EventKey::Of(event), paid->amount});
}

View InvoiceView(const InvoiceState& state, const absl::TimeZone& tz) {
  View view;
  const InvoiceState::Issue* issuer =
      state.issues.empty() ? nullptr : &state.issues.front();
  for (const InvoiceState::Payment& p : state.anonymous) {
    Credit(
        view, DayOf(p.key.time, tz), issuer ? &issuer->manager : nullptr,
        issuer ? &issuer->department : nullptr,
        [&](Counters& r) {
          r.Add("invoices_paid", 1);
          r.AddMoney("invoices_paid_amount", p.amount);
        },
        /*index_manager=*/false);
  }
  return view;
}

namespace {
constexpr char kInvoiceStateV1 = 0x01;
}  // namespace

std::string EncodeInvoiceState(const InvoiceState& state) {
  return EncodeState(kInvoiceStateV1, state);
}

absl::StatusOr<InvoiceState> DecodeInvoiceState(std::string_view bytes) {
  return DecodeState<InvoiceState>(kInvoiceStateV1, "invoice state", bytes);
}

}  // namespace voronka
