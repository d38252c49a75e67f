// Asterisk CDR (cdr_csv's Master.csv) to `call.logged` events: the pure logic
// behind `voronka import cdr` (cmd_import.cc, docs/ingest.md). No I/O here:
// the caller reads the file and hands bytes in, and writes the events out.
//
// Three parts:
//
//   CsvParser   RFC 4180 records from bytes fed in pieces: quoted fields,
//               doubled quotes, commas and newlines inside quotes, LF or CRLF
//               line ends. Each record carries the line it starts on. Blank
//               lines are skipped. A malformed record (text after a closing
//               quote, a quote inside an unquoted field, a quote still open
//               at the end of the input) comes out as an InvalidArgument
//               naming its line; parsing resumes at the next line.
//   CdrMapping  the map file (YAML): who the agents are (extension, channel
//               prefix, accountcode -> manager + department), which numbers
//               belong to which organisation, the PBX's time zone, the
//               CloudEvents source, and optionally the column layout.
//               Departments must exist in the funnel configuration. Errors
//               read "agents.yaml: agents[2].department: ...", one per line.
//   CdrToEvent  one record to one call.logged event, or why not:
//                 InvalidArgument  the row is rejected; the message names the
//                                  line and the column ("line 17: column
//                                  billsec: \"x\" is not a non-negative
//                                  integer")
//                 NotFound         the row is skipped by a rule of the map
//                                  (unknown number with unknown_numbers:
//                                  skip, a call between two agents)
//               CdrConverter does the same and then checks the event against
//               the CloudEvents decoder, so nothing invalid reaches a log.
//
// The rules (direction, outcome, time, numbers) are documented in
// docs/ingest.md and at CdrToEvent below.
//
// Thread-safety: CdrMapping is immutable after loading and may be shared.
// CsvParser and CdrConverter hold state: one per thread.
//
//   absl::StatusOr<CdrMapping> map = CdrMapping::LoadFile("agents.yaml", cfg);
//   CdrConverter convert(*map, cfg);
//   CsvParser csv;
//   csv.Feed(chunk);  ...  csv.Finish();
//   while (std::optional<absl::StatusOr<CsvRecord>> r = csv.Next()) {
//     if (!r->ok()) { report(r->status()); continue; }
//     absl::StatusOr<Event> e = convert.Convert(**r);
//   }
#ifndef VORONKA_SERVICES_CDR_H_
#define VORONKA_SERVICES_CDR_H_

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "events/funnel_config.h"

namespace voronka {

class CloudEventsDecoder;

// ---------------------------------------------------------------------------
// CSV.

struct CsvRecord {
  int64_t line = 0;  // 1-based line number of the record's first character.
  std::vector<std::string> fields;
};

class CsvParser {
 public:
  // Consumes the next piece of the input; records completed by it queue up
  // for Next(). A piece may end anywhere, even inside a quoted field.
  void Feed(std::string_view bytes);
  // Marks the end of input: a last record without a line end completes; a
  // quote still open is an error naming the line where its record started.
  void Finish();
  // The next complete record or the error of a malformed one, in input
  // order; nullopt when nothing is ready.
  std::optional<absl::StatusOr<CsvRecord>> Next();

  // Lines seen so far (a record spanning lines counts them all).
  int64_t lines() const { return line_ - 1; }

 private:
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted, kSkip };

  void Consume(char c);  // One character, line ends already folded to '\n'.
  void EndField();
  void EndRecord();
  void Fail(std::string reason);

  State state_ = State::kFieldStart;
  int64_t line_ = 1;         // Line of the next character.
  int64_t record_line_ = 1;  // Line where the current record started.
  bool pending_cr_ = false;  // A '\r' outside quotes, kept until we see '\n'.
  std::string field_;
  std::vector<std::string> fields_;
  std::deque<absl::StatusOr<CsvRecord>> ready_;
};

// All records of a complete text (Feed + Finish + Next until empty).
std::vector<absl::StatusOr<CsvRecord>> ParseCsv(std::string_view text);

// ---------------------------------------------------------------------------
// The map file.

// Columns of a cdr_csv row, by name. kIgnore is a column the import does not
// read (a `columns:` entry "ignore").
enum class CdrColumn {
  kAccountcode,
  kSrc,
  kDst,
  kDcontext,
  kClid,
  kChannel,
  kDstchannel,
  kLastapp,
  kLastdata,
  kStart,
  kAnswer,
  kEnd,
  kDuration,
  kBillsec,
  kDisposition,
  kAmaflags,
  kUserfield,
  kUniqueid,
  kIgnore,
};
inline constexpr int kCdrColumnCount = 18;  // Named columns (no kIgnore).

std::string_view CdrColumnName(CdrColumn c);

// What to do with a call whose other party's number is not in
// `organisations:`.
enum class UnknownNumbers { kSkip, kError, kOrgFromNumber };

struct CdrAgent {
  ManagerId manager;
  DepartmentId department;
  std::vector<std::string> extensions;    // Exact match on src / dst.
  std::vector<std::string> channels;      // Prefix of channel / dstchannel.
  std::vector<std::string> accountcodes;  // Exact match on accountcode.
};

struct CdrMapping {
  std::string origin;    // The map file's name, for messages.
  SourceId source;       // CloudEvents source, e.g. pbx/asterisk-1.
  std::string timezone;  // As written: "Europe/Moscow", "+03:00".
  absl::TimeZone zone;   // The PBX's local time of start/answer/end.
  std::vector<CdrAgent> agents;
  std::map<std::string, OrgId> organisations;  // Normalised number -> org.
  UnknownNumbers unknown_numbers = UnknownNumbers::kError;
  // The column layout given by `columns:`; empty for the default layout
  // (17 columns, or 18 with userfield before uniqueid).
  std::vector<CdrColumn> columns;

  // Parses the YAML text; `origin` (a file name) prefixes every error.
  // Every problem found is reported, one per line, as
  // "<origin>: <key path>: <reason>". Departments are checked against
  // `config`.
  static absl::StatusOr<CdrMapping> Parse(std::string_view yaml,
                                          std::string_view origin,
                                          const FunnelConfig& config);
  // Reads and parses a file; NotFound if it can not be read.
  static absl::StatusOr<CdrMapping> LoadFile(const std::string& path,
                                             const FunnelConfig& config);
};

// Phone numbers are compared by digits only; an 11-digit number starting
// with 8 (Russian trunk prefix) is rewritten to start with 7, so
// "+7 (495) 123-45-67", "8 495 123 45 67" and "74951234567" are all
// "74951234567". Anything else is kept as its digits ("101" stays "101").
// Returns "" if `number` has no digit.
std::string NormalizePhone(std::string_view number);

// The display name of a caller id: `"Ivan Petrov" <101>` -> "Ivan Petrov",
// `Ivan <101>` -> "Ivan"; "" if there is none (`<101>`, `101`, `""`).
std::string CallerIdName(std::string_view clid);

// ---------------------------------------------------------------------------
// Rows to events.

// Converts one row. The rules:
//  * columns: the mapping's layout, else 17 (no userfield) or 18 columns;
//    any other count is rejected;
//  * direction: outbound if the caller side is an agent (src is one of its
//    extensions, channel starts with one of its channel prefixes, or
//    accountcode is one of its accountcodes); inbound if the called side is
//    (dst an extension or dstchannel a channel prefix). A channel prefix
//    matches "SIP/101" in "SIP/101-0000002a" but not in "SIP/1010-...". Both
//    sides agents: an internal call, skipped. Neither: rejected;
//  * org: the other party's number (dst outbound, src inbound) normalised
//    and looked up in organisations; if absent, unknown_numbers decides:
//    skip, error, or org "tel:+<digits>";
//  * outcome: lastapp VoiceMail -> voicemail, else disposition ANSWERED,
//    NO ANSWER, BUSY, FAILED / CONGESTION -> answered, no_answer, busy,
//    failed;
//  * time: start read in the mapping's time zone; answer and end must be
//    empty or of the same form "YYYY-MM-DD HH:MM:SS";
//  * duration_s, billsec_s: duration, billsec (non-negative integers);
//  * id and call_id: uniqueid (so importing a file twice adds nothing to an
//    idempotent log); source: mapping.source;
//  * contact: the caller id name of an inbound call (on an outbound call the
//    caller id is the agent's own).
// Errors: see the top of the file. recorded_time is left unset.
absl::StatusOr<Event> CdrToEvent(const CsvRecord& record,
                                 const CdrMapping& mapping);

// CdrToEvent, then the event checked by the CloudEvents decoder (ids,
// departments) as if a sender had posted it; a decoder error rejects the row
// with InvalidArgument "line N: <field path>: <reason>".
class CdrConverter {
 public:
  // `mapping` and `config` must outlive the converter.
  CdrConverter(const CdrMapping& mapping, const FunnelConfig& config);
  ~CdrConverter();
  CdrConverter(const CdrConverter&) = delete;
  CdrConverter& operator=(const CdrConverter&) = delete;

  absl::StatusOr<Event> Convert(const CsvRecord& record);

 private:
  const CdrMapping& mapping_;
  std::unique_ptr<CloudEventsDecoder> decoder_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_CDR_H_
