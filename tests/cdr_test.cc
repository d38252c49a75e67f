// Asterisk CDR import logic (services/cdr.h): the CSV parser's edge cases,
// the map file and its errors, phone numbers, and a golden test from a
// Master.csv as Asterisk writes it to exactly these call.logged events.
#include "services/cdr.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "events/cloudevents.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voronka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Fields(const absl::StatusOr<CsvRecord>& r) {
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->fields : std::vector<std::string>{};
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------
// CSV.

TEST(CsvParserTest, QuotedAndUnquotedFieldsWithDoubledQuotes) {
  auto records =
      ParseCsv("\"\",\"101\",\"\"\"Anna Ivanova\"\" <101>\",252,\"x\"\"\"\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]->line, 1);
  EXPECT_THAT(Fields(records[0]),
              ElementsAre("", "101", "\"Anna Ivanova\" <101>", "252", "x\""));
}

TEST(CsvParserTest, CommaAndNewlineInsideQuotesKeepLineNumbersRight) {
  auto records = ParseCsv("a,\"one, two\nthree\",b\nc,d\n\ne,\"\"\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]->line, 1);
  EXPECT_THAT(Fields(records[0]), ElementsAre("a", "one, two\nthree", "b"));
  EXPECT_EQ(records[1]->line, 3);
  EXPECT_THAT(Fields(records[1]), ElementsAre("c", "d"));
  EXPECT_EQ(records[2]->line, 5);  // The blank line 4 is skipped.
  EXPECT_THAT(Fields(records[2]), ElementsAre("e", ""));
}

TEST(CsvParserTest, CrlfLineEndsAndLastLineWithoutLineEnd) {
  auto records = ParseCsv("\"a\",1\r\n\"b\r\nc\",2\r\nx,\r\ny,3");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_THAT(Fields(records[0]), ElementsAre("a", "1"));
  EXPECT_THAT(Fields(records[1]), ElementsAre("b\r\nc", "2"));  // Quoted: kept.
  EXPECT_EQ(records[2]->line, 4);
  EXPECT_THAT(Fields(records[2]), ElementsAre("x", ""));
  EXPECT_EQ(records[3]->line, 5);
  EXPECT_THAT(Fields(records[3]), ElementsAre("y", "3"));
}

TEST(CsvParserTest, FedOneByteAtATimeGivesTheSameRecords) {
  const std::string text = "\"a\"\"b\",\"c,\r\nd\"\r\n1,2\r\n\"unterminated\n";
  CsvParser parser;
  for (char c : text) parser.Feed(std::string_view(&c, 1));
  parser.Finish();
  std::vector<absl::StatusOr<CsvRecord>> pieces;
  while (auto r = parser.Next()) pieces.push_back(*r);
  auto whole = ParseCsv(text);
  ASSERT_EQ(pieces.size(), whole.size());
  ASSERT_EQ(pieces.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(Fields(pieces[i]), Fields(whole[i]));
    EXPECT_EQ(pieces[i]->line, whole[i]->line);
  }
  EXPECT_THAT(Fields(pieces[0]), ElementsAre("a\"b", "c,\r\nd"));
  EXPECT_EQ(pieces[2].status(), whole[2].status());
}

TEST(CsvParserTest, UnterminatedQuoteNamesTheLineWhereTheRecordStarts) {
  auto records = ParseCsv("a,b\nc,\"never closed\nmore\nlines\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(Fields(records[0]), ElementsAre("a", "b"));
  ASSERT_FALSE(records[1].ok());
  EXPECT_EQ(records[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(records[1].status()),
            "line 2: column 2: the quoted field never ends (unterminated "
            "quote)");
}

TEST(CsvParserTest, StrayQuotesRejectTheRecordAndParsingResumesNextLine) {
  auto records = ParseCsv("\"ab\"c,d\nok,1\nx\"y,2\nok,3\n");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(Message(records[0].status()),
            "line 1: column 1: text after the closing quote (a quote inside "
            "a quoted field must be doubled)");
  EXPECT_THAT(Fields(records[1]), ElementsAre("ok", "1"));
  EXPECT_THAT(Message(records[2].status()),
              HasSubstr("line 3: column 1: a quote inside an unquoted field"));
  EXPECT_THAT(Fields(records[3]), ElementsAre("ok", "3"));
  EXPECT_EQ(records[3]->line, 4);
}

// ---------------------------------------------------------------------------
// Numbers and caller ids.

TEST(CdrNumbersTest, NormalizePhoneUnifiesRussianTrunkPrefix) {
  EXPECT_EQ(NormalizePhone("+7 (495) 123-45-67"), "74951234567");
  EXPECT_EQ(NormalizePhone("8 495 123 45 67"), "74951234567");
  EXPECT_EQ(NormalizePhone("74951234567"), "74951234567");
  EXPECT_EQ(NormalizePhone("101"), "101");
  EXPECT_EQ(NormalizePhone("84951234567 ext"), "74951234567");
  EXPECT_EQ(NormalizePhone("8495123456"), "8495123456");  // 10 digits: kept.
  EXPECT_EQ(NormalizePhone("+44 20 7946 0958"), "442079460958");
  EXPECT_EQ(NormalizePhone("anonymous"), "");
}

TEST(CdrNumbersTest, CallerIdName) {
  EXPECT_EQ(CallerIdName("\"Ivan Petrov\" <101>"), "Ivan Petrov");
  EXPECT_EQ(CallerIdName("Ivan <101>"), "Ivan");
  EXPECT_EQ(CallerIdName("<101>"), "");
  EXPECT_EQ(CallerIdName("101"), "");
  EXPECT_EQ(CallerIdName("\"\" <74951234567>"), "");
}

// ---------------------------------------------------------------------------
// The map file.

constexpr char kMap[] = R"yaml(
source: pbx/asterisk-1
timezone: Europe/Moscow
unknown_numbers: error
agents:
  - {manager: ivanova, department: lead_generation, extension: "101",
     channel: SIP/101}
  - {manager: petrov, department: sales, extension: ["102", "1102"],
     channel: [SIP/102, PJSIP/102]}
  - {manager: sidorova, department: account_management, accountcode: sidorova}
organisations:
  - {number: "+7 (495) 123-45-67", org: org-romashka}
  - {number: "8 495 765-43-21", org: org-vasilek}
  - {number: "+7 812 555-01-02", org: org-lenenergo}
)yaml";

CdrMapping LoadMap(const std::string& yaml = kMap) {
  absl::StatusOr<CdrMapping> m =
      CdrMapping::Parse(yaml, "agents.yaml", FunnelConfig::Default());
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : CdrMapping{};
}

std::string MapError(const std::string& yaml) {
  absl::StatusOr<CdrMapping> m =
      CdrMapping::Parse(yaml, "agents.yaml", FunnelConfig::Default());
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  return Message(m.status());
}

TEST(CdrMappingTest, LoadsAgentsOrganisationsAndTimeZone) {
  CdrMapping m = LoadMap();
  EXPECT_EQ(m.source, SourceId("pbx/asterisk-1"));
  EXPECT_EQ(m.timezone, "Europe/Moscow");
  ASSERT_EQ(m.agents.size(), 3u);
  EXPECT_EQ(m.agents[1].manager, ManagerId("petrov"));
  EXPECT_EQ(m.agents[1].department, DepartmentId("sales"));
  EXPECT_THAT(m.agents[1].extensions, ElementsAre("102", "1102"));
  EXPECT_THAT(m.agents[1].channels, ElementsAre("SIP/102", "PJSIP/102"));
  EXPECT_THAT(m.agents[2].accountcodes, ElementsAre("sidorova"));
  EXPECT_EQ(m.organisations.at("74951234567"), OrgId("org-romashka"));
  EXPECT_EQ(m.organisations.at("74957654321"), OrgId("org-vasilek"));
  EXPECT_EQ(m.unknown_numbers, UnknownNumbers::kError);
  EXPECT_TRUE(m.columns.empty());
}

TEST(CdrMappingTest, ExampleFileLoads) {
  absl::StatusOr<CdrMapping> m =
      CdrMapping::LoadFile(VORONKA_SOURCE_DIR "/deploy/examples/agents.yaml",
                           FunnelConfig::Default());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->unknown_numbers, UnknownNumbers::kOrgFromNumber);
}

TEST(CdrMappingTest, EveryProblemNamedByFileKeyAndReason) {
  const std::string error = MapError(R"yaml(
timezone: Mars/Olympus
agents:
  - {manager: ivanova, department: marketing, extension: "101"}
  - {manager: petrov, department: sales, extension: ["102", "101"]}
  - {manager: nobody, department: sales}
  - {manager: x, department: sales, extension: "9", phone: "9"}
organisations:
  - {number: "+7 495 123-45-67", org: a}
  - {number: "84951234567", org: b}
  - {number: "n/a", org: c}
unknown_numbers: maybe
colour: blue
)yaml");
  EXPECT_EQ(
      error,
      "agents.yaml: colour: unknown key (allowed: source, timezone, agents, "
      "organisations, unknown_numbers, columns)\n"
      "agents.yaml: source: required\n"
      "agents.yaml: timezone: \"Mars/Olympus\" is not a loadable time zone "
      "(an IANA name like Europe/Moscow, or a fixed offset like +03:00)\n"
      "agents.yaml: agents[0].department: \"marketing\" is not a department "
      "of the funnel configuration (lead_generation, sales, "
      "account_management, key_accounts)\n"
      "agents.yaml: agents[1].extension: extension \"101\" is already "
      "agents[0]'s\n"
      "agents.yaml: agents[2]: needs at least one of extension, channel, "
      "accountcode to recognise the agent's calls\n"
      "agents.yaml: agents[3].phone: unknown key (allowed: manager, "
      "department, extension, channel, accountcode)\n"
      "agents.yaml: organisations[1].number: \"84951234567\" is the same "
      "number as organisations[0] (74951234567)\n"
      "agents.yaml: organisations[2].number: \"n/a\" has no digits\n"
      "agents.yaml: unknown_numbers: \"maybe\" is not one of skip, error, "
      "org_from_number");
}

TEST(CdrMappingTest, YamlSyntaxErrorNamesLineAndColumn) {
  EXPECT_THAT(MapError("source: pbx\nagents: [\n  {manager: a\n"),
              ::testing::StartsWith("agents.yaml: line "));
}

TEST(CdrMappingTest, FixedOffsetTimeZoneAndColumnsOverride) {
  CdrMapping m = LoadMap(std::string(kMap) +
                         "columns: [accountcode, src, dst, dcontext, clid, "
                         "channel, dstchannel, lastapp, lastdata, start, "
                         "answer, end, duration, billsec, disposition, "
                         "amaflags, uniqueid, userfield]\n");
  EXPECT_EQ(m.columns.size(), 18u);
  EXPECT_EQ(m.columns[16], CdrColumn::kUniqueid);
  std::string yaml = kMap;
  yaml.replace(yaml.find("Europe/Moscow"), 13, "\"+03:00\"");
  EXPECT_EQ(LoadMap(yaml).timezone, "+03:00");
}

TEST(CdrMappingTest, ColumnsOverrideMustNameKnownAndNeededColumns) {
  EXPECT_EQ(MapError(std::string(kMap) +
                     "columns: [src, dst, clid, channel, dstchannel, "
                     "lastapp, start, duration, billsec, disposition, "
                     "src, sequence, ignore, ignore]\n"),
            "agents.yaml: columns[10]: \"src\" given twice\n"
            "agents.yaml: columns[11]: \"sequence\" is not a cdr_csv column "
            "(accountcode, src, dst, dcontext, clid, channel, dstchannel, "
            "lastapp, lastdata, start, answer, end, duration, billsec, "
            "disposition, amaflags, userfield, uniqueid, or ignore)\n"
            "agents.yaml: columns: must include uniqueid (the import reads "
            "it)");
}

// ---------------------------------------------------------------------------
// Rows to events: the golden file.

std::string ReadExample(const std::string& name) {
  std::ifstream in(std::string(VORONKA_SOURCE_DIR "/deploy/examples/") + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Call {
  const char* id;
  const char* time;
  const char* org;
  const char* manager;
  const char* department;
  CallDirection direction;
  CallOutcome outcome;
  int64_t duration_s;
  int64_t billsec_s;
  std::optional<std::string> contact;
};

Event Expected(const Call& c) {
  return Event{.id = EventId(c.id),
               .source = SourceId("pbx/asterisk-1"),
               .time = *ParseRfc3339(c.time),
               .data = CallLogged{.org = OrgId(c.org),
                                  .manager = ManagerId(c.manager),
                                  .department = DepartmentId(c.department),
                                  .direction = c.direction,
                                  .outcome = c.outcome,
                                  .duration_s = c.duration_s,
                                  .contact = c.contact,
                                  .call_id = std::string(c.id),
                                  .billsec_s = c.billsec_s}};
}

constexpr auto kOut = CallDirection::kOutbound;
constexpr auto kIn = CallDirection::kInbound;

TEST(CdrToEventTest, ExampleMasterCsvGivesExactlyTheseEvents) {
  const CdrMapping mapping = LoadMap();
  std::vector<Event> events;
  for (const absl::StatusOr<CsvRecord>& r :
       ParseCsv(ReadExample("Master.csv"))) {
    ASSERT_TRUE(r.ok()) << r.status();
    absl::StatusOr<Event> e = CdrToEvent(*r, mapping);
    ASSERT_TRUE(e.ok()) << e.status();
    events.push_back(*e);
  }
  const std::vector<Event> expected = {
      // Outbound from extension 101, the number written with a trunk 8.
      Expected({"1795415400.42", "2026-11-23T06:30:00Z", "org-romashka",
                "ivanova", "lead_generation", kOut, CallOutcome::kAnswered, 252,
                245, std::nullopt}),
      // Unanswered: answer empty.
      Expected({"1795416070.44", "2026-11-23T06:41:10Z", "org-lenenergo",
                "ivanova", "lead_generation", kOut, CallOutcome::kNoAnswer, 60,
                0, std::nullopt}),
      Expected({"1795417320.46", "2026-11-23T07:02:00Z", "org-vasilek",
                "petrov", "sales", kOut, CallOutcome::kBusy, 4, 0,
                std::nullopt}),
      // Recognised by accountcode; CONGESTION and FAILED are both failed.
      Expected({"1795418130.48", "2026-11-23T07:15:30Z", "org-vasilek",
                "sidorova", "account_management", kOut, CallOutcome::kFailed, 1,
                0, std::nullopt}),
      // Inbound through a queue: the agent is the dstchannel's device.
      Expected({"1795420800.50", "2026-11-23T08:00:00Z", "org-romashka",
                "petrov", "sales", kIn, CallOutcome::kAnswered, 400, 388,
                "OOO Romashka, reception"}),
      // Disposition ANSWERED, but by the voicemail application.
      Expected({"1795449900.52", "2026-11-23T16:05:00Z", "org-vasilek",
                "ivanova", "lead_generation", kIn, CallOutcome::kVoicemail, 58,
                33, "Vasilek"}),
      // 18 columns: userfield before uniqueid.
      Expected({"1795500600.54", "2026-11-24T06:10:00Z", "org-romashka",
                "petrov", "sales", kOut, CallOutcome::kAnswered, 125, 120,
                std::nullopt}),
  };
  ASSERT_EQ(events.size(), expected.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i], expected[i])
        << "row " << i + 1 << ": " << ToStructuredJson(events[i]);
  }

  // Each event is what a sender posting it as CloudEvents JSON would give.
  CloudEventsDecoder decoder(FunnelConfig::Default());
  for (const Event& e : events) {
    DecodeResult r = decoder.DecodeStructured(ToStructuredJson(e));
    ASSERT_TRUE(r.ok()) << r.errors[0].ToString();
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0], e);
  }
}

// A default-layout row (17 columns) with the given fields replaced.
std::string Row17(std::vector<std::pair<int, std::string>> changes = {}) {
  std::vector<std::string> f = {"",
                                "101",
                                "84951234567",
                                "from-internal",
                                "\"\"\"Anna\"\" <101>\"",
                                "SIP/101-0000002a",
                                "SIP/trunk-0000002b",
                                "Dial",
                                "SIP/trunk/84951234567",
                                "2026-11-23 09:30:00",
                                "2026-11-23 09:30:07",
                                "2026-11-23 09:34:12",
                                "252",
                                "245",
                                "ANSWERED",
                                "DOCUMENTATION",
                                "1795415400.42"};
  for (auto& [i, v] : changes) f[i] = v;
  std::string line;
  for (size_t i = 0; i < f.size(); ++i) line += (i ? "," : "") + f[i];
  return line;
}

absl::Status ConvertLine(const std::string& csv, int line,
                         const CdrMapping& mapping) {
  CsvParser parser;
  for (int i = 1; i < line; ++i) parser.Feed("\n");
  parser.Feed(csv);
  parser.Finish();
  std::optional<absl::StatusOr<CsvRecord>> r = parser.Next();
  if (!r || !r->ok()) return absl::InternalError("not a CSV record");
  return CdrToEvent(**r, mapping).status();
}

TEST(CdrToEventTest, RowErrorsNameLineColumnAndReason) {
  const CdrMapping m = LoadMap();
  struct Case {
    std::string csv;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Row17({{13, "x"}}),
       "line 17: column billsec: \"x\" is not a non-negative integer"},
      {Row17({{12, "-5"}}),
       "line 17: column duration: \"-5\" is not a non-negative integer"},
      {Row17({{13, "300"}}),
       "line 17: column billsec: 300 is more than duration 252"},
      {Row17({{9, "23.11.2026 09:30"}}),
       "line 17: column start: \"23.11.2026 09:30\" is not a time "
       "YYYY-MM-DD HH:MM:SS"},
      {Row17({{10, "2026-11-23 25:00:00"}}),
       "line 17: column answer: \"2026-11-23 25:00:00\" is not a time "
       "YYYY-MM-DD HH:MM:SS"},
      {Row17({{14, "\"ANSWER\""}}),
       "line 17: column disposition: \"ANSWER\" is not one of ANSWERED, "
       "NO ANSWER, BUSY, FAILED, CONGESTION"},
      {Row17({{16, "\"\""}}),
       "line 17: column uniqueid: empty (the import needs Asterisk's "
       "uniqueid as the event id; enable loguniqueid in cdr.conf)"},
      {Row17({{1, "555"}, {5, "SIP/trunk-1"}, {2, "74951234567"}}),
       "line 17: no agent for src 555 / dst 74951234567 (channel "
       "SIP/trunk-1, dstchannel SIP/trunk-0000002b; see extension, channel, "
       "accountcode in agents.yaml)"},
      {Row17({{2, "84990000000"}}),
       "line 17: column dst: no organisation for number \"84990000000\" "
       "(organisations in agents.yaml)"},
      {Row17() + ",\"extra\",\"more\"",
       "line 17: 19 columns, expected 17 or 18 (accountcode ... amaflags, "
       "[userfield], uniqueid; set columns: in agents.yaml for another "
       "layout)"},
  };
  for (const Case& c : cases) {
    absl::Status s = ConvertLine(c.csv, 17, m);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.csv;
    EXPECT_EQ(Message(s), c.message);
  }
}

TEST(CdrToEventTest, ChannelPrefixMatchesTheDeviceNotALongerOne) {
  const CdrMapping m = LoadMap();
  // SIP/1010 is not SIP/101, and src 1010 is nobody's extension.
  EXPECT_THAT(Message(ConvertLine(
                  Row17({{1, "1010"}, {5, "SIP/1010-0000002a"}}), 1, m)),
              HasSubstr("line 1: no agent for src 1010"));
  absl::StatusOr<CsvRecord> r =
      *ParseCsv(Row17({{1, "+74951112233"}, {5, "SIP/101-0000002a"}}))[0];
  absl::StatusOr<Event> e = CdrToEvent(*r, m);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->get_if<CallLogged>()->manager, ManagerId("ivanova"));
}

TEST(CdrToEventTest, SkippedRowsAreNotFoundWithTheirReason) {
  CdrMapping m = LoadMap();
  absl::Status internal = ConvertLine(Row17({{2, "102"}}), 4, m);
  EXPECT_EQ(internal.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(internal),
            "line 4: skipped: internal call from ivanova to petrov");

  m.unknown_numbers = UnknownNumbers::kSkip;
  absl::Status unknown = ConvertLine(Row17({{2, "84990000000"}}), 5, m);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(unknown),
            "line 5: skipped: dst \"84990000000\" is not in organisations "
            "(unknown_numbers: skip)");
}

TEST(CdrToEventTest, OrgFromNumber) {
  CdrMapping m = LoadMap();
  m.unknown_numbers = UnknownNumbers::kOrgFromNumber;
  absl::StatusOr<Event> e =
      CdrToEvent(*ParseCsv(Row17({{2, "8 (499) 000-00-00"}}))[0], m);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->get_if<CallLogged>()->org, OrgId("tel:+74990000000"));
  EXPECT_EQ(Message(ConvertLine(Row17({{2, "anonymous"}}), 2, m)),
            "line 2: column dst: \"anonymous\" has no digits to make an org "
            "id from");
}

TEST(CdrToEventTest, ColumnsOverrideReadsRealAsteriskLayout) {
  const CdrMapping m = LoadMap(
      std::string(kMap) +
      "columns: [accountcode, src, dst, dcontext, clid, channel, dstchannel, "
      "lastapp, lastdata, start, answer, end, duration, billsec, "
      "disposition, amaflags, uniqueid, userfield]\n");
  absl::StatusOr<Event> e = CdrToEvent(*ParseCsv(Row17() + ",\"note\"")[0], m);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->id, EventId("1795415400.42"));
  EXPECT_EQ(Message(ConvertLine(Row17(), 3, m)),
            "line 3: 17 columns, expected 18 (columns: in agents.yaml)");
}

TEST(CdrToEventTest, TimeZoneOfTheMapFileAppliesToStart) {
  std::string yaml = kMap;
  yaml.replace(yaml.find("Europe/Moscow"), 13, "\"-05:30\"");
  absl::StatusOr<Event> e = CdrToEvent(*ParseCsv(Row17())[0], LoadMap(yaml));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(FormatRfc3339(e->time), "2026-11-23T15:00:00Z");
}

TEST(CdrConverterTest, EventTheDecoderRejectsIsRejectedWithItsLine) {
  CdrMapping m = LoadMap();
  m.unknown_numbers = UnknownNumbers::kOrgFromNumber;
  CdrConverter converter(m, FunnelConfig::Default());
  absl::StatusOr<CsvRecord> r =
      *ParseCsv("\n\n" + Row17({{2, std::string(130, '5')}}))[0];
  absl::StatusOr<Event> e = converter.Convert(*r);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(e.status()),
              ::testing::StartsWith("line 3: event.data.org: must be 1-128 "
                                    "printable characters"));
  EXPECT_TRUE(converter.Convert(*ParseCsv(Row17())[0]).ok());
}

}  // namespace
}  // namespace voronka
