#include "events/event.h"

#include <array>

namespace voronka {
namespace {

constexpr std::array<std::string_view, kEventTypeCount> kTypeNames = {
    "call.logged",      "proposal.sent",   "application.received",
    "invoice.issued",   "invoice.paid",    "deal.stage_changed",
    "deal.claimed",     "deal.reassigned", "manager.joined",
    "manager.departed",
};
static_assert(std::variant_size_v<EventData> == kEventTypeCount);

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

}  // namespace

std::string_view EventTypeName(EventType type) {
  return kTypeNames[static_cast<size_t>(type)];
}

std::optional<EventType> EventTypeFromName(std::string_view name) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

std::string_view Event::key() const {
  return std::visit(
      Overloaded{
          [](const ManagerJoined& d) -> std::string_view {
            return d.manager.value();
          },
          [](const ManagerDeparted& d) -> std::string_view {
            return d.manager.value();
          },
          [](const auto& d) -> std::string_view { return d.org.value(); },
      },
      data);
}

const DealId* Event::deal() const {
  return std::visit(
      Overloaded{
          [](const CallLogged& d) -> const DealId* {
            return d.deal ? &*d.deal : nullptr;
          },
          [](const ProposalSent& d) -> const DealId* {
            return d.deal ? &*d.deal : nullptr;
          },
          [](const ManagerJoined&) -> const DealId* { return nullptr; },
          [](const ManagerDeparted&) -> const DealId* { return nullptr; },
          [](const auto& d) -> const DealId* { return &d.deal; },
      },
      data);
}

std::string_view ToString(CallDirection v) {
  return v == CallDirection::kOutbound ? "outbound" : "inbound";
}
std::string_view ToString(CallOutcome v) {
  switch (v) {
    case CallOutcome::kAnswered:
      return "answered";
    case CallOutcome::kNoAnswer:
      return "no_answer";
    case CallOutcome::kBusy:
      return "busy";
    case CallOutcome::kFailed:
      return "failed";
    case CallOutcome::kVoicemail:
      return "voicemail";
  }
  return "?";
}
std::string_view ToString(ProposalKind v) {
  return v == ProposalKind::kGeneral ? "general" : "individual";
}
std::string_view ToString(StageTrigger v) {
  switch (v) {
    case StageTrigger::kPerson:
      return "person";
    case StageTrigger::kRobot:
      return "robot";
    case StageTrigger::kApi:
      return "api";
  }
  return "?";
}

}  // namespace voronka
