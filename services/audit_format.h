// How audit answers are written: JSON (the API and `--format json`, one
// object per history row), CSV (RFC 4180, a header row, formula-looking
// cells defused so that a spreadsheet shows them as text) and the table
// people read in a terminal. Shared by `voronka audit` and the audit API.
#ifndef VORONKA_SERVICES_AUDIT_FORMAT_H_
#define VORONKA_SERVICES_AUDIT_FORMAT_H_

#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "services/audit.h"

namespace voronka {

// Deal id -> its outcome, for the deal column of history rows.
using OutcomeIndex = std::map<std::string, const DealOutcome*>;
OutcomeIndex IndexOutcomes(const ManagerDeals& deals);

nlohmann::json HistoryRowJson(const HistoryRow& row,
                              const OutcomeIndex& outcomes);
std::string HistoryCsvHeader();
std::string HistoryRowCsv(const HistoryRow& row, const OutcomeIndex& outcomes);
std::string HistoryRowTable(const HistoryRow& row,
                            const OutcomeIndex& outcomes);

nlohmann::json DealsJson(const ManagerDeals& deals);
nlohmann::json BookJson(const std::string& manager, Timestamp as_of,
                        const std::vector<BookEntry>& book);
nlohmann::json VerifyJson(const std::string& manager,
                          const VerifyReport& report);

// "2026-11-23" for a day number (days since 1970-01-01).
std::string DayText(int64_t day);
// One CSV cell: quoted when needed; a leading = + - @ gets a ' in front.
std::string CsvCell(std::string_view text);
// "RUB 1,500.00"-style money for tables; "" without an amount.
std::string MoneyText(const std::optional<Money>& amount);

}  // namespace voronka

#endif  // VORONKA_SERVICES_AUDIT_FORMAT_H_
