#include "services/audit_format.h"

#include <cstdlib>

#include "absl/time/civil_time.h"
#include "events/cloudevents.h"
#include "fmt/format.h"

namespace voronka {
namespace {

using json = nlohmann::json;

json PositionJson(LogPosition p) {
  return {{"partition", p.partition}, {"offset", p.offset}};
}

json MoneyJson(const std::optional<Money>& m) {
  if (!m) return nullptr;
  return {{"amount_minor", m->minor},
          {"currency", std::string(m->currency.code())}};
}

const DealOutcome* OutcomeOf(const HistoryRow& row, const OutcomeIndex& idx) {
  const DealId* deal = row.event.deal();
  if (deal == nullptr) return nullptr;
  auto it = idx.find(deal->value());
  return it == idx.end() ? nullptr : it->second;
}

std::string OutcomeText(const DealOutcome* o) {
  if (o == nullptr) return "";
  if (o->outcome != "open") return o->outcome;
  return fmt::format("open: {}{}", o->stage,
                     o->owner.empty() ? ", unowned" : ", owner " + o->owner);
}

}  // namespace

std::string DayText(int64_t day) {
  return absl::FormatCivilTime(absl::CivilDay(1970, 1, 1) + day);
}

OutcomeIndex IndexOutcomes(const ManagerDeals& deals) {
  OutcomeIndex out;
  for (const DealOutcome& d : deals.deals) out[d.deal] = &d;
  return out;
}

std::string MoneyText(const std::optional<Money>& amount) {
  if (!amount) return "";
  const int64_t minor = amount->minor;
  const int64_t units = std::llabs(minor) / 100;
  std::string digits = std::to_string(units);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<size_t>(i), ",");
  }
  return fmt::format("{} {}{}.{:02}", amount->currency.code(),
                     minor < 0 ? "-" : "", digits, std::llabs(minor) % 100);
}

std::string CsvCell(std::string_view text) {
  std::string cell(text);
  if (!cell.empty() &&
      (cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@')) {
    cell.insert(0, "'");
  }
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

json HistoryRowJson(const HistoryRow& row, const OutcomeIndex& outcomes) {
  json out = {{"position", PositionJson(row.position)},
              {"relation", std::string(ToString(row.relation))},
              {"event", json::parse(ToStructuredJson(row.event))}};
  if (const DealOutcome* o = OutcomeOf(row, outcomes)) {
    out["deal_outcome"] = {
        {"outcome", o->outcome}, {"stage", o->stage}, {"owner", o->owner}};
  }
  return out;
}

std::string HistoryCsvHeader() {
  return "partition,offset,relation,time,recorded_time,type,source,id,org,"
         "deal,deal_outcome,data\r\n";
}

std::string HistoryRowCsv(const HistoryRow& row, const OutcomeIndex& outcomes) {
  const json e = json::parse(ToStructuredJson(row.event));
  const json& data = e["data"];
  std::vector<std::string> cells = {std::to_string(row.position.partition),
                                    std::to_string(row.position.offset),
                                    std::string(ToString(row.relation)),
                                    FormatRfc3339(row.event.time),
                                    row.event.recorded_time.is_set()
                                        ? FormatRfc3339(row.event.recorded_time)
                                        : "",
                                    std::string(row.event.type_name()),
                                    row.event.source.value(),
                                    row.event.id.value(),
                                    data.value("org", ""),
                                    data.value("deal", ""),
                                    OutcomeText(OutcomeOf(row, outcomes)),
                                    data.dump()};
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';
    line += CsvCell(cells[i]);
  }
  return line + "\r\n";
}

std::string HistoryRowTable(const HistoryRow& row,
                            const OutcomeIndex& outcomes) {
  json data = json::parse(ToStructuredJson(row.event))["data"];
  std::string deal = data.value("deal", "");
  data.erase("deal");
  data.erase("org");
  const std::string outcome = OutcomeText(OutcomeOf(row, outcomes));
  return fmt::format("{:<20} {:>3}:{:<9} {:<20} {:<9} {:<18} {} {}{}\n",
                     FormatRfc3339(row.event.time), row.position.partition,
                     row.position.offset, row.event.type_name(),
                     row.relation == AuditRelation::kNamed ? "" : "lost deal",
                     deal, data.dump(), outcome.empty() ? "" : "-> deal now ",
                     outcome);
}

json DealsJson(const ManagerDeals& deals) {
  json list = json::array();
  for (const DealOutcome& d : deals.deals) {
    list.push_back({{"deal", d.deal},
                    {"org", d.org},
                    {"funnel", d.funnel},
                    {"stage", d.stage},
                    {"outcome", d.outcome},
                    {"owner", d.owner},
                    {"amount", MoneyJson(d.amount)},
                    {"last_activity", FormatRfc3339(d.last_activity)}});
  }
  json handover = json::array();
  for (const HandoverEntry& h : deals.handover) {
    handover.push_back(
        {{"deal", h.deal},
         {"department", h.department},
         {"requeued", FormatRfc3339(h.requeued)},
         {"claimed_by", h.claimed_by.empty() ? json() : json(h.claimed_by)},
         {"claimed_at",
          h.claimed_at ? json(FormatRfc3339(*h.claimed_at)) : json()},
         {"how", h.how.empty() ? json() : json(h.how)},
         {"outcome", h.outcome}});
  }
  json departures = json::array();
  for (Timestamp t : deals.departures) departures.push_back(FormatRfc3339(t));
  json drain = json::array();
  bool flagged = false;
  for (const DrainWeek& w : deals.drain) {
    drain.push_back({{"week", DayText(w.week_start_day)},
                     {"top_of_funnel", w.top_of_funnel},
                     {"closings", w.closings},
                     {"flagged", w.flagged}});
    flagged = flagged || w.flagged;
  }
  return {{"deals", list},
          {"handover", handover},
          {"departures", departures},
          {"pipeline_drain", {{"flagged", flagged}, {"weeks", drain}}}};
}

json BookJson(const std::string& manager, Timestamp as_of,
              const std::vector<BookEntry>& book) {
  json deals = json::array();
  for (const BookEntry& b : book) {
    deals.push_back(
        {{"deal", b.deal},
         {"org", b.org},
         {"funnel", b.funnel},
         {"stage", b.stage},
         {"department", b.department},
         {"amount", MoneyJson(b.amount)},
         {"stage_entered", FormatRfc3339(b.stage_entered)},
         {"time_in_stage_s", absl::ToInt64Seconds(b.time_in_stage)}});
  }
  return {
      {"manager", manager}, {"as_of", FormatRfc3339(as_of)}, {"deals", deals}};
}

json VerifyJson(const std::string& manager, const VerifyReport& report) {
  json chains = json::array();
  for (const VerifyReport::Chain& c : report.chains) {
    chains.push_back({{"partition", c.partition},
                      {"records", c.count},
                      {"digest", DigestHex(c.digest)}});
  }
  json out = {{"manager", manager},
              {"match", report.match},
              {"records", report.records},
              {"seals", report.seals},
              {"chains", chains}};
  if (!report.match) {
    out["diverges_at"] =
        report.diverges_at ? PositionJson(*report.diverges_at) : json();
    out["detail"] = report.detail;
  }
  return out;
}

}  // namespace voronka
