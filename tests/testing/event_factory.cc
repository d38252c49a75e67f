#include "tests/testing/event_factory.h"

#include "fmt/format.h"
#include "tests/testing/sample_events.h"

namespace voronka::testing {
namespace {

std::optional<ManagerId> OptManager(const std::string& m) {
  return m.empty() ? std::nullopt : std::optional<ManagerId>(ManagerId(m));
}
std::optional<DepartmentId> OptDepartment(const std::string& d) {
  return d.empty() ? std::nullopt
                   : std::optional<DepartmentId>(DepartmentId(d));
}

}  // namespace

Event EventFactory::Make(const std::string& at, EventData data) {
  return Event{.id = EventId(fmt::format("e-{}", next_++)),
               .source = SourceId(source_),
               .time = T(at),
               .recorded_time = T(at),
               .data = std::move(data)};
}

Event EventFactory::Stage(const std::string& at, const std::string& deal,
                          const std::string& stage, const std::string& manager,
                          const std::string& department,
                          std::optional<Money> amount,
                          const std::string& funnel) {
  return Make(at, DealStageChanged{.org = OrgId(org_),
                                   .deal = DealId(deal),
                                   .funnel = FunnelId(funnel),
                                   .stage = StageId(stage),
                                   .manager = OptManager(manager),
                                   .department = OptDepartment(department),
                                   .amount = amount});
}

Event EventFactory::Claim(const std::string& at, const std::string& deal,
                          const std::string& manager,
                          const std::string& department) {
  return Make(at, DealClaimed{OrgId(org_), DealId(deal), ManagerId(manager),
                              DepartmentId(department)});
}

Event EventFactory::Reassign(const std::string& at, const std::string& deal,
                             const std::string& manager,
                             const std::string& department) {
  return Make(at, DealReassigned{.org = OrgId(org_),
                                 .deal = DealId(deal),
                                 .manager = ManagerId(manager),
                                 .department = DepartmentId(department)});
}

Event EventFactory::Departed(const std::string& at, const std::string& manager,
                             const std::string& department) {
  return Make(at, ManagerDeparted{.manager = ManagerId(manager),
                                  .department = DepartmentId(department)});
}

Event EventFactory::Joined(const std::string& at, const std::string& manager,
                           const std::string& department) {
  return Make(at, ManagerJoined{.manager = ManagerId(manager),
                                .department = DepartmentId(department)});
}

Event EventFactory::Call(const std::string& at, const std::string& org,
                         const std::string& manager,
                         const std::string& department, CallOutcome outcome,
                         int64_t duration_s, const std::string& deal) {
  return Make(at,
              CallLogged{.org = OrgId(org),
                         .manager = ManagerId(manager),
                         .department = DepartmentId(department),
                         .outcome = outcome,
                         .duration_s = duration_s,
                         .deal = deal.empty() ? std::nullopt
                                              : std::optional(DealId(deal))});
}

Event EventFactory::GeneralProposal(const std::string& at,
                                    const std::string& org,
                                    const std::string& manager,
                                    const std::string& department) {
  return Make(at, ProposalSent{.org = OrgId(org),
                               .manager = ManagerId(manager),
                               .department = DepartmentId(department)});
}

Event EventFactory::IndividualProposal(const std::string& at,
                                       const std::string& deal,
                                       const std::string& manager,
                                       const std::string& department,
                                       Money amount) {
  return Make(at, ProposalSent{.org = OrgId(org_),
                               .manager = ManagerId(manager),
                               .department = DepartmentId(department),
                               .kind = ProposalKind::kIndividual,
                               .deal = DealId(deal),
                               .amount = amount});
}

Event EventFactory::Application(const std::string& at, const std::string& deal,
                                const std::string& manager,
                                const std::string& department, Money amount) {
  return Make(at,
              ApplicationReceived{OrgId(org_), DealId(deal), ManagerId(manager),
                                  DepartmentId(department), amount});
}

Event EventFactory::Invoice(const std::string& at, const std::string& deal,
                            const std::string& invoice,
                            const std::string& manager,
                            const std::string& department, Money amount) {
  return Make(at, InvoiceIssued{.org = OrgId(org_),
                                .deal = DealId(deal),
                                .invoice = InvoiceId(invoice),
                                .manager = ManagerId(manager),
                                .department = DepartmentId(department),
                                .amount = amount});
}

Event EventFactory::Paid(const std::string& at, const std::string& deal,
                         const std::string& invoice, Money amount,
                         const std::string& manager,
                         const std::string& department) {
  return Make(at, InvoicePaid{.org = OrgId(org_),
                              .deal = DealId(deal),
                              .invoice = InvoiceId(invoice),
                              .amount = amount,
                              .manager = OptManager(manager),
                              .department = OptDepartment(department)});
}

}  // namespace voronka::testing
