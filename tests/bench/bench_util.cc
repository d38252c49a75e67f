#include "tests/bench/bench_util.h"

#include <stdlib.h>

#include <cstdlib>

#include "fmt/format.h"

namespace voronka::bench {

std::vector<Event> EventMix(size_t n, size_t first) {
  const Timestamp base = Timestamp::FromUnixMicros(1'793'000'000'000'000);
  const Currency rub = *Currency::FromCode("RUB");
  std::vector<Event> out;
  out.reserve(n);
  for (size_t i = first; i < first + n; ++i) {
    OrgId org(fmt::format("org-{}", i % 5000));
    DealId deal(fmt::format("deal-{}", i % 5000));
    ManagerId manager(fmt::format("m-{}", i % 40));
    DepartmentId dept(i % 3 == 0 ? "sales" : "lead_generation");
    EventData data;
    switch (i % 10) {
      case 0:
        data = ProposalSent{org, manager, dept, ProposalKind::kGeneral};
        break;
      case 1:
        data = DealStageChanged{.org = org,
                                .deal = deal,
                                .funnel = FunnelId("acquisition"),
                                .stage = StageId("development"),
                                .manager = manager,
                                .department = dept,
                                .amount = Money{250'000'00, rub}};
        break;
      case 2:
        data = ApplicationReceived{org, deal, manager, dept,
                                   Money{240'000'00, rub}};
        break;
      default:
        data = CallLogged{.org = org,
                          .manager = manager,
                          .department = dept,
                          .direction = CallDirection::kOutbound,
                          .outcome = CallOutcome::kAnswered,
                          .duration_s = static_cast<int64_t>(30 + i % 400),
                          .call_id = fmt::format("1793000000.{}", i)};
    }
    Timestamp t = base + absl::Seconds(static_cast<int64_t>(i));
    out.push_back(Event{.id = EventId(fmt::format("pbx-{}", i)),
                        .source = SourceId("pbx/asterisk-1"),
                        .time = t,
                        .recorded_time = t + absl::Milliseconds(30),
                        .data = std::move(data)});
  }
  return out;
}

ScratchDir::ScratchDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/voronka-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace voronka::bench
