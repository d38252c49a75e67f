// EventFactory: terse, valid events for golden and property tests.
//
// Every event gets the next id ("e-1", "e-2", ...) from the factory's source,
// its time from `at` (RFC 3339), and org "org-1" unless a deal's org was set
// with Org(). Amounts are RUB minor units unless a Money is given.
//
//   EventFactory f;
//   Event s = f.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann",
//   "lead_generation"); Event c = f.Claim("2026-11-02T10:00:00Z", "d1", "bob",
//   "sales");
#ifndef VORONKA_TESTS_TESTING_EVENT_FACTORY_H_
#define VORONKA_TESTS_TESTING_EVENT_FACTORY_H_

#include <optional>
#include <string>

#include "events/event.h"

namespace voronka::testing {

class EventFactory {
 public:
  explicit EventFactory(std::string source = "crm/test")
      : source_(std::move(source)) {}

  void SetOrg(std::string org) { org_ = std::move(org); }

  Event Stage(const std::string& at, const std::string& deal,
              const std::string& stage, const std::string& manager = "",
              const std::string& department = "",
              std::optional<Money> amount = std::nullopt,
              const std::string& funnel = "acquisition");
  Event Claim(const std::string& at, const std::string& deal,
              const std::string& manager, const std::string& department);
  Event Reassign(const std::string& at, const std::string& deal,
                 const std::string& manager, const std::string& department);
  Event Departed(const std::string& at, const std::string& manager,
                 const std::string& department);
  Event Joined(const std::string& at, const std::string& manager,
               const std::string& department);
  Event Call(const std::string& at, const std::string& org,
             const std::string& manager, const std::string& department,
             CallOutcome outcome = CallOutcome::kAnswered,
             int64_t duration_s = 60, const std::string& deal = "");
  Event GeneralProposal(const std::string& at, const std::string& org,
                        const std::string& manager,
                        const std::string& department);
  Event IndividualProposal(const std::string& at, const std::string& deal,
                           const std::string& manager,
                           const std::string& department, Money amount);
  Event Application(const std::string& at, const std::string& deal,
                    const std::string& manager, const std::string& department,
                    Money amount);
  Event Invoice(const std::string& at, const std::string& deal,
                const std::string& invoice, const std::string& manager,
                const std::string& department, Money amount);
  Event Paid(const std::string& at, const std::string& deal,
             const std::string& invoice, Money amount,
             const std::string& manager = "",
             const std::string& department = "");

 private:
  Event Make(const std::string& at, EventData data);

  std::string source_;
  std::string org_ = "org-1";
  int next_ = 1;
};

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_EVENT_FACTORY_H_
