// Specification of the CloudEvents codec: every event type round-trips in
// every mode, and every rule of DOMAIN.md §3 is enforced with a precise path
// and reason.
#include "events/cloudevents.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace voronka {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

Timestamp T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }
Money Rub(int64_t minor) { return Money{minor, *Currency::FromCode("RUB")}; }

Event Envelope(const char* id, EventData data) {
  return Event{.id = EventId(id),
               .source = SourceId("crm/web"),
               .time = T("2026-11-23T09:30:00.250+03:00"),
               .data = std::move(data)};
}

// One event of every type with every optional field set, and a few with
// the optional fields left out.
std::vector<Event> EveryType() {
  std::vector<Event> v;
  v.push_back(Envelope("cdr-1700000000.42",
                       CallLogged{.org = OrgId("org-7"),
                                  .manager = ManagerId("ivanov"),
                                  .department = DepartmentId("lead_generation"),
                                  .direction = CallDirection::kInbound,
                                  .outcome = CallOutcome::kVoicemail,
                                  .duration_s = 125,
                                  .deal = DealId("deal-1"),
                                  .contact = std::string("+7 495 000-00-00"),
                                  .call_id = std::string("1700000000.42"),
                                  .billsec_s = 100}));
  v.push_back(Envelope("c2", CallLogged{.org = OrgId("org-7"),
                                        .manager = ManagerId("ivanov"),
                                        .department = DepartmentId("sales")}));
  v.push_back(
      Envelope("p1", ProposalSent{.org = OrgId("org-7"),
                                  .manager = ManagerId("ivanov"),
                                  .department = DepartmentId("sales")}));
  v.push_back(Envelope("p2", ProposalSent{.org = OrgId("org-7"),
                                          .manager = ManagerId("petrova"),
                                          .department = DepartmentId("sales"),
                                          .kind = ProposalKind::kIndividual,
                                          .deal = DealId("deal-1"),
                                          .amount = Rub(150000)}));
  v.push_back(Envelope(
      "a1",
      ApplicationReceived{.org = OrgId("org-7"),
                          .deal = DealId("deal-1"),
                          .manager = ManagerId("petrova"),
                          .department = DepartmentId("sales"),
                          .amount = Money{99, *Currency::FromCode("USD")}}));
  v.push_back(Envelope("i1", InvoiceIssued{.org = OrgId("org-7"),
                                           .deal = DealId("deal-1"),
                                           .invoice = InvoiceId("INV-1"),
                                           .manager = ManagerId("petrova"),
                                           .department = DepartmentId("sales"),
                                           .amount = Rub(150000),
                                           .due = T("2026-12-01T00:00:00Z")}));
  v.push_back(Envelope("i2", InvoiceIssued{.org = OrgId("org-7"),
                                           .deal = DealId("deal-1"),
                                           .invoice = InvoiceId("INV-2"),
                                           .manager = ManagerId("petrova"),
                                           .department = DepartmentId("sales"),
                                           .amount = Rub(1)}));
  v.push_back(Envelope("pay1", InvoicePaid{.org = OrgId("org-7"),
                                           .deal = DealId("deal-1"),
                                           .invoice = InvoiceId("INV-1"),
                                           .amount = Rub(150000)}));
  v.push_back(Envelope(
      "pay2", InvoicePaid{.org = OrgId("org-7"),
                          .deal = DealId("deal-1"),
                          .invoice = InvoiceId("INV-1"),
                          .amount = Rub(150000),
                          .manager = ManagerId("petrova"),
                          .department = DepartmentId("account_management")}));
  v.push_back(Envelope(
      "s1", DealStageChanged{.org = OrgId("org-7"),
                             .deal = DealId("deal-1"),
                             .funnel = FunnelId("acquisition"),
                             .stage = StageId("development"),
                             .manager = ManagerId("petrova"),
                             .department = DepartmentId("sales"),
                             .amount = Rub(150000),
                             .reason = std::string("free version downloaded"),
                             .trigger = StageTrigger::kRobot}));
  v.push_back(Envelope("s2", DealStageChanged{.org = OrgId("org-7"),
                                              .deal = DealId("deal-2"),
                                              .funnel = FunnelId("retention"),
                                              .stage = StageId("renewed")}));
  v.push_back(
      Envelope("cl1", DealClaimed{.org = OrgId("org-7"),
                                  .deal = DealId("deal-1"),
                                  .manager = ManagerId("petrova"),
                                  .department = DepartmentId("sales")}));
  v.push_back(Envelope("r1", DealReassigned{.org = OrgId("org-7"),
                                            .deal = DealId("deal-1"),
                                            .manager = ManagerId("sidorov"),
                                            .department = DepartmentId("sales"),
                                            .by = ManagerId("boss")}));
  v.push_back(
      Envelope("r2", DealReassigned{.org = OrgId("org-7"),
                                    .deal = DealId("deal-1"),
                                    .manager = ManagerId("sidorov"),
                                    .department = DepartmentId("sales")}));
  v.push_back(Envelope("m1", ManagerJoined{.manager = ManagerId("sidorov"),
                                           .department = DepartmentId("sales"),
                                           .name = std::string("Сидоров")}));
  v.push_back(
      Envelope("m2", ManagerDeparted{.manager = ManagerId("ivanov"),
                                     .department = DepartmentId("sales"),
                                     .reason = std::string("moved")}));
  v.push_back(
      Envelope("m3", ManagerDeparted{.manager = ManagerId("ivanov"),
                                     .department = DepartmentId("sales")}));
  v.back().recorded_time = T("2026-11-23T09:31:00.123456Z");
  return v;
}

class CloudEventsTest : public ::testing::Test {
 protected:
  CloudEventsDecoder decoder_{FunnelConfig::Default()};
};

TEST_F(CloudEventsTest, EveryTypeRoundTripsInStructuredMode) {
  std::vector<bool> seen(kEventTypeCount);
  for (const Event& e : EveryType()) {
    seen[static_cast<int>(e.type())] = true;
    const std::string json = ToStructuredJson(e);
    DecodeResult r = decoder_.DecodeStructured(json);
    ASSERT_TRUE(r.ok()) << json << "\n" << r.errors[0].ToString();
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0], e) << json;
  }
  for (int i = 0; i < kEventTypeCount; ++i) EXPECT_TRUE(seen[i]) << i;
}

TEST_F(CloudEventsTest, EveryTypeRoundTripsInABatch) {
  const std::vector<Event> events = EveryType();
  DecodeResult r = decoder_.DecodeBatch(ToBatchJson(events));
  ASSERT_TRUE(r.ok()) << r.errors[0].ToString();
  EXPECT_EQ(r.events, events);
}

TEST_F(CloudEventsTest, EveryTypeRoundTripsInBinaryModeForBothBindings) {
  for (Binding b : {Binding::kHttp, Binding::kKafka}) {
    for (const Event& e : EveryType()) {
      auto [headers, body] = ToBinary(e, b);
      DecodeResult r = decoder_.DecodeBinary(headers, body, b);
      ASSERT_TRUE(r.ok()) << body << "\n" << r.errors[0].ToString();
      ASSERT_EQ(r.events.size(), 1u);
      EXPECT_EQ(r.events[0], e) << body;
    }
  }
}

TEST_F(CloudEventsTest, StructuredJsonHasTheAttributesOfTheSpec) {
  Event e = EveryType()[3];  // Individual proposal.
  e.recorded_time = T("2026-11-23T06:31:00Z");
  Json j = Json::parse(ToStructuredJson(e));
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["id"], "p2");
  EXPECT_EQ(j["source"], "crm/web");
  EXPECT_EQ(j["type"], "proposal.sent");
  EXPECT_EQ(j["time"], "2026-11-23T06:30:00.25Z");
  EXPECT_EQ(j["datacontenttype"], "application/json");
  EXPECT_EQ(j["recordedtime"], "2026-11-23T06:31:00Z");
  EXPECT_EQ(j["data"]["amount_minor"], 150000);
  EXPECT_EQ(j["data"]["currency"], "RUB");
  EXPECT_EQ(j["data"]["kind"], "individual");
  // Absent optionals are omitted, not null.
  EXPECT_FALSE(
      Json::parse(ToStructuredJson(EveryType()[2]))["data"].contains("deal"));
  EXPECT_FALSE(
      Json::parse(ToStructuredJson(EveryType()[2])).contains("recordedtime"));
}

TEST_F(CloudEventsTest, BinaryHeadersUseTheBindingPrefix) {
  Event e = EveryType()[0];
  e.recorded_time = T("2026-11-23T06:31:00Z");
  auto [http, body] = ToBinary(e, Binding::kHttp);
  EXPECT_THAT(http, ::testing::Contains(std::pair<std::string, std::string>(
                        "ce-id", "cdr-1700000000.42")));
  EXPECT_THAT(http, ::testing::Contains(std::pair<std::string, std::string>(
                        "ce-recordedtime", "2026-11-23T06:31:00Z")));
  EXPECT_THAT(http, ::testing::Contains(std::pair<std::string, std::string>(
                        "content-type", "application/json")));
  auto [kafka, body2] = ToBinary(e, Binding::kKafka);
  EXPECT_THAT(kafka, ::testing::Contains(std::pair<std::string, std::string>(
                         "ce_type", "call.logged")));
  EXPECT_EQ(Json::parse(body)["org"], "org-7");
  EXPECT_EQ(body, body2);
}

TEST_F(CloudEventsTest, BinaryHeaderNamesAreCaseInsensitive) {
  Headers h = {{"CE-SpecVersion", "1.0"},
               {"Ce-Id", "x1"},
               {"ce-TYPE", "deal.claimed"},
               {"ce-source", "crm/web"},
               {"ce-time", "2026-11-23T10:00:00Z"},
               {"Content-Type", "application/json; charset=utf-8"}};
  DecodeResult r = decoder_.DecodeBinary(
      h, R"({"org":"o","deal":"d","manager":"m","department":"sales"})",
      Binding::kHttp);
  ASSERT_TRUE(r.ok()) << r.errors[0].ToString();
  EXPECT_EQ(r.events[0].id.value(), "x1");
}

// ---------------------------------------------------------------------------
// Errors. Each test breaks one thing of a valid event.

Json ValidCall() {
  return Json::parse(R"({
    "specversion": "1.0", "id": "cdr-1", "source": "pbx/asterisk-1",
    "type": "call.logged", "time": "2026-11-23T10:00:00+03:00",
    "data": {"org": "org-7", "manager": "ivanov",
             "department": "lead_generation", "direction": "outbound",
             "outcome": "answered", "duration_s": 60}})");
}

Json ValidStage() {
  return Json::parse(R"({
    "specversion": "1.0", "id": "s-1", "source": "crm/web",
    "type": "deal.stage_changed", "time": "2026-11-23T10:00:00Z",
    "data": {"org": "org-7", "deal": "deal-1", "funnel": "acquisition",
             "stage": "development"}})");
}

Json ValidProposal() {
  return Json::parse(R"({
    "specversion": "1.0", "id": "p-1", "source": "crm/web",
    "type": "proposal.sent", "time": "2026-11-23T10:00:00Z",
    "data": {"org": "org-7", "manager": "ivanov", "department": "sales",
             "kind": "individual", "deal": "deal-1", "amount_minor": 1250,
             "currency": "RUB"}})");
}

Json ValidInvoice() {
  return Json::parse(R"({
    "specversion": "1.0", "id": "i-1", "source": "crm/web",
    "type": "invoice.issued", "time": "2026-11-23T10:00:00Z",
    "data": {"org": "org-7", "deal": "deal-1", "invoice": "INV-1",
             "manager": "ivanov", "department": "sales",
             "amount_minor": 1250, "currency": "RUB", "due": "2026-12-01"}})");
}

class CloudEventsErrorTest : public CloudEventsTest {
 protected:
  // Decodes `j` (structured) expecting it to fail with an error at `path`
  // whose reason contains `reason`.
  void ExpectError(const Json& j, const std::string& path,
                   const std::string& reason) {
    DecodeResult r = decoder_.DecodeStructured(j.dump());
    EXPECT_FALSE(r.ok()) << j.dump();
    EXPECT_FALSE(r.malformed);
    EXPECT_TRUE(r.events.empty());
    bool found = false;
    std::string all;
    for (const FieldError& e : r.errors) {
      all += e.ToString() + "\n";
      if (e.path == path && e.reason.find(reason) != std::string::npos) {
        found = true;
        EXPECT_EQ(e.index, 0);
      }
    }
    EXPECT_TRUE(found) << "want " << path << ": " << reason << "\ngot:\n"
                       << all;
  }
  void ExpectOk(const Json& j) {
    DecodeResult r = decoder_.DecodeStructured(j.dump());
    EXPECT_TRUE(r.ok()) << j.dump() << "\n" << r.errors[0].ToString();
  }
};

TEST_F(CloudEventsErrorTest, ValidSamplesAreValid) {
  ExpectOk(ValidCall());
  ExpectOk(ValidStage());
  ExpectOk(ValidProposal());
  ExpectOk(ValidInvoice());
}

TEST_F(CloudEventsErrorTest, StageMustBelongToTheFunnel) {
  Json j = ValidStage();
  j["data"]["stage"] = "shipping";
  ExpectError(j, "event.data.stage",
              "\"shipping\" is not a stage of funnel \"acquisition\"");
  j["data"]["stage"] = "renewed";  // A stage of another funnel.
  ExpectError(j, "event.data.stage", "is not a stage of funnel");
}

TEST_F(CloudEventsErrorTest, FunnelMustExist) {
  Json j = ValidStage();
  j["data"]["funnel"] = "upsell";
  ExpectError(j, "event.data.funnel", "\"upsell\" is not a funnel");
}

TEST_F(CloudEventsErrorTest, AmountHasAnUpperBound) {
  Json j = ValidProposal();
  j["data"]["amount_minor"] = int64_t{100'000'000'000'001};
  ExpectError(j, "event.data.amount_minor",
              "must be <= 100000000000000 (10^14), got 100000000000001");
}

TEST_F(CloudEventsErrorTest, AmountMustBeAnInteger) {
  Json j = ValidProposal();
  j["data"]["amount_minor"] = 12.5;
  ExpectError(j, "event.data.amount_minor",
              "must be an integer number of minor units, got 12.5");
  j["data"]["amount_minor"] = "1250";
  ExpectError(j, "event.data.amount_minor",
              "must be an integer number of minor units, got a string");
  j["data"]["amount_minor"] = 60.0;
  ExpectError(j, "event.data.amount_minor", "got 60.0");
  j["data"]["amount_minor"] = 18446744073709551615ull;
  ExpectError(j, "event.data.amount_minor", "out of range");
  j["data"]["amount_minor"] = -100;
  ExpectError(j, "event.data.amount_minor", "must be >= 0, got -100");
}

TEST_F(CloudEventsErrorTest, TimeNeedsAnOffset) {
  Json j = ValidCall();
  j["time"] = "2026-11-23T10:00:00";
  ExpectError(j, "event.time",
              "\"2026-11-23T10:00:00\" has no UTC offset (end it with Z or "
              "+hh:mm)");
  j["time"] = "yesterday";
  ExpectError(j, "event.time", "is not an RFC 3339 date-time");
  j.erase("time");
  ExpectError(j, "event.time", "required");
}

TEST_F(CloudEventsErrorTest, SpecversionMustBe1_0) {
  Json j = ValidCall();
  j["specversion"] = "0.3";
  ExpectError(j, "event.specversion", "must be \"1.0\", got \"0.3\"");
  j.erase("specversion");
  ExpectError(j, "event.specversion", "required");
}

TEST_F(CloudEventsErrorTest, TypeMustBeKnown) {
  Json j = ValidCall();
  j["type"] = "call.made";
  ExpectError(j, "event.type",
              "\"call.made\" is not a known event type (call.logged, "
              "proposal.sent, ");
  j.erase("type");
  ExpectError(j, "event.type", "required");
}

TEST_F(CloudEventsErrorTest, DurationMustNotBeNegative) {
  Json j = ValidCall();
  j["data"]["duration_s"] = -5;
  ExpectError(j, "event.data.duration_s", "must be >= 0, got -5");
  j["data"]["duration_s"] = 1.5;
  ExpectError(j, "event.data.duration_s",
              "must be an integer number of seconds, got 1.5");
  j["data"]["duration_s"] = 5;
  j["data"]["billsec_s"] = -1;
  ExpectError(j, "event.data.billsec_s", "must be >= 0, got -1");
}

TEST_F(CloudEventsErrorTest, CurrencyMustBeIso4217) {
  Json j = ValidProposal();
  j["data"]["currency"] = "RUR";
  ExpectError(j, "event.data.currency",
              "\"RUR\" is not an ISO 4217 currency code");
  j["data"]["currency"] = "rub";
  ExpectError(j, "event.data.currency", "is not an ISO 4217 currency code");
}

TEST_F(CloudEventsErrorTest, DepartmentMustExist) {
  Json j = ValidCall();
  j["data"]["department"] = "marketing";
  ExpectError(j, "event.data.department",
              "\"marketing\" is not a department (lead_generation, sales, "
              "account_management, key_accounts)");
  Json s = ValidStage();  // Optional department is checked too.
  s["data"]["department"] = "marketing";
  ExpectError(s, "event.data.department", "is not a department");
}

TEST_F(CloudEventsErrorTest, IdsAreOneTo128PrintableCharacters) {
  Json j = ValidCall();
  j["id"] = "";
  ExpectError(j, "event.id", "must be 1-128 printable characters (got 0)");
  j["id"] = std::string(129, 'x');
  ExpectError(j, "event.id", "must be 1-128 printable characters (got 129)");
  j["id"] = "a\nb";
  ExpectError(j, "event.id", "control character 0x0a at byte 1");
  j["id"] = "a\x7f";
  ExpectError(j, "event.id", "control character 0x7f");
  j["id"] = 42;
  ExpectError(j, "event.id", "must be a string, got a number");
  j["id"] = "cdr-1";
  j["source"] = "";
  ExpectError(j, "event.source", "must be 1-128 printable characters (got 0)");
  j["source"] = "pbx/1";
  j["data"]["org"] = std::string(200, 'o');
  ExpectError(j, "event.data.org", "(got 200)");
  j["data"]["org"] = "org-7";
  j["data"]["manager"] = "iv\tanov";
  ExpectError(j, "event.data.manager", "control character 0x09");
  // 128 Cyrillic letters are 256 bytes and still fine.
  std::string cyr;
  for (int i = 0; i < 128; ++i) cyr += "ж";
  j["data"]["manager"] = cyr;
  ExpectOk(j);
  Json inv = ValidInvoice();
  inv["data"]["invoice"] = "";
  ExpectError(inv, "event.data.invoice", "(got 0)");
  Json r = Json::parse(R"({"specversion":"1.0","id":"r","source":"s",
    "type":"deal.reassigned","time":"2026-11-23T10:00:00Z",
    "data":{"org":"o","deal":"d","manager":"m","department":"sales",
            "by":"\u0001"}})");
  ExpectError(r, "event.data.by", "control character 0x01");
}

TEST_F(CloudEventsErrorTest, RequiredFieldsAreNamed) {
  Json j = ValidCall();
  j["data"].erase("org");
  j["data"]["manager"] = nullptr;  // Null is absent.
  ExpectError(j, "event.data.org", "required");
  ExpectError(j, "event.data.manager", "required");
  Json k = ValidCall();
  k.erase("id");
  ExpectError(k, "event.id", "required");
}

TEST_F(CloudEventsErrorTest, WrongJsonTypeIsNamed) {
  Json j = ValidCall();
  j["data"]["org"] = 7;
  ExpectError(j, "event.data.org", "must be a string, got a number");
  j["data"]["org"] = Json::array();
  ExpectError(j, "event.data.org", "must be a string, got an array");
}

TEST_F(CloudEventsErrorTest, EnumsListTheAllowedValues) {
  Json j = ValidCall();
  j["data"]["direction"] = "out";
  ExpectError(j, "event.data.direction",
              "\"out\" is not one of: outbound, inbound");
  j["data"]["outcome"] = "ok";
  ExpectError(j, "event.data.outcome",
              "\"ok\" is not one of: answered, no_answer, busy, failed, "
              "voicemail");
  Json p = ValidProposal();
  p["data"]["kind"] = "special";
  ExpectError(p, "event.data.kind",
              "\"special\" is not one of: general, individual");
  Json s = ValidStage();
  s["data"]["trigger"] = "cron";
  ExpectError(s, "event.data.trigger",
              "\"cron\" is not one of: person, robot, api");
}

TEST_F(CloudEventsErrorTest, IndividualProposalNeedsDealAndAmount) {
  Json j = ValidProposal();
  j["data"].erase("deal");
  j["data"].erase("amount_minor");
  j["data"].erase("currency");
  ExpectError(j, "event.data.deal", "required for an individual proposal");
  ExpectError(j, "event.data.amount_minor",
              "required for an individual proposal");
  ExpectError(j, "event.data.currency", "required for an individual proposal");
  j["data"]["kind"] = "general";
  ExpectOk(j);
}

TEST_F(CloudEventsErrorTest, AmountAndCurrencyComeTogether) {
  Json j = ValidStage();
  j["data"]["amount_minor"] = 100;
  ExpectError(j, "event.data.currency", "required with amount_minor");
  j["data"].erase("amount_minor");
  j["data"]["currency"] = "RUB";
  ExpectError(j, "event.data.amount_minor", "required with currency");
  Json inv = ValidInvoice();
  inv["data"].erase("amount_minor");
  inv["data"].erase("currency");
  ExpectError(inv, "event.data.amount_minor", "required");
  ExpectError(inv, "event.data.currency", "required");
}

TEST_F(CloudEventsErrorTest, DueIsAFullDateOrADateTime) {
  Json j = ValidInvoice();
  j["data"]["due"] = "2026-12-01T12:00:00+03:00";
  ExpectOk(j);
  j["data"]["due"] = "01.12.2026";
  ExpectError(j, "event.data.due", "is not an RFC 3339 full-date");
  j["data"]["due"] = "2026-12-01 12:00";
  ExpectError(j, "event.data.due", "is not an RFC 3339 date-time");
  DecodeResult r = decoder_.DecodeStructured(ValidInvoice().dump());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.events[0].get_if<InvoiceIssued>()->due,
            T("2026-12-01T00:00:00Z"));
}

TEST_F(CloudEventsErrorTest, DataMustBeAnObject) {
  Json j = ValidCall();
  j.erase("data");
  ExpectError(j, "event.data", "required");
  j["data"] = "org-7";
  ExpectError(j, "event.data", "must be a JSON object, got a string");
}

TEST_F(CloudEventsErrorTest, DatacontenttypeMustBeJson) {
  Json j = ValidCall();
  j["datacontenttype"] = "text/plain";
  ExpectError(j, "event.datacontenttype",
              "must be \"application/json\", got \"text/plain\"");
  j["datacontenttype"] = "application/json";
  ExpectOk(j);
}

TEST_F(CloudEventsErrorTest, UnknownDataFieldsAndExtensionsAreIgnored) {
  Json j = ValidCall();
  j["data"]["sentiment"] = "happy";
  j["data"]["stage"] = 42;  // Not a field of call.logged: ignored.
  j["traceparent"] = "00-abc";
  j["partitionkey"] = 5;
  ExpectOk(j);
}

TEST_F(CloudEventsErrorTest, RecordedTimeIsReadFromTheExtension) {
  Json j = ValidCall();
  j["recordedtime"] = "2026-11-23T07:00:01Z";
  DecodeResult r = decoder_.DecodeStructured(j.dump());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.events[0].recorded_time, T("2026-11-23T07:00:01Z"));
  j["recordedtime"] = "soon";
  ExpectError(j, "event.recordedtime", "is not an RFC 3339 date-time");
  r = decoder_.DecodeStructured(ValidCall().dump());
  EXPECT_FALSE(r.events[0].recorded_time.is_set());
}

TEST_F(CloudEventsErrorTest, ManagerEventsHaveNoOrg) {
  Json j = Json::parse(R"({"specversion":"1.0","id":"m","source":"hr",
    "type":"manager.joined","time":"2026-11-23T10:00:00Z",
    "data":{"manager":"m","department":"sales"}})");
  ExpectOk(j);
  j["data"]["department"] = "hr";
  ExpectError(j, "event.data.department", "is not a department");
}

TEST_F(CloudEventsErrorTest, InvoicePaidNeedsNoManager) {
  Json j = ValidInvoice();
  j["type"] = "invoice.paid";
  j["data"].erase("manager");
  j["data"].erase("department");
  ExpectOk(j);
  j["data"].erase("invoice");
  ExpectError(j, "event.data.invoice", "required");
}

TEST_F(CloudEventsErrorTest, DuplicateKeysAreRejected) {
  std::string s = ValidCall().dump();
  s.insert(1, R"("id":"other",)");
  DecodeResult r = decoder_.DecodeStructured(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].path, "event.id");
  EXPECT_THAT(r.errors[0].reason, HasSubstr("given twice"));
}

TEST_F(CloudEventsErrorTest, EveryErrorOfAnEventIsReported) {
  Json j = ValidCall();
  j["specversion"] = "0.3";
  j["time"] = "2026-11-23T10:00:00";
  j["data"]["duration_s"] = -5;
  j["data"]["department"] = "marketing";
  DecodeResult r = decoder_.DecodeStructured(j.dump());
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].path, "event.specversion");
  EXPECT_EQ(r.errors[1].path, "event.time");
  EXPECT_EQ(r.errors[2].path, "event.data.department");
  EXPECT_EQ(r.errors[3].path, "event.data.duration_s");
}

TEST_F(CloudEventsTest, BatchReportsEveryBadEventWithItsIndex) {
  Json batch = Json::array({ValidCall(), ValidStage(), ValidProposal(),
                            ValidInvoice(), ValidCall()});
  batch[1]["data"]["stage"] = "shipping";
  batch[3]["data"]["amount_minor"] = 12.5;
  batch[4]["time"] = "2026-11-23T10:00:00";
  batch[4]["type"] = "call.made";
  DecodeResult r = decoder_.DecodeBatch(batch.dump());
  EXPECT_FALSE(r.malformed);
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].index, 1);
  EXPECT_EQ(r.errors[0].ToString(),
            "events[1].data.stage: \"shipping\" is not a stage of funnel "
            "\"acquisition\" (new, active, development, shipment, customer, "
            "worked_out)");
  EXPECT_EQ(r.errors[1].index, 3);
  EXPECT_EQ(r.errors[1].path, "events[3].data.amount_minor");
  EXPECT_EQ(r.errors[2].index, 4);
  EXPECT_EQ(r.errors[2].path, "events[4].type");
  EXPECT_EQ(r.errors[3].index, 4);
  EXPECT_EQ(r.errors[3].path, "events[4].time");
}

TEST_F(CloudEventsTest, BatchMustBeANonEmptyArrayOfObjects) {
  DecodeResult r = decoder_.DecodeBatch("[]");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "$: a batch must hold at least one event");
  EXPECT_FALSE(r.malformed);
  r = decoder_.DecodeBatch(ValidCall().dump());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].index, -1);
  EXPECT_THAT(r.errors[0].reason,
              HasSubstr("must be a JSON array of events, got an object"));
  Json batch = Json::array({ValidCall(), 5});
  r = decoder_.DecodeBatch(batch.dump());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].index, 1);
  EXPECT_EQ(r.errors[0].path, "events[1]");
  EXPECT_THAT(r.errors[0].reason, HasSubstr("got a number"));
  EXPECT_TRUE(r.events.empty());
}

TEST_F(CloudEventsTest, StructuredMustBeAnObject) {
  DecodeResult r = decoder_.DecodeStructured("[1]");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "$");
  EXPECT_FALSE(r.malformed);
}

TEST_F(CloudEventsTest, MalformedJsonIsFlagged) {
  for (const char* body : {"{\"id\": ", "", "not json", "{\"a\":1}}"}) {
    DecodeResult r = decoder_.DecodeStructured(body);
    EXPECT_TRUE(r.malformed) << body;
    ASSERT_EQ(r.errors.size(), 1u) << body;
    EXPECT_EQ(r.errors[0].path, "$");
    EXPECT_EQ(r.errors[0].index, -1);
    EXPECT_THAT(r.errors[0].reason, HasSubstr("not valid JSON"));
  }
  EXPECT_TRUE(decoder_.DecodeBatch("[{]").malformed);
  EXPECT_TRUE(decoder_.DecodeBinary({}, "{oops", Binding::kHttp).malformed);
}

TEST_F(CloudEventsTest, BinaryErrorsNameTheHeaderOrTheDataField) {
  auto [headers, body] = ToBinary(EveryType()[9], Binding::kKafka);
  for (auto& [name, value] : headers) {
    if (name == "ce_time") value = "2026-11-23T10:00:00";
    if (name == "ce_id") value = "";
  }
  Json data = Json::parse(body);
  data["stage"] = "shipping";
  DecodeResult r = decoder_.DecodeBinary(headers, data.dump(), Binding::kKafka);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].path, "header ce_id");
  EXPECT_EQ(r.errors[1].path, "header ce_time");
  EXPECT_THAT(r.errors[1].reason, HasSubstr("has no UTC offset"));
  EXPECT_EQ(r.errors[2].path, "data.stage");
  EXPECT_TRUE(r.events.empty());

  // HTTP prefix headers are not read on Kafka, so everything is missing.
  auto [http, body2] = ToBinary(EveryType()[9], Binding::kHttp);
  r = decoder_.DecodeBinary(http, body2, Binding::kKafka);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].ToString(), "header ce_specversion: required");

  r = decoder_.DecodeBinary(http, "", Binding::kHttp);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "data: required");

  for (auto& [name, value] : http) {
    if (name == "content-type") value = "text/plain";
    if (name == "ce-source") value = "bad\xff";
  }
  r = decoder_.DecodeBinary(http, body2, Binding::kHttp);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].path, "header ce-source");
  EXPECT_THAT(r.errors[0].reason, HasSubstr("not valid UTF-8"));
  EXPECT_EQ(r.errors[1].path, "header content-type");
}

TEST_F(CloudEventsTest, DecoderIsReusable) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(decoder_.DecodeStructured("{").malformed);
    DecodeResult r = decoder_.DecodeBatch(ToBatchJson(EveryType()));
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.events.size(), EveryType().size());
  }
}

}  // namespace
}  // namespace voronka
