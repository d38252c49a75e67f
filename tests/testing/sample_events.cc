#include "tests/testing/sample_events.h"

#include <cstdlib>
#include <iostream>

#include "absl/time/time.h"
#include "fmt/format.h"

namespace voronka::testing {

Timestamp T(const std::string& rfc3339) {
  absl::StatusOr<Timestamp> t = ParseRfc3339(rfc3339);
  if (!t.ok()) {
    std::cerr << "bad test timestamp " << rfc3339 << ": " << t.status() << "\n";
    std::abort();
  }
  return *t;
}

Money Rub(int64_t minor) { return {minor, *Currency::FromCode("RUB")}; }
Money Usd(int64_t minor) { return {minor, *Currency::FromCode("USD")}; }

namespace {

Event Make(int n, const std::string& source, const std::string& time,
           EventData data) {
  return Event{.id = EventId(fmt::format("evt-{}", n)),
               .source = SourceId(source),
               .time = T(time),
               .recorded_time = T(time) + absl::Milliseconds(250 + n),
               .data = std::move(data)};
}

}  // namespace

std::vector<Event> SampleEventsOfEveryType() {
  const DepartmentId lg("lead_generation"), sales("sales"),
      am("account_management");
  std::vector<Event> out;
  int n = 0;
  out.push_back(Make(++n, "crm/web", "2026-11-02T08:00:00Z",
                     ManagerJoined{ManagerId("m-anna"), lg, "Anna Petrova"}));
  out.push_back(Make(++n, "pbx/asterisk-1", "2026-11-02T09:00:00Z",
                     CallLogged{.org = OrgId("org-1"),
                                .manager = ManagerId("m-anna"),
                                .department = lg,
                                .direction = CallDirection::kOutbound,
                                .outcome = CallOutcome::kAnswered,
                                .duration_s = 184,
                                .deal = DealId("deal-1"),
                                .contact = "+7 495 000-00-01",
                                .call_id = "1700000000.42",
                                .billsec_s = 170}));
  out.push_back(Make(++n, "pbx/asterisk-1", "2026-11-02T09:05:00+03:00",
                     CallLogged{.org = OrgId("org-2"),
                                .manager = ManagerId("m-anna"),
                                .department = lg,
                                .direction = CallDirection::kInbound,
                                .outcome = CallOutcome::kNoAnswer,
                                .duration_s = 0}));
  out.push_back(Make(++n, "crm/web", "2026-11-02T10:00:00Z",
                     ProposalSent{.org = OrgId("org-1"),
                                  .manager = ManagerId("m-anna"),
                                  .department = lg,
                                  .kind = ProposalKind::kGeneral}));
  out.push_back(Make(++n, "crm/web", "2026-11-02T11:00:00Z",
                     DealStageChanged{.org = OrgId("org-1"),
                                      .deal = DealId("deal-1"),
                                      .funnel = FunnelId("acquisition"),
                                      .stage = StageId("new"),
                                      .manager = ManagerId("m-anna"),
                                      .department = lg}));
  out.push_back(Make(++n, "crm/web", "2026-11-03T11:00:00Z",
                     DealStageChanged{.org = OrgId("org-1"),
                                      .deal = DealId("deal-1"),
                                      .funnel = FunnelId("acquisition"),
                                      .stage = StageId("development"),
                                      .manager = ManagerId("m-anna"),
                                      .department = lg,
                                      .amount = Rub(250'000'00),
                                      .reason = "free version downloaded",
                                      .trigger = StageTrigger::kRobot}));
  out.push_back(Make(++n, "crm/web", "2026-11-03T12:00:00Z",
                     DealClaimed{OrgId("org-1"), DealId("deal-1"),
                                 ManagerId("m-boris"), sales}));
  out.push_back(Make(++n, "crm/web", "2026-11-04T12:00:00Z",
                     ProposalSent{.org = OrgId("org-1"),
                                  .manager = ManagerId("m-boris"),
                                  .department = sales,
                                  .kind = ProposalKind::kIndividual,
                                  .deal = DealId("deal-1"),
                                  .amount = Rub(240'000'00)}));
  out.push_back(
      Make(++n, "crm/web", "2026-11-05T12:00:00Z",
           ApplicationReceived{OrgId("org-1"), DealId("deal-1"),
                               ManagerId("m-boris"), sales, Rub(240'000'00)}));
  out.push_back(Make(++n, "crm/billing", "2026-11-05T13:00:00Z",
                     InvoiceIssued{.org = OrgId("org-1"),
                                   .deal = DealId("deal-1"),
                                   .invoice = InvoiceId("INV-2026-001"),
                                   .manager = ManagerId("m-boris"),
                                   .department = sales,
                                   .amount = Rub(240'000'00),
                                   .due = T("2026-11-20T00:00:00Z")}));
  out.push_back(Make(++n, "bank/1c", "2026-11-09T07:30:00Z",
                     InvoicePaid{.org = OrgId("org-1"),
                                 .deal = DealId("deal-1"),
                                 .invoice = InvoiceId("INV-2026-001"),
                                 .amount = Rub(240'000'00)}));
  out.push_back(Make(++n, "bank/1c", "2026-11-09T07:31:00Z",
                     InvoicePaid{.org = OrgId("org-3"),
                                 .deal = DealId("deal-3"),
                                 .invoice = InvoiceId("INV-2026-002"),
                                 .amount = Usd(5'000'00),
                                 .manager = ManagerId("m-boris"),
                                 .department = sales}));
  out.push_back(
      Make(++n, "crm/web", "2026-11-10T12:00:00Z",
           DealReassigned{OrgId("org-1"), DealId("deal-1"), ManagerId("m-vera"),
                          am, ManagerId("m-head")}));
  out.push_back(Make(++n, "crm/web", "2026-11-11T12:00:00Z",
                     DealReassigned{OrgId("org-2"), DealId("deal-2"),
                                    ManagerId("m-vera"), am, std::nullopt}));
  out.push_back(
      Make(++n, "hr/portal", "2026-11-30T18:00:00Z",
           ManagerDeparted{ManagerId("m-anna"), lg, "moved to a competitor"}));
  return out;
}

std::vector<Event> Calls(int n, int orgs, Timestamp base) {
  std::vector<Event> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    out.push_back(Event{
        .id = EventId(fmt::format("call-{}", i)),
        .source = SourceId("pbx/test"),
        .time = base + absl::Seconds(i),
        .recorded_time = base + absl::Seconds(i) + absl::Milliseconds(40),
        .data = CallLogged{.org = OrgId(fmt::format("org-{}", i % orgs)),
                           .manager = ManagerId(fmt::format("m-{}", i % 3)),
                           .department = DepartmentId("lead_generation"),
                           .direction = CallDirection::kOutbound,
                           .outcome = i % 4 == 0 ? CallOutcome::kNoAnswer
                                                 : CallOutcome::kAnswered,
                           .duration_s = 30 + i % 300}});
  }
  return out;
}

}  // namespace voronka::testing
