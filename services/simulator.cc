// The simulated organisation is a discrete-event simulation: an agenda of
// tasks ordered by simulated time (a manager's next turn, a payment arriving,
// a client coming up for renewal, a staff change). Running a task appends
// events to `generated_`; the transport then sends them, holding some back
// (late) and repeating some (duplicates).
#include "services/simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <numbers>
#include <optional>
#include <queue>
#include <random>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/time/civil_time.h"
#include "events/status.h"
#include "fmt/format.h"

namespace voronka {
namespace {

constexpr absl::Duration kMinute = absl::Minutes(1);
constexpr absl::Duration kHour = absl::Hours(1);
constexpr absl::Duration kDay = absl::Hours(24);
constexpr Timestamp kNever =
    Timestamp::FromUnixMicros(std::numeric_limits<int64_t>::max());

// Our own distributions over std::mt19937_64 (whose output the standard
// fixes): std::uniform_int_distribution & co. differ between libraries.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  double Uniform() {  // [0, 1)
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  }
  int64_t Int(int64_t lo, int64_t hi) {  // [lo, hi]
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(engine_() % span);
  }
  bool Chance(double p) { return Uniform() < p; }
  absl::Duration Between(absl::Duration lo, absl::Duration hi) {
    return lo + absl::Microseconds(Int(0, absl::ToInt64Microseconds(hi - lo)));
  }
  absl::Duration Exponential(absl::Duration mean) {
    return mean * -std::log1p(-Uniform());
  }
  double LogNormal(double median, double sigma) {  // Box-Muller.
    const double u1 = 1.0 - Uniform();
    const double u2 = Uniform();
    const double z =
        std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    return median * std::exp(sigma * z);
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Int(0, std::ssize(items) - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

// The four departments the simulator staffs.
enum Role : int { kLeadGen = 0, kSales, kAccounts, kKeyAccounts };
constexpr int kRoleCount = 4;
constexpr std::array<std::string_view, kRoleCount> kRoleTag = {"lg", "sales",
                                                               "am", "ka"};
// Open deals a manager keeps in the book before taking new work.
constexpr std::array<size_t, kRoleCount> kBookCapacity = {40, 20, 30, 15};

enum Source : int { kPbxLeadGen = 0, kPbxOffice, kCrm, kRobot, kBank, kHr };
constexpr std::array<std::string_view, 6> kSourceName = {
    "pbx/asterisk-1", "pbx/asterisk-2",  "crm/web",
    "crm/robot",      "bank/statements", "hr/directory"};

const std::vector<std::string> kMaleNames = {
    "Ivan",    "Dmitry", "Sergey",  "Alexey", "Pavel",
    "Nikolay", "Andrey", "Mikhail", "Oleg",   "Artem"};
const std::vector<std::string> kFemaleNames = {
    "Anna",  "Elena",   "Olga",     "Maria",  "Natalia",
    "Irina", "Tatiana", "Svetlana", "Ksenia", "Yulia"};
const std::vector<std::string> kSurnames = {
    "Ivanov",  "Petrov", "Smirnov", "Kuznetsov", "Popov",  "Sokolov",
    "Lebedev", "Kozlov", "Novikov", "Morozov",   "Volkov", "Fedorov",
    "Orlov",   "Belov",  "Zaitsev", "Pavlov"};
const std::vector<std::string> kDepartureReasons = {
    "resigned", "moved to a competitor", "dismissed", "relocated"};
const std::vector<std::string> kLostSaleReasons = {
    "chose a competitor", "no budget this year", "postponed indefinitely"};

struct Manager {
  ManagerId id;
  Role role = kLeadGen;
  bool active = true;
  // Chosen to leave (squeeze_weeks > 0): drains the pipeline until the
  // departure.
  bool squeezing = false;
  std::vector<int64_t> book;  // Numbers of the open deals it owns.
};

struct Org {
  OrgId id;
  Currency currency;
  int64_t typical_minor = 0;  // Typical deal size.
  std::string phone;
};

struct Deal {
  int64_t number = 0;
  DealId id;
  int org = 0;
  const Funnel* funnel = nullptr;
  int stage = -1;               // -1 until the first stage change.
  Role role = kLeadGen;         // Department working the current stage.
  int owner = -1;               // Manager index; -1 while queued.
  std::optional<Money> amount;  // Expected value, once known.
  int64_t planned_minor = 0;    // What it will turn out to be worth.
  bool key_account = false;
  // Progress in the current stage.
  int calls = 0;
  int unanswered = 0;
  int calls_needed = 1;
  // Progress in the deal.
  bool general_sent = false;
  bool proposal_sent = false;
  bool application = false;
  std::optional<InvoiceId> invoice;
  bool paid = false;
  Timestamp due;  // When the owner should act next.
};

enum class TaskKind {
  kManagerTurn,      // target: manager index
  kPayment,          // target: deal number
  kRetention,        // target: org index
  kReactivation,     // target: org index
  kProspectReturns,  // target: org index
  kStaffChange,      // target: unused
  kJoin,             // target: Role
  kDepart,           // target: manager index (squeeze_weeks > 0)
};

struct Task {
  Timestamp at;
  uint64_t seq = 0;
  TaskKind kind = TaskKind::kManagerTurn;
  int64_t target = 0;
  bool operator>(const Task& o) const {
    return std::tie(at, seq) > std::tie(o.at, o.seq);
  }
};

struct Held {
  Event event;
  bool duplicate = false;
};

int64_t RoundAmount(double minor, const Currency& currency) {
  // Whole thousands of roubles, whole tens of dollars or euros.
  const double unit = currency.code() == "RUB" ? 100'000.0 : 1'000.0;
  return std::max<int64_t>(1, std::llround(minor / unit)) *
         static_cast<int64_t>(unit);
}

std::string FormatMinor(int64_t minor) {
  return fmt::format("{}.{:02}", minor / 100, minor % 100);
}

}  // namespace

struct Simulator::Impl {
  Impl(const FunnelConfig& config, SimulatorOptions options);

  std::vector<Event> Next(size_t n);

  // Transport.
  void Send(std::vector<Event>& out, Event event, bool duplicate);
  void RunNextTask();

  // Agenda.
  void Schedule(TaskKind kind, int64_t target, Timestamp at);
  Timestamp Office(Timestamp t);
  void ScheduleTurn(int manager, Timestamp at);

  // Emission.
  Timestamp Stamp(Timestamp t);
  void Emit(Source source, Timestamp t, EventData data);
  const DepartmentId& Dept(Role role) const { return departments[role]; }

  // Staff.
  void Hire(Role role, Timestamp t);
  void StaffChange(Timestamp now);
  void Depart(int manager, Timestamp now);
  int LeastLoaded(Role role) const;
  void DropFromBook(Deal& deal);

  // Organisations and deals.
  void InitOrganisations();
  const Funnel* FunnelOfKind(std::string_view kind) const;
  Deal& NewDeal(int org, const Funnel* funnel);
  void OpenByRobot(int org, const Funnel* funnel, double factor,
                   const char* reason, Timestamp now);
  void Wake(int org, TaskKind preferred, Timestamp at);
  void AfterClose(const Deal& deal, bool won, Timestamp t);
  Role StageRole(const Stage& stage) const;
  Role EffectiveRole(const Deal& deal, const Stage& stage) const;
  int NextStage(const Deal& deal, int after) const;
  int LostStage(const Deal& deal) const;
  void Enter(Deal& deal, int stage, Timestamp t, const Manager* actor,
             std::optional<std::string> reason);
  void RevealAmount(Deal& deal);

  // A manager's work.
  void ManagerTurn(int manager, Timestamp now);
  Deal* DueDeal(const Manager& m, Timestamp now);
  Timestamp EarliestDue(const Manager& m);
  Timestamp Claim(int manager, Timestamp now);
  Timestamp OpenAcquisition(int manager, Timestamp now);
  Timestamp WorkOn(Manager& m, Deal& deal, Timestamp now);
  Timestamp Prospect(Manager& m, Deal& deal, Timestamp now);
  Timestamp Sell(Manager& m, Deal& deal, Timestamp now);
  Timestamp Serve(Manager& m, Deal& deal, Timestamp now);
  Timestamp Call(Manager& m, Deal& deal, Timestamp now, CallDirection dir,
                 CallOutcome outcome, double talk_median_s);
  CallOutcome RollOutcome(double answer_probability);
  bool Unreachable(Manager& m, Deal& deal, Timestamp t, int limit);
  Timestamp IssueInvoice(Manager& m, Deal& deal, Timestamp t);
  void Payment(int64_t deal_number, Timestamp now);

  const FunnelConfig& config;
  SimulatorOptions options;
  std::string prefix;
  Random story;  // The organisation's behaviour.
  Random wire;   // Late and duplicate sending.
  std::array<DepartmentId, kRoleCount> departments;
  Currency rub, usd, eur;
  ManagerId director;

  std::vector<Manager> managers;
  std::array<int, kRoleCount> hired{};
  std::vector<Org> orgs;
  std::vector<int> prospects;
  std::map<int64_t, Deal> deals;  // Open deals. Never iterated.
  std::vector<int64_t> closed;    // Erased before the next task.
  int64_t deal_count = 0;
  int64_t invoice_count = 0;
  std::array<std::deque<int64_t>, kRoleCount> queues;
  std::priority_queue<Task, std::vector<Task>, std::greater<>> agenda;
  uint64_t task_count = 0;

  std::array<int64_t, kSourceName.size()> source_counts{};
  Timestamp last_time;
  std::deque<Event> generated;
  std::map<std::pair<int64_t, uint64_t>, Held> held;  // By (release, seq).
  uint64_t held_count = 0;
  int64_t sent = 0;
  Timestamp max_sent_time;
  SimulatorStats stats;
};

// ---------------------------------------------------------------- set-up

Simulator::Impl::Impl(const FunnelConfig& cfg, SimulatorOptions opts)
    : config(cfg),
      options(std::move(opts)),
      prefix(options.id_prefix.empty() ? fmt::format("s{}", options.seed)
                                       : options.id_prefix),
      story(options.seed),
      wire(options.seed ^ 0x9e3779b97f4a7c15ULL),
      departments{DepartmentId("lead_generation"), DepartmentId("sales"),
                  DepartmentId("account_management"),
                  cfg.key_accounts_department()},
      rub(*Currency::FromCode("RUB")),
      usd(*Currency::FromCode("USD")),
      eur(*Currency::FromCode("EUR")),
      director(fmt::format("{}-director", prefix)) {
  const std::array<int, kRoleCount> staff = {
      options.lead_gen_managers, options.closers, options.account_managers,
      options.key_account_managers};
  for (int role = 0; role < kRoleCount; ++role) {
    for (int i = 0; i < staff[role]; ++i) {
      Hire(static_cast<Role>(role), options.start);
    }
  }
  InitOrganisations();
  if (options.departure_rate > 0) {
    Schedule(TaskKind::kStaffChange, 0,
             Office(options.start +
                    story.Exponential(30 * kDay / options.departure_rate)));
  }
}

void Simulator::Impl::InitOrganisations() {
  for (int i = 0; i < options.organisations; ++i) {
    Org org;
    org.id = OrgId(fmt::format("org-{:05}", i + 1));
    double median = 25'000'000;  // RUB 250,000.00
    org.currency = rub;
    if (story.Chance(options.foreign_currency_fraction)) {
      org.currency = story.Chance(0.6) ? usd : eur;
      median = 350'000;  // 3,500.00
    }
    org.typical_minor = RoundAmount(story.LogNormal(median, 1.0), org.currency);
    org.phone =
        fmt::format("+7 {} {:03}-{:02}-{:02}",
                    story.Pick(std::vector<int>{495, 499, 812, 343}),
                    story.Int(100, 999), story.Int(0, 99), story.Int(0, 99));
    orgs.push_back(std::move(org));
    const double kind = story.Uniform();
    if (kind < options.client_fraction) {
      Wake(i, TaskKind::kRetention,
           options.start + story.Between(absl::ZeroDuration(), 45 * kDay));
    } else if (kind < options.client_fraction + options.sleeping_fraction) {
      Wake(i, TaskKind::kReactivation,
           options.start + story.Between(absl::ZeroDuration(), 60 * kDay));
    } else {
      prospects.push_back(i);
    }
  }
}

const Funnel* Simulator::Impl::FunnelOfKind(std::string_view kind) const {
  for (const Funnel& f : config.funnels()) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

// ---------------------------------------------------------------- transport

std::vector<Event> Simulator::Impl::Next(size_t n) {
  std::vector<Event> out;
  out.reserve(n);
  while (out.size() < n) {
    if (!held.empty() && held.begin()->first.first <= sent) {
      auto node = held.extract(held.begin());
      Send(out, std::move(node.mapped().event), node.mapped().duplicate);
      continue;
    }
    if (generated.empty()) {
      RunNextTask();
      continue;
    }
    Event event = std::move(generated.front());
    generated.pop_front();
    int64_t release = sent;
    const bool late = wire.Chance(options.late_fraction);
    if (late) release += wire.Int(5, 80);
    if (wire.Chance(options.duplicate_fraction)) {
      held.emplace(std::make_pair(release + wire.Int(1, 40), held_count++),
                   Held{event, true});
    }
    if (late) {
      held.emplace(std::make_pair(release, held_count++),
                   Held{std::move(event), false});
      continue;
    }
    Send(out, std::move(event), false);
  }
  return out;
}

void Simulator::Impl::Send(std::vector<Event>& out, Event event,
                           bool duplicate) {
  ++stats.events;
  ++stats.by_type[static_cast<size_t>(event.type())];
  if (duplicate) {
    ++stats.duplicates;
  } else if (event.time < max_sent_time) {
    ++stats.late;
  }
  if (!stats.first_time.is_set() || event.time < stats.first_time) {
    stats.first_time = event.time;
  }
  max_sent_time = std::max(max_sent_time, event.time);
  stats.last_time = max_sent_time;
  ++sent;
  out.push_back(std::move(event));
}

void Simulator::Impl::RunNextTask() {
  for (int64_t number : closed) deals.erase(number);
  closed.clear();
  const Task task = agenda.top();
  agenda.pop();
  switch (task.kind) {
    case TaskKind::kManagerTurn:
      ManagerTurn(static_cast<int>(task.target), task.at);
      break;
    case TaskKind::kPayment:
      Payment(task.target, task.at);
      break;
    case TaskKind::kRetention:
      OpenByRobot(static_cast<int>(task.target), FunnelOfKind("retention"),
                  1.0 + story.Uniform() * 0.2, "contract renewal due", task.at);
      break;
    case TaskKind::kReactivation:
      OpenByRobot(static_cast<int>(task.target), FunnelOfKind("reactivation"),
                  1.0, "no purchases for six months", task.at);
      break;
    case TaskKind::kProspectReturns:
      prospects.push_back(static_cast<int>(task.target));
      break;
    case TaskKind::kStaffChange:
      StaffChange(task.at);
      break;
    case TaskKind::kJoin:
      Hire(static_cast<Role>(task.target), task.at);
      break;
    case TaskKind::kDepart:
      Depart(static_cast<int>(task.target), task.at);
      break;
  }
}

// ---------------------------------------------------------------- agenda

void Simulator::Impl::Schedule(TaskKind kind, int64_t target, Timestamp at) {
  agenda.push(
      Task{.at = at, .seq = task_count++, .kind = kind, .target = target});
}

// `t` if it is in office hours, else a few minutes after the next opening.
Timestamp Simulator::Impl::Office(Timestamp t) {
  if (!options.office_hours) return t;
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilSecond now = absl::ToCivilSecond(t.ToAbsl(), utc);
  absl::CivilDay day(now);
  auto weekend = [](absl::CivilDay d) {
    const absl::Weekday w = absl::GetWeekday(d);
    return w == absl::Weekday::saturday || w == absl::Weekday::sunday;
  };
  if (!weekend(day) && now.hour() >= 6 && now.hour() < 15) return t;
  if (now.hour() >= 6) ++day;
  while (weekend(day)) ++day;
  const absl::CivilHour opening(day.year(), day.month(), day.day(), 6);
  return Timestamp::FromAbsl(absl::FromCivil(opening, utc)) +
         story.Between(absl::ZeroDuration(), 20 * kMinute);
}

void Simulator::Impl::ScheduleTurn(int manager, Timestamp at) {
  Schedule(TaskKind::kManagerTurn, manager, Office(at));
}

// ---------------------------------------------------------------- emission

// Event times strictly increase in generation order.
Timestamp Simulator::Impl::Stamp(Timestamp t) {
  if (last_time.is_set()) t = std::max(t, last_time + absl::Milliseconds(1));
  last_time = t;
  return t;
}

void Simulator::Impl::Emit(Source source, Timestamp t, EventData data) {
  const int64_t n = ++source_counts[source];
  generated.push_back(Event{.id = EventId(fmt::format("{}-{}", prefix, n)),
                            .source = SourceId(kSourceName[source]),
                            .time = Stamp(t),
                            .data = std::move(data)});
}

// ---------------------------------------------------------------- staff

void Simulator::Impl::Hire(Role role, Timestamp t) {
  const int number = ++hired[role];
  const bool female = story.Chance(0.5);
  std::string name =
      fmt::format("{} {}{}", story.Pick(female ? kFemaleNames : kMaleNames),
                  story.Pick(kSurnames), female ? "a" : "");
  Manager m{.id = ManagerId(
                fmt::format("{}-{}-{:02}", prefix, kRoleTag[role], number)),
            .role = role};
  Emit(kHr, t, ManagerJoined{m.id, Dept(role), std::move(name)});
  ++stats.managers_joined;
  managers.push_back(std::move(m));
  ScheduleTurn(static_cast<int>(managers.size()) - 1,
               t + story.Between(absl::ZeroDuration(), 15 * kMinute));
}

// One manager is chosen to leave: at once, or with squeeze_weeks after that
// many weeks of squeezing the pipeline. Managers already leaving are not
// chosen again.
void Simulator::Impl::StaffChange(Timestamp now) {
  std::vector<int> candidates;
  for (int i = 0; i < std::ssize(managers); ++i) {
    if (managers[i].active && !managers[i].squeezing) candidates.push_back(i);
  }
  if (!candidates.empty()) {
    const int leaver = story.Pick(candidates);
    if (options.squeeze_weeks > 0) {
      managers[leaver].squeezing = true;
      Schedule(TaskKind::kDepart, leaver,
               Office(now + 7 * options.squeeze_weeks * kDay));
    } else {
      Depart(leaver, now);
    }
  }
  Schedule(TaskKind::kStaffChange, 0,
           Office(now + story.Exponential(30 * kDay / options.departure_rate)));
}

// The manager leaves; its open deals go to the least loaded colleague, or to
// the department's queue when nobody is left. A joiner follows in days.
void Simulator::Impl::Depart(int index, Timestamp now) {
  Manager& leaver = managers[index];
  leaver.active = false;
  leaver.squeezing = false;
  Emit(kHr, now,
       ManagerDeparted{leaver.id, Dept(leaver.role),
                       story.Pick(kDepartureReasons)});
  ++stats.managers_departed;
  const std::vector<int64_t> book = std::move(leaver.book);
  leaver.book.clear();
  const Timestamp t = now + story.Between(5 * kMinute, 2 * kHour);
  for (int64_t number : book) {
    Deal& deal = deals.at(number);
    deal.owner = -1;
    const int heir = LeastLoaded(leaver.role);
    if (heir < 0) {
      queues[leaver.role].push_back(number);
      continue;
    }
    deal.owner = heir;
    managers[heir].book.push_back(number);
    Emit(kCrm, t,
         DealReassigned{orgs[deal.org].id, deal.id, managers[heir].id,
                        Dept(leaver.role), director});
  }
  Schedule(TaskKind::kJoin, leaver.role,
           Office(now + story.Between(kDay, 10 * kDay)));
}

// Colleagues who are not leaving themselves first.
int Simulator::Impl::LeastLoaded(Role role) const {
  int best = -1;
  for (int i = 0; i < std::ssize(managers); ++i) {
    const Manager& m = managers[i];
    if (!m.active || m.role != role) continue;
    if (best < 0 ||
        std::pair(m.squeezing, m.book.size()) <
            std::pair(managers[best].squeezing, managers[best].book.size())) {
      best = i;
    }
  }
  return best;
}

void Simulator::Impl::DropFromBook(Deal& deal) {
  if (deal.owner < 0) return;
  std::vector<int64_t>& book = managers[deal.owner].book;
  book.erase(std::remove(book.begin(), book.end(), deal.number), book.end());
  deal.owner = -1;
}

// ---------------------------------------------------------------- deals

Deal& Simulator::Impl::NewDeal(int org, const Funnel* funnel) {
  const int64_t number = ++deal_count;
  Deal& deal = deals[number];
  deal.number = number;
  deal.id = DealId(fmt::format("{}-deal-{:06}", prefix, number));
  deal.org = org;
  deal.funnel = funnel;
  deal.planned_minor =
      RoundAmount(static_cast<double>(orgs[org].typical_minor) *
                      (0.8 + 0.45 * story.Uniform()),
                  orgs[org].currency);
  ++stats.deals_opened[funnel->name.value()];
  return deal;
}

// The CRM opens a retention or reactivation deal by itself (trigger robot);
// it waits in the first stage's queue until a manager claims it.
void Simulator::Impl::OpenByRobot(int org, const Funnel* funnel, double factor,
                                  const char* reason, Timestamp now) {
  if (funnel == nullptr) {
    prospects.push_back(org);
    return;
  }
  Deal& deal = NewDeal(org, funnel);
  deal.planned_minor =
      RoundAmount(static_cast<double>(orgs[org].typical_minor) * factor,
                  orgs[org].currency);
  RevealAmount(deal);
  Enter(deal, 0, Office(now), nullptr, reason);
}

// Schedules the organisation's next deal: `preferred` if the configuration
// has that kind of funnel, else reactivation, else back among prospects.
void Simulator::Impl::Wake(int org, TaskKind preferred, Timestamp at) {
  if (preferred == TaskKind::kRetention &&
      FunnelOfKind("retention") == nullptr) {
    preferred = TaskKind::kReactivation;
  }
  if (preferred == TaskKind::kReactivation &&
      FunnelOfKind("reactivation") == nullptr) {
    preferred = TaskKind::kProspectReturns;
  }
  Schedule(preferred, org, Office(at));
}

// Clients come up for renewal or fall asleep; lost prospects come back to
// the market after months.
void Simulator::Impl::AfterClose(const Deal& deal, bool won, Timestamp t) {
  const std::string& kind = deal.funnel->kind;
  if (won) {
    if (story.Chance(0.75)) {
      Wake(deal.org, TaskKind::kRetention,
           t + story.Between(30 * kDay, 90 * kDay));
    } else {
      Wake(deal.org, TaskKind::kReactivation,
           t + story.Between(60 * kDay, 150 * kDay));
    }
  } else if (kind == "acquisition") {
    Wake(deal.org, TaskKind::kProspectReturns,
         t + story.Between(30 * kDay, 90 * kDay));
  } else if (kind == "retention") {
    Wake(deal.org, TaskKind::kReactivation,
         t + story.Between(30 * kDay, 120 * kDay));
  } else {
    Wake(deal.org, TaskKind::kReactivation,
         t + story.Between(120 * kDay, 240 * kDay));
  }
}

Role Simulator::Impl::StageRole(const Stage& stage) const {
  for (int role = 0; role < kRoleCount; ++role) {
    if (stage.owner && *stage.owner == departments[role]) {
      return static_cast<Role>(role);
    }
  }
  return kLeadGen;  // Check() allows no other owners.
}

// DOMAIN.md §4: big deals in routed stages belong to key accounts.
Role Simulator::Impl::EffectiveRole(const Deal& deal,
                                    const Stage& stage) const {
  const Role role = StageRole(stage);
  if (!deal.amount) return role;
  const auto& routed = config.key_account_routed();
  if (std::find(routed.begin(), routed.end(), departments[role]) ==
      routed.end()) {
    return role;
  }
  const auto& threshold = config.key_account_threshold();
  auto it = threshold.find(deal.amount->currency);
  if (it == threshold.end() || deal.amount->minor < it->second) return role;
  return kKeyAccounts;
}

// The first stage after `after` that is not lost (Check() guarantees one).
int Simulator::Impl::NextStage(const Deal& deal, int after) const {
  const auto& stages = deal.funnel->stages;
  for (int i = after + 1; i < std::ssize(stages); ++i) {
    if (stages[i].outcome != StageOutcome::kLost) return i;
  }
  return LostStage(deal);
}

int Simulator::Impl::LostStage(const Deal& deal) const {
  const auto& stages = deal.funnel->stages;
  for (int i = 0; i < std::ssize(stages); ++i) {
    if (stages[i].outcome == StageOutcome::kLost) return i;
  }
  return std::ssize(stages) - 1;
}

void Simulator::Impl::RevealAmount(Deal& deal) {
  if (!deal.amount) {
    deal.amount = Money{deal.planned_minor, orgs[deal.org].currency};
  }
}

// The deal enters `stage` (its first one if deal.stage is -1), `actor`
// acting (nullptr: the CRM robot). Applies DOMAIN.md §4's ownership rules.
// A deal that closes is erased before the next task: callers may still read
// it but must not schedule work on it.
void Simulator::Impl::Enter(Deal& deal, int stage, Timestamp t,
                            const Manager* actor,
                            std::optional<std::string> reason) {
  const bool first = deal.stage < 0;
  const Stage& target = deal.funnel->stages[stage];
  Emit(
      actor != nullptr ? kCrm : kRobot, t,
      DealStageChanged{
          .org = orgs[deal.org].id,
          .deal = deal.id,
          .funnel = deal.funnel->name,
          .stage = target.name,
          .manager = actor ? std::optional(actor->id) : std::nullopt,
          .department = actor ? std::optional(Dept(actor->role)) : std::nullopt,
          .amount = deal.amount,
          .reason = std::move(reason),
          .trigger = actor ? StageTrigger::kPerson : StageTrigger::kRobot});
  const Role previous = deal.role;
  deal.stage = stage;
  deal.calls = 0;
  deal.unanswered = 0;
  if (target.closed()) {
    const bool won = target.outcome == StageOutcome::kWon;
    ++(won ? stats.deals_won : stats.deals_lost)[deal.funnel->name.value()];
    DropFromBook(deal);
    closed.push_back(deal.number);
    AfterClose(deal, won, t);
    return;
  }
  deal.role = EffectiveRole(deal, target);
  if (deal.role == kKeyAccounts && !deal.key_account) {
    deal.key_account = true;
    ++stats.key_account_deals;
  }
  deal.calls_needed = static_cast<int>(story.Int(1, 3));
  if (first && actor != nullptr && actor->role == deal.role) {
    deal.owner = static_cast<int>(actor - managers.data());
    managers[deal.owner].book.push_back(deal.number);
    return;
  }
  if (!first && deal.role == previous && deal.owner >= 0) return;
  DropFromBook(deal);
  queues[deal.role].push_back(deal.number);
  if (!first) ++stats.handoffs;
}

// ---------------------------------------------------------------- work

void Simulator::Impl::ManagerTurn(int index, Timestamp now) {
  Manager& m = managers[index];
  if (!m.active) return;
  const bool has_room = m.book.size() < kBookCapacity[m.role];
  Timestamp end;
  if (Deal* deal = DueDeal(m, now)) {
    end = WorkOn(m, *deal, now);
    // A squeezing manager chases the deal instead of waiting for the client
    // (not an unpaid invoice: the client pays when it pays).
    if (m.squeezing && deal->owner == index && (!deal->invoice || deal->paid) &&
        deal->due > end + kDay) {
      deal->due = end + story.Between(kHour, kDay);
    }
  } else if (has_room && !queues[m.role].empty()) {
    end = Claim(index, now);
  } else if (has_room && m.role == kLeadGen && !prospects.empty() &&
             !m.squeezing) {
    end = OpenAcquisition(index, now);
  } else {
    const Timestamp idle = now + story.Between(20 * kMinute, kHour);
    ScheduleTurn(index,
                 std::max(std::min(idle, EarliestDue(m)), now + kMinute));
    return;
  }
  ScheduleTurn(index, end + story.Between(30 * absl::Seconds(1), 3 * kMinute) +
                          story.Exponential(options.tick));
}

Deal* Simulator::Impl::DueDeal(const Manager& m, Timestamp now) {
  Deal* best = nullptr;
  for (int64_t number : m.book) {
    Deal& deal = deals.at(number);
    if (deal.due <= now && (best == nullptr || deal.due < best->due)) {
      best = &deal;
    }
  }
  return best;
}

Timestamp Simulator::Impl::EarliestDue(const Manager& m) {
  Timestamp earliest = kNever;
  for (int64_t number : m.book) {
    earliest = std::min(earliest, deals.at(number).due);
  }
  return earliest;
}

// Takes the oldest deal from the department's handoff queue.
Timestamp Simulator::Impl::Claim(int index, Timestamp now) {
  Manager& m = managers[index];
  const int64_t number = queues[m.role].front();
  queues[m.role].pop_front();
  Deal& deal = deals.at(number);
  deal.owner = index;
  m.book.push_back(number);
  Emit(kCrm, now, DealClaimed{orgs[deal.org].id, deal.id, m.id, Dept(m.role)});
  deal.due = now + story.Between(5 * kMinute, 2 * kHour);
  return now + story.Between(kMinute, 3 * kMinute);
}

// A cold call to a prospect nobody has called yet opens an acquisition deal.
Timestamp Simulator::Impl::OpenAcquisition(int index, Timestamp now) {
  const size_t pick =
      static_cast<size_t>(story.Int(0, std::ssize(prospects) - 1));
  const int org = prospects[pick];
  prospects[pick] = prospects.back();
  prospects.pop_back();
  Deal& deal = NewDeal(org, FunnelOfKind("acquisition"));
  Enter(deal, 0, now, &managers[index], std::nullopt);
  return WorkOn(managers[index], deal, now + kMinute);
}

Timestamp Simulator::Impl::WorkOn(Manager& m, Deal& deal, Timestamp now) {
  switch (StageRole(deal.funnel->stages[deal.stage])) {
    case kLeadGen:
      return Prospect(m, deal, now);
    case kSales:
    case kKeyAccounts:
      return Sell(m, deal, now);
    case kAccounts:
      return Serve(m, deal, now);
  }
  return now;
}

CallOutcome Simulator::Impl::RollOutcome(double answer_probability) {
  const double r = story.Uniform();
  if (r < answer_probability) return CallOutcome::kAnswered;
  const double rest = (r - answer_probability) / (1.0 - answer_probability);
  if (rest < 0.45) return CallOutcome::kNoAnswer;
  if (rest < 0.65) return CallOutcome::kBusy;
  if (rest < 0.90) return CallOutcome::kVoicemail;
  return CallOutcome::kFailed;
}

// One call, logged by the PBX as an Asterisk CDR would be. Returns when it
// ended.
Timestamp Simulator::Impl::Call(Manager& m, Deal& deal, Timestamp now,
                                CallDirection dir, CallOutcome outcome,
                                double talk_median_s) {
  int64_t duration = 0;
  int64_t billsec = 0;
  switch (outcome) {
    case CallOutcome::kAnswered:
      billsec = std::max<int64_t>(
          10, std::llround(story.LogNormal(talk_median_s, 0.6)));
      duration = story.Int(3, 20) + billsec;
      break;
    case CallOutcome::kNoAnswer:
      duration = story.Int(20, 45);
      break;
    case CallOutcome::kBusy:
      duration = story.Int(1, 5);
      break;
    case CallOutcome::kFailed:
      duration = story.Int(0, 2);
      break;
    case CallOutcome::kVoicemail:
      billsec = story.Int(5, 30);
      duration = story.Int(15, 30) + billsec;
      break;
  }
  const Source source = m.role == kLeadGen ? kPbxLeadGen : kPbxOffice;
  const Timestamp at = Stamp(now);
  const int64_t n = ++source_counts[source];
  std::string uniqueid = fmt::format("{}.{}", at.unix_micros() / 1'000'000, n);
  generated.push_back(
      Event{.id = EventId(fmt::format("{}-{}", prefix, uniqueid)),
            .source = SourceId(kSourceName[source]),
            .time = at,
            .data = CallLogged{.org = orgs[deal.org].id,
                               .manager = m.id,
                               .department = Dept(m.role),
                               .direction = dir,
                               .outcome = outcome,
                               .duration_s = duration,
                               .deal = deal.id,
                               .contact = orgs[deal.org].phone,
                               .call_id = std::move(uniqueid),
                               .billsec_s = billsec}});
  ++deal.calls;
  return at + absl::Seconds(duration);
}

// After a missed call: true (and the deal is lost) once `limit` calls in a
// row went unanswered, else the next attempt is due within a day.
bool Simulator::Impl::Unreachable(Manager& m, Deal& deal, Timestamp t,
                                  int limit) {
  if (++deal.unanswered >= limit) {
    Enter(deal, LostStage(deal), t + kMinute, &m, "unreachable");
    return true;
  }
  deal.due = t + story.Between(kHour, 8 * kHour);
  return false;
}

// Lead generation: call until someone answers, send the general proposal,
// move the deal on; the last lead-generation stage hands it to the next
// department once the client agrees to try ("free version downloaded").
Timestamp Simulator::Impl::Prospect(Manager& m, Deal& deal, Timestamp now) {
  const bool inbound = story.Chance(0.05);
  const CallOutcome outcome =
      inbound ? CallOutcome::kAnswered : RollOutcome(0.35);
  Timestamp t =
      Call(m, deal, now,
           inbound ? CallDirection::kInbound : CallDirection::kOutbound,
           outcome, 120);
  if (outcome != CallOutcome::kAnswered) {
    Unreachable(m, deal, t, 7);
    return t;
  }
  deal.unanswered = 0;
  const int next = NextStage(deal, deal.stage);
  const Stage& next_stage = deal.funnel->stages[next];
  if (!next_stage.closed() && StageRole(next_stage) == kLeadGen) {
    if (!inbound && story.Chance(0.3)) {
      Enter(deal, LostStage(deal), t + kMinute, &m, "not interested");
      return t + kMinute;
    }
    if (!deal.general_sent && !m.squeezing &&
        (deal.funnel->kind == "acquisition" || story.Chance(0.5))) {
      t = t + story.Between(kMinute, 5 * kMinute);
      Emit(kCrm, t,
           ProposalSent{.org = orgs[deal.org].id,
                        .manager = m.id,
                        .department = Dept(m.role),
                        .kind = ProposalKind::kGeneral,
                        .deal = deal.id});
      deal.general_sent = true;
    }
    t = t + kMinute;
    const int skip_to = NextStage(deal, next);
    if (inbound && story.Chance(0.5) &&
        !deal.funnel->stages[skip_to].closed()) {
      RevealAmount(deal);  // The client called us: straight to the closers.
      Enter(deal, skip_to, t, &m, "client called in, ready to buy");
    } else {
      Enter(deal, next, t, &m, std::nullopt);
    }
    deal.due = t + story.Between(kDay, 4 * kDay);
    return t;
  }
  // A squeezing agent talks the client into the trial twice as often.
  const double r = story.Uniform();
  if (r < (m.squeezing ? 0.60 : 0.30)) {
    RevealAmount(deal);
    Enter(deal, next, t + kMinute, &m, "trial started");
  } else if (r < (m.squeezing ? 0.70 : 0.50)) {
    Enter(deal, LostStage(deal), t + kMinute, &m, "not interested");
  } else {
    deal.due = t + story.Between(kDay, 3 * kDay);
  }
  return t + kMinute;
}

// Closing: talk, individual proposal (where the next stage is sales too, the
// deal moves on here), then application, invoice, payment, and on to the
// next stage. Key accounts close the same way.
Timestamp Simulator::Impl::Sell(Manager& m, Deal& deal, Timestamp now) {
  RevealAmount(deal);
  const Money amount = *deal.amount;
  const int next = NextStage(deal, deal.stage);
  const Stage& next_stage = deal.funnel->stages[next];
  const bool more_selling =
      !next_stage.closed() && StageRole(next_stage) == kSales;
  // A squeezing closer skips the preparatory calls and sends the offer.
  const bool talk_first = !deal.proposal_sent
                              ? !m.squeezing && deal.calls < deal.calls_needed
                              : !deal.application;
  if (talk_first) {
    Timestamp t = now + 5 * kMinute;
    // A squeezing closer presses for the application in writing (a
    // discount, a deadline) instead of calling: fewer lost deals, fewer
    // follow-ups.
    if (!m.squeezing) {
      const CallOutcome outcome = RollOutcome(0.7);
      t = Call(m, deal, now, CallDirection::kOutbound, outcome, 300);
      if (outcome != CallOutcome::kAnswered) {
        Unreachable(m, deal, t, 8);
        return t;
      }
      deal.unanswered = 0;
    }
    deal.due = t + story.Between(4 * kHour, 2 * kDay);
    if (!deal.proposal_sent) return t;
    const double r = story.Uniform();
    if (r < (m.squeezing ? 0.15 : 0.30)) {
      Enter(deal, LostStage(deal), t + kMinute, &m,
            story.Pick(kLostSaleReasons));
    } else if (r < (m.squeezing ? 0.90 : 0.75)) {
      Emit(kCrm, t + 5 * kMinute,
           ApplicationReceived{orgs[deal.org].id, deal.id, m.id, Dept(m.role),
                               amount});
      deal.application = true;
      deal.due = t + story.Between(kHour, kDay);
    }
    return t + 5 * kMinute;
  }
  const Timestamp t = now + story.Between(5 * kMinute, 20 * kMinute);
  if (!deal.proposal_sent) {
    Emit(kCrm, t,
         ProposalSent{.org = orgs[deal.org].id,
                      .manager = m.id,
                      .department = Dept(m.role),
                      .kind = ProposalKind::kIndividual,
                      .deal = deal.id,
                      .amount = amount});
    deal.proposal_sent = true;
    deal.due = t + story.Between(2 * kDay, 5 * kDay);
    if (more_selling) Enter(deal, next, t + kMinute, &m, "offer sent");
    return t + kMinute;
  }
  if (!deal.invoice) return IssueInvoice(m, deal, t);
  if (!deal.paid) {
    Enter(deal, LostStage(deal), t, &m, "invoice not paid");
    return t;
  }
  Enter(deal, next, t, &m, "paid");
  deal.due = t + story.Between(kHour, kDay);
  return t;
}

Timestamp Simulator::Impl::IssueInvoice(Manager& m, Deal& deal, Timestamp t) {
  InvoiceId invoice(fmt::format("{}-inv-{:06}", prefix, ++invoice_count));
  Emit(kCrm, t,
       InvoiceIssued{orgs[deal.org].id, deal.id, invoice, m.id, Dept(m.role),
                     *deal.amount, t + 10 * kDay});
  deal.invoice = std::move(invoice);
  if (story.Chance(0.9)) {
    // A squeezing closer offers a discount for paying within days.
    Schedule(TaskKind::kPayment, deal.number,
             Office(t + story.Between(kDay, (m.squeezing ? 5 : 12) * kDay)));
    deal.due = kNever;
  } else {
    deal.due = t + 17 * kDay;  // Overdue: the owner gives up.
  }
  return t + kMinute;
}

void Simulator::Impl::Payment(int64_t number, Timestamp now) {
  auto it = deals.find(number);
  if (it == deals.end()) return;
  Deal& deal = it->second;
  Emit(kBank, now,
       InvoicePaid{orgs[deal.org].id, deal.id, *deal.invoice, *deal.amount});
  stats.paid_minor[std::string(deal.amount->currency.code())] +=
      deal.amount->minor;
  deal.paid = true;
  deal.due = now + story.Between(kHour, kDay);
}

// Account management: onboarding calls, then the won stage; or a renewal
// review that hands the deal to sales for the offer, or ends in churn.
Timestamp Simulator::Impl::Serve(Manager& m, Deal& deal, Timestamp now) {
  // A squeezing account manager closes without the onboarding calls.
  if (!m.squeezing && deal.calls < deal.calls_needed) {
    const CallOutcome outcome = RollOutcome(0.75);
    const Timestamp t =
        Call(m, deal, now, CallDirection::kOutbound, outcome, 400);
    deal.due = outcome == CallOutcome::kAnswered
                   ? t + story.Between(kDay, 3 * kDay)
                   : t + story.Between(2 * kHour, kDay);
    return t;
  }
  const int next = NextStage(deal, deal.stage);
  const Timestamp t = now + story.Between(kMinute, 10 * kMinute);
  if (deal.funnel->stages[next].outcome == StageOutcome::kWon) {
    Enter(deal, next, t, &m, "installed and running");
  } else if (story.Chance(0.85)) {
    Enter(deal, next, t, &m, "renewal offer requested");
    deal.due = t + story.Between(kHour, kDay);
  } else {
    Enter(deal, LostStage(deal), t, &m, "not renewing");
  }
  return t;
}

// ---------------------------------------------------------------- public

absl::Status Simulator::Check(const FunnelConfig& config,
                              const SimulatorOptions& options) {
  std::vector<std::string> problems;
  if (options.lead_gen_managers < 1 || options.closers < 1 ||
      options.account_managers < 1 || options.key_account_managers < 1) {
    problems.push_back("every department needs at least one manager");
  }
  if (options.organisations < 1)
    problems.push_back("organisations must be >= 1");
  for (double f : {options.client_fraction, options.sleeping_fraction,
                   options.foreign_currency_fraction, options.late_fraction,
                   options.duplicate_fraction}) {
    if (!(f >= 0 && f <= 1)) {
      problems.push_back(fmt::format("fraction {} is not in [0, 1]", f));
    }
  }
  if (options.client_fraction + options.sleeping_fraction > 1) {
    problems.push_back("client_fraction + sleeping_fraction exceeds 1");
  }
  if (!(options.departure_rate >= 0)) {
    problems.push_back("departure_rate must be >= 0");
  }
  if (options.squeeze_weeks < 0 || options.squeeze_weeks > 52) {
    problems.push_back("squeeze_weeks must be in [0, 52]");
  }
  if (options.tick <= absl::ZeroDuration())
    problems.push_back("tick must be > 0");
  const std::vector<std::string> roles = {
      "lead_generation", "sales", "account_management",
      config.key_accounts_department().value()};
  for (const std::string& d : roles) {
    if (!config.HasDepartment(d)) {
      problems.push_back(fmt::format("department \"{}\" is missing", d));
    }
  }
  bool has_acquisition = false;
  for (const Funnel& f : config.funnels()) {
    if (f.kind != "acquisition" && f.kind != "retention" &&
        f.kind != "reactivation") {
      continue;
    }
    has_acquisition |= f.kind == "acquisition";
    bool won = false, lost = false, open_after_closed = false;
    for (const Stage& s : f.stages) {
      won |= s.outcome == StageOutcome::kWon;
      lost |= s.outcome == StageOutcome::kLost;
      if (!s.closed() && (won || lost)) open_after_closed = true;
      if (s.owner && std::find(roles.begin(), roles.begin() + 3,
                               s.owner->value()) == roles.begin() + 3) {
        problems.push_back(fmt::format(
            "funnel {}: stage {} is owned by {}, which the simulator does not "
            "staff for stage work",
            f.name.value(), s.name.value(), s.owner->value()));
      }
    }
    if (!won || !lost || open_after_closed || f.stages.front().closed()) {
      problems.push_back(fmt::format(
          "funnel {}: needs open stages first, then a won and a lost stage",
          f.name.value()));
    }
  }
  if (!has_acquisition) problems.push_back("no funnel of kind acquisition");
  if (problems.empty()) return absl::OkStatus();
  std::string message = "simulator: ";
  for (size_t i = 0; i < problems.size(); ++i) {
    message += (i ? "; " : "") + problems[i];
  }
  return absl::InvalidArgumentError(message);
}

Simulator::Simulator(const FunnelConfig& config, SimulatorOptions options) {
  if (absl::Status s = Check(config, options); !s.ok()) {
    std::cerr << s.message() << "\n";
    std::abort();
  }
  impl_ = std::make_unique<Impl>(config, std::move(options));
}

Simulator::~Simulator() = default;
Simulator::Simulator(Simulator&&) noexcept = default;
Simulator& Simulator::operator=(Simulator&&) noexcept = default;

std::vector<Event> Simulator::Next(size_t n) { return impl_->Next(n); }
const SimulatorStats& Simulator::stats() const { return impl_->stats; }
const SimulatorOptions& Simulator::options() const { return impl_->options; }

std::string FormatStats(const SimulatorStats& s) {
  std::string out =
      fmt::format("simulated {} .. {}\nevents {} (duplicates {}, late {})\n",
                  s.first_time.is_set() ? FormatRfc3339(s.first_time) : "-",
                  s.last_time.is_set() ? FormatRfc3339(s.last_time) : "-",
                  s.events, s.duplicates, s.late);
  for (int t = 0; t < kEventTypeCount; ++t) {
    out += fmt::format("  {:<22}{:>10}\n",
                       EventTypeName(static_cast<EventType>(t)), s.by_type[t]);
  }
  out += fmt::format("deals {:<16}{:>10}{:>10}{:>10}\n", "", "opened", "won",
                     "lost");
  for (const auto& [funnel, opened] : s.deals_opened) {
    auto count = [&](const std::map<std::string, int64_t>& m) {
      auto it = m.find(funnel);
      return it == m.end() ? 0 : it->second;
    };
    out += fmt::format("  {:<20}{:>10}{:>10}{:>10}\n", funnel, opened,
                       count(s.deals_won), count(s.deals_lost));
  }
  for (const auto& [currency, minor] : s.paid_minor) {
    out += fmt::format("paid {} {}\n", currency, FormatMinor(minor));
  }
  out += fmt::format(
      "handoffs {}, key-account deals {}, managers joined {}, departed {}\n",
      s.handoffs, s.key_account_deals, s.managers_joined, s.managers_departed);
  return out;
}

}  // namespace voronka
