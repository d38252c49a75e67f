// `voronka audit`: what auditors ask about a manager (docs/audit.md).
//
//   voronka audit managers --data DIR
//   voronka audit history MANAGER --data DIR [--from T] [--to T]
//                         [--format table|json|csv]
//   voronka audit book MANAGER --data DIR --as-of T [--format table|json]
//   voronka audit verify MANAGER --data DIR
//   voronka audit access --data DIR
//
// DIR is where the audit index lives (DIR/audit, as `voronka serve --data
// DIR` or `voronka project audit --data DIR` keep it); the log is DIR/log
// unless --log DIR or --kafka BROKERS names it. Both are opened read-only,
// so a running serve or projector keeps running. Every access except
// `access` itself is recorded in DIR/audit-access.jsonl before anything is
// printed (--as WHO names the auditor; default: the login name).
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "events/status.h"
#include "fmt/format.h"
#include "projections/generations.h"
#include "services/audit.h"
#include "services/audit_access.h"
#include "services/audit_format.h"
#include "services/commands.h"
#include "services/log_flags.h"

namespace voronka {
namespace {

struct AuditFlags {
  std::string manager;
  std::string data_dir;
  std::string config_path;
  LogFlags log;
  std::string from, to, as_of;
  std::string format = "table";
  std::string as;
};

// An RFC 3339 date-time, or a date (midnight UTC; `end_of_day`: its last
// microsecond).
absl::StatusOr<std::optional<Timestamp>> TimeFlag(const std::string& name,
                                                  const std::string& text,
                                                  bool end_of_day = false) {
  if (text.empty()) return std::optional<Timestamp>();
  if (absl::StatusOr<Timestamp> t = ParseRfc3339(text); t.ok()) return *t;
  absl::StatusOr<Timestamp> d = ParseRfc3339Date(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: \"{}\" is neither an RFC 3339 date-time nor a date", name, text));
  }
  return end_of_day ? *d + (absl::Hours(24) - absl::Microseconds(1)) : *d;
}

struct Opened {
  FunnelConfig config;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<ProjectionStore> audit;
  std::unique_ptr<ProjectionStore> indicators;  // Null if there is none.
  std::unique_ptr<AuditAccessLog> access;
  std::unique_ptr<AuditReader> reader;
};

absl::StatusOr<std::unique_ptr<Opened>> Open(AuditFlags flags) {
  if (flags.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "--data DIR is required: the directory that holds DIR/audit");
  }
  auto out = std::make_unique<Opened>();
  VORONKA_ASSIGN_OR_RETURN(out->config, LoadConfigFlag(flags.config_path));
  if (!std::filesystem::exists(flags.data_dir + "/audit/CURRENT")) {
    return absl::NotFoundError(fmt::format(
        "no audit index in {} (DIR/audit): `voronka serve --data DIR` or "
        "`voronka project audit --data DIR` builds it",
        flags.data_dir));
  }
  Generations generations(flags.data_dir + "/audit");
  VORONKA_ASSIGN_OR_RETURN(std::string current, generations.Current());
  VORONKA_ASSIGN_OR_RETURN(
      out->audit, ProjectionStore::Open({.path = current, .read_only = true}));
  if (flags.log.data_dir.empty() && flags.log.kafka_brokers.empty()) {
    flags.log.data_dir = flags.data_dir + "/log";
  }
  flags.log.read_only = true;
  VORONKA_ASSIGN_OR_RETURN(out->log, OpenLog(flags.log));
  out->access =
      std::make_unique<AuditAccessLog>(flags.data_dir + "/audit-access.jsonl");
  // The indicators read model, when this data directory has one (serve's
  // does): the pipeline-drain weeks of the report.
  if (std::filesystem::exists(flags.data_dir + "/indicators/CURRENT")) {
    Generations indicators(flags.data_dir + "/indicators");
    VORONKA_ASSIGN_OR_RETURN(std::string path, indicators.Current());
    VORONKA_ASSIGN_OR_RETURN(
        out->indicators,
        ProjectionStore::Open({.path = path, .read_only = true}));
  }
  out->reader = std::make_unique<AuditReader>(
      *out->audit, *out->log, out->config, out->indicators.get());
  return out;
}

std::string Who(const AuditFlags& flags) {
  if (!flags.as.empty()) return "user:" + flags.as;
  const char* user = std::getenv("USER");
  if (user == nullptr || *user == '\0') {
    const passwd* pw = getpwuid(geteuid());
    user = pw != nullptr ? pw->pw_name : nullptr;
  }
  return fmt::format("user:{}", user != nullptr ? user : "unknown");
}

absl::Status Record(const Opened& o, const AuditFlags& flags, std::string what,
                    std::string range) {
  return o.access->Record({.who = Who(flags),
                           .via = "cli",
                           .what = std::move(what),
                           .manager = flags.manager,
                           .range = std::move(range)});
}

absl::Status RunHistory(const AuditFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(std::optional<Timestamp> from,
                           TimeFlag("--from", flags.from));
  VORONKA_ASSIGN_OR_RETURN(std::optional<Timestamp> to,
                           TimeFlag("--to", flags.to, /*end_of_day=*/true));
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Opened> o, Open(flags));
  VORONKA_RETURN_IF_ERROR(Record(*o, flags, "history",
                                 fmt::format("{}..{}", flags.from, flags.to)));
  VORONKA_ASSIGN_OR_RETURN(ManagerDeals deals, o->reader->Deals(flags.manager));
  const OutcomeIndex outcomes = IndexOutcomes(deals);
  const bool table = flags.format == "table";
  const bool csv = flags.format == "csv";
  if (table) {
    std::cout << fmt::format(
        "History of {} (log order; read back from the "
        "log through the audit index)\n",
        flags.manager);
    for (Timestamp t : deals.departures) {
      std::cout << fmt::format("  departed {}\n", FormatRfc3339(t));
    }
  }
  if (csv) std::cout << HistoryCsvHeader();
  int64_t rows = 0;
  VORONKA_RETURN_IF_ERROR(o->reader->History(
      {.manager = flags.manager, .from = from, .to = to, .deals = &deals},
      [&](const HistoryRow& row) {
        ++rows;
        if (csv) {
          std::cout << HistoryRowCsv(row, outcomes);
        } else if (table) {
          std::cout << HistoryRowTable(row, outcomes);
        } else {
          std::cout << HistoryRowJson(row, outcomes).dump() << "\n";
        }
        if (!std::cout) {
          return absl::CancelledError("stdout closed");
        }
        return absl::OkStatus();
      }));
  if (!table) return absl::OkStatus();
  int won = 0, lost = 0, open = 0;
  for (const DealOutcome& d : deals.deals) {
    won += d.outcome == "won";
    lost += d.outcome == "lost";
    open += d.outcome == "open";
  }
  std::cout << fmt::format(
      "{} records. Deals the manager was named in: {} ({} won, {} lost, {} "
      "open now)\n",
      rows, deals.deals.size(), won, lost, open);
  if (!deals.drain.empty()) {
    std::cout << "Pipeline drain: top of funnel (calls + general proposals) "
                 "against closings (deals won), by week\n";
    for (const DrainWeek& w : deals.drain) {
      std::cout << fmt::format("  week of {}  top {:>5}  closings {:>3}{}\n",
                               DayText(w.week_start_day), w.top_of_funnel,
                               w.closings,
                               w.flagged ? "  << DRAIN: top of funnel fell "
                                           "while closings rose"
                                         : "");
    }
  }
  if (!deals.handover.empty()) {
    std::cout << "Handover: deals re-queued at the departure\n";
    for (const HandoverEntry& h : deals.handover) {
      std::cout << fmt::format(
          "  {:<22} {:<18} re-queued {}  {}  (now {})\n", h.deal, h.department,
          FormatRfc3339(h.requeued),
          h.claimed_by.empty()
              ? std::string("not claimed yet")
              : fmt::format("{} {} {}",
                            h.how == "claimed" ? "claimed by" : "reassigned to",
                            h.claimed_by, FormatRfc3339(*h.claimed_at)),
          h.outcome);
    }
  }
  return absl::OkStatus();
}

absl::Status RunBook(const AuditFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(std::optional<Timestamp> as_of,
                           TimeFlag("--as-of", flags.as_of));
  if (!as_of) as_of = Timestamp::Now();
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Opened> o, Open(flags));
  VORONKA_RETURN_IF_ERROR(
      Record(*o, flags, "book", "as of " + FormatRfc3339(*as_of)));
  VORONKA_ASSIGN_OR_RETURN(std::vector<BookEntry> book,
                           o->reader->Book(flags.manager, *as_of));
  if (flags.format != "table") {
    std::cout << BookJson(flags.manager, *as_of, book).dump(2) << "\n";
    return absl::OkStatus();
  }
  std::cout << fmt::format("Book of {} as of {}: {} open deals\n",
                           flags.manager, FormatRfc3339(*as_of), book.size());
  for (const BookEntry& b : book) {
    std::cout << fmt::format("  {:<22} {:<14} {:<13} {:>22}  {} in stage\n",
                             b.deal, b.funnel, b.stage, MoneyText(b.amount),
                             absl::FormatDuration(absl::Seconds(
                                 absl::ToInt64Seconds(b.time_in_stage))));
  }
  return absl::OkStatus();
}

absl::Status RunVerify(const AuditFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Opened> o, Open(flags));
  VORONKA_RETURN_IF_ERROR(Record(*o, flags, "verify", ""));
  VORONKA_ASSIGN_OR_RETURN(VerifyReport report,
                           o->reader->Verify(flags.manager));
  if (flags.format == "json") {
    std::cout << VerifyJson(flags.manager, report).dump(2) << "\n";
  } else {
    for (const VerifyReport::Chain& c : report.chains) {
      std::cout << fmt::format("partition {}: {} records, SHA-256 {}\n",
                               c.partition, c.count, DigestHex(c.digest));
    }
    std::cout << fmt::format("{} seal{} at departure checked\n", report.seals,
                             report.seals == 1 ? "" : "s");
  }
  if (!report.match) {
    return absl::DataLossError(
        fmt::format("the history of {} DIVERGES from the index: {}",
                    flags.manager, report.detail));
  }
  std::cout << fmt::format(
      "match: {} history records of {} re-read from the "
      "log agree with the index\n",
      report.records, flags.manager);
  return absl::OkStatus();
}

absl::Status RunManagers(const AuditFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Opened> o, Open(flags));
  VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> managers,
                           o->reader->Managers());
  VORONKA_ASSIGN_OR_RETURN(auto departures, o->reader->Departures());
  for (const std::string& m : managers) {
    std::string line = m;
    if (auto it = departures.find(m); it != departures.end()) {
      line += "  departed";
      for (Timestamp t : it->second) line += " " + FormatRfc3339(t);
    }
    std::cout << line << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunAccess(const AuditFlags& flags) {
  if (flags.data_dir.empty()) {
    return absl::InvalidArgumentError("--data DIR is required");
  }
  AuditAccessLog log(flags.data_dir + "/audit-access.jsonl");
  VORONKA_ASSIGN_OR_RETURN(std::vector<AuditAccess> all, log.List());
  for (const AuditAccess& a : all) {
    std::cout << fmt::format("{}  {:<20} {:<4} {:<8} {:<20} {}\n",
                             FormatRfc3339(a.time), a.who, a.via, a.what,
                             a.manager, a.range);
  }
  return absl::OkStatus();
}

CLI::App* Sub(CLI::App* audit, const std::string& name, const std::string& help,
              std::shared_ptr<AuditFlags> flags, bool manager) {
  CLI::App* cmd = audit->add_subcommand(name, help);
  if (manager) {
    cmd->add_option("manager", flags->manager, "The manager's id")->required();
  }
  cmd->add_option("--data", flags->data_dir,
                  "Directory holding the audit index (DIR/audit) and, by "
                  "default, the embedded log (DIR/log)")
      ->required();
  cmd->add_option("--config", flags->config_path,
                  "Funnel configuration YAML (default: built in)");
  AddLogFlags(*cmd, flags->log, "--log");
  cmd->add_option("--as", flags->as,
                  "Who is looking (recorded; default: the login name)");
  return cmd;
}

}  // namespace

void RegisterAuditCommand(CLI::App& app) {
  CLI::App* audit = app.add_subcommand(
      "audit",
      "A manager's full history, book as of a date and verified digest "
      "(docs/audit.md)");
  audit->require_subcommand(1);

  auto history = std::make_shared<AuditFlags>();
  CLI::App* h =
      Sub(audit, "history", "Every record of a manager, read back from the log",
          history, true);
  h->add_option("--from", history->from, "From this time or date (event time)");
  h->add_option("--to", history->to, "Up to this time or date (inclusive)");
  h->add_option("--format", history->format, "table, json (lines) or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
  h->callback([history] { FailIfError(RunHistory(*history)); });

  auto book = std::make_shared<AuditFlags>();
  CLI::App* b =
      Sub(audit, "book", "The deals a manager owned at a moment", book, true);
  b->add_option("--as-of", book->as_of, "The moment (default: now)");
  b->add_option("--format", book->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  b->callback([book] { FailIfError(RunBook(*book)); });

  auto verify = std::make_shared<AuditFlags>();
  CLI::App* v = Sub(audit, "verify",
                    "Re-read a manager's history and check its SHA-256 chains",
                    verify, true);
  v->add_option("--format", verify->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  v->callback([verify] { FailIfError(RunVerify(*verify)); });

  auto managers = std::make_shared<AuditFlags>();
  Sub(audit, "managers", "Every manager the audit index knows", managers, false)
      ->callback([managers] { FailIfError(RunManagers(*managers)); });

  auto access = std::make_shared<AuditFlags>();
  CLI::App* a = audit->add_subcommand(
      "access", "Who looked at which history, when (admins)");
  a->add_option("--data", access->data_dir, "Directory of the audit index")
      ->required();
  a->callback([access] { FailIfError(RunAccess(*access)); });
}

}  // namespace voronka
