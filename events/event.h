// The events of DOMAIN.md §3: immutable facts, named in the past tense.
//
// Each type is a plain struct with a cereal class version (see codec.h and
// docs/events.md). Fields are only ever added: a new field gets a new class
// version and a default, so every record ever written keeps decoding.
//
// An Event is the CloudEvents envelope (id, source, time) plus the moment
// Voronka recorded it, plus one of the typed payloads:
//
//   Event e{.id = EventId("cdr-1700000000.42"), .source = SourceId("pbx/1"),
//           .time = *ParseRfc3339("2026-11-23T09:30:00+03:00"),
//           .data = CallLogged{.org = OrgId("org-7"), ...}};
//   e.type_name() == "call.logged";  e.key() == "org-7";
//
// Validation (ids 1-128 printable chars, departments/funnels/stages that exist
// in the configuration) is done by the decoders in cloudevents.h; these
// structs hold whatever they are given.
#ifndef VORONKA_EVENTS_EVENT_H_
#define VORONKA_EVENTS_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "events/ids.h"
#include "events/money.h"
#include "events/timestamp.h"

namespace voronka {

enum class CallDirection : uint8_t { kOutbound = 0, kInbound = 1 };
enum class CallOutcome : uint8_t {
  kAnswered = 0,
  kNoAnswer = 1,
  kBusy = 2,
  kFailed = 3,
  kVoicemail = 4,
};
enum class ProposalKind : uint8_t { kGeneral = 0, kIndividual = 1 };
enum class StageTrigger : uint8_t { kPerson = 0, kRobot = 1, kApi = 2 };

// One telephone call or contact attempt (DOMAIN.md indicators A and B).
struct CallLogged {
  OrgId org;
  ManagerId manager;
  DepartmentId department;
  CallDirection direction = CallDirection::kOutbound;
  CallOutcome outcome = CallOutcome::kAnswered;
  int64_t duration_s = 0;
  std::optional<DealId> deal;
  std::optional<std::string> contact;
  std::optional<std::string> call_id;
  std::optional<int64_t> billsec_s;
  friend bool operator==(const CallLogged&, const CallLogged&) = default;
};

// A commercial proposal: general (indicator C) or individual (indicator D,
// with deal and amount).
struct ProposalSent {
  OrgId org;
  ManagerId manager;
  DepartmentId department;
  ProposalKind kind = ProposalKind::kGeneral;
  std::optional<DealId> deal;   // Required for kIndividual.
  std::optional<Money> amount;  // Required for kIndividual.
  friend bool operator==(const ProposalSent&, const ProposalSent&) = default;
};

// An application (order) collected, with its amount (indicator D).
struct ApplicationReceived {
  OrgId org;
  DealId deal;
  ManagerId manager;
  DepartmentId department;
  Money amount;
  friend bool operator==(const ApplicationReceived&,
                         const ApplicationReceived&) = default;
};

struct InvoiceIssued {
  OrgId org;
  DealId deal;
  InvoiceId invoice;
  ManagerId manager;
  DepartmentId department;
  Money amount;
  std::optional<Timestamp> due;
  friend bool operator==(const InvoiceIssued&, const InvoiceIssued&) = default;
};

// Without a manager, credit goes to whoever issued the invoice.
struct InvoicePaid {
  OrgId org;
  DealId deal;
  InvoiceId invoice;
  Money amount;
  std::optional<ManagerId> manager;
  std::optional<DepartmentId> department;
  friend bool operator==(const InvoicePaid&, const InvoicePaid&) = default;
};

// A deal entered `stage` of `funnel`. manager/department name the actor.
struct DealStageChanged {
  OrgId org;
  DealId deal;
  FunnelId funnel;
  StageId stage;
  std::optional<ManagerId> manager;
  std::optional<DepartmentId> department;
  std::optional<Money> amount;  // The new expected value of the deal.
  std::optional<std::string> reason;
  std::optional<StageTrigger> trigger;
  friend bool operator==(const DealStageChanged&,
                         const DealStageChanged&) = default;
};

struct DealClaimed {
  OrgId org;
  DealId deal;
  ManagerId manager;
  DepartmentId department;
  friend bool operator==(const DealClaimed&, const DealClaimed&) = default;
};

// The deal now belongs to `manager` of `department`; `by` is who decided.
struct DealReassigned {
  OrgId org;
  DealId deal;
  ManagerId manager;
  DepartmentId department;
  std::optional<ManagerId> by;
  friend bool operator==(const DealReassigned&,
                         const DealReassigned&) = default;
};

struct ManagerJoined {
  ManagerId manager;
  DepartmentId department;
  std::optional<std::string> name;
  friend bool operator==(const ManagerJoined&, const ManagerJoined&) = default;
};

struct ManagerDeparted {
  ManagerId manager;
  DepartmentId department;
  std::optional<std::string> reason;
  friend bool operator==(const ManagerDeparted&,
                         const ManagerDeparted&) = default;
};

// The order of alternatives is part of the binary format: append only.
using EventData =
    std::variant<CallLogged, ProposalSent, ApplicationReceived, InvoiceIssued,
                 InvoicePaid, DealStageChanged, DealClaimed, DealReassigned,
                 ManagerJoined, ManagerDeparted>;

enum class EventType : uint8_t {
  kCallLogged = 0,
  kProposalSent,
  kApplicationReceived,
  kInvoiceIssued,
  kInvoicePaid,
  kDealStageChanged,
  kDealClaimed,
  kDealReassigned,
  kManagerJoined,
  kManagerDeparted,
};
inline constexpr int kEventTypeCount = 10;

// "call.logged", "deal.stage_changed"...: the CloudEvents `type`.
std::string_view EventTypeName(EventType type);
// The type for a CloudEvents `type` string, or nullopt if unknown.
std::optional<EventType> EventTypeFromName(std::string_view name);

struct Event {
  EventId id;
  SourceId source;
  Timestamp time;           // When it happened (sender's clock).
  Timestamp recorded_time;  // When Voronka accepted it (set by ingest).
  EventData data;

  EventType type() const { return static_cast<EventType>(data.index()); }
  std::string_view type_name() const { return EventTypeName(type()); }

  // The Kafka record key: data.org, or data.manager for manager.* events, so
  // that one organisation's (one manager's) events keep their order.
  std::string_view key() const;

  // The deal the event names, if any.
  const DealId* deal() const;

  template <typename T>
  const T* get_if() const {
    return std::get_if<T>(&data);
  }

  friend bool operator==(const Event&, const Event&) = default;
};

std::string_view ToString(CallDirection v);
std::string_view ToString(CallOutcome v);
std::string_view ToString(ProposalKind v);
std::string_view ToString(StageTrigger v);

}  // namespace voronka

#endif  // VORONKA_EVENTS_EVENT_H_
