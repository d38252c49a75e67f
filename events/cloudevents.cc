// CloudEvents 1.0 JSON codec (docs/events.md).
//
// Decoding: simdjson's DOM parser (kept in Impl, so its buffers are reused)
// with error codes only; one pass over each object's keys fills fixed slots,
// then a per-type reader checks the slots against DOMAIN.md §3 and builds the
// Event. Error messages and paths are built only when something is wrong, so
// a valid event costs the parse plus the strings of the Event itself.
//
// Encoding: nlohmann::ordered_json, attributes in the order of the spec.
#include "events/cloudevents.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "nlohmann/json.hpp"
#include "simdjson.h"

namespace voronka {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// ---------------------------------------------------------------------------
// Names.

// Context attributes we read. Anything else is an extension and ignored.
enum Attr : int {
  kSpecversion = 0,
  kId,
  kSource,
  kType,
  kTime,
  kDatacontenttype,
  kRecordedtime,
  kData,
  kAttrCount,
};
constexpr std::array<std::string_view, kAttrCount> kAttrNames = {
    "specversion",     "id",           "source", "type", "time",
    "datacontenttype", "recordedtime", "data",
};

// Every `data` field of every type. Unknown fields are ignored.
enum Field : int {
  kOrg = 0,
  kManager,
  kDepartment,
  kDirection,
  kOutcome,
  kDurationS,
  kDeal,
  kContact,
  kCallId,
  kBillsecS,
  kKind,
  kAmountMinor,
  kCurrency,
  kInvoice,
  kDue,
  kFunnel,
  kStage,
  kReason,
  kTrigger,
  kBy,
  kName,
  kFieldCount,
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "org",      "manager", "department", "direction", "outcome", "duration_s",
    "deal",     "contact", "call_id",    "billsec_s", "kind",    "amount_minor",
    "currency", "invoice", "due",        "funnel",    "stage",   "reason",
    "trigger",  "by",      "name",
};

template <size_t N>
int IndexOfName(const std::array<std::string_view, N>& names,
                std::string_view key) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i].size() == key.size() && names[i] == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

constexpr std::array<std::string_view, 2> kDirections = {"outbound", "inbound"};
constexpr std::array<std::string_view, 5> kOutcomes = {
    "answered", "no_answer", "busy", "failed", "voicemail"};
constexpr std::array<std::string_view, 2> kKinds = {"general", "individual"};
constexpr std::array<std::string_view, 3> kTriggers = {"person", "robot",
                                                       "api"};

std::string_view JsonTypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "?";
}

// A number as the sender probably wrote it: 12.5, 60.0, 1e+30.
std::string NumberText(const element& e) {
  switch (e.type()) {
    case element_type::INT64:
      return fmt::format("{}", e.get_int64().value_unsafe());
    case element_type::UINT64:
      return fmt::format("{}", e.get_uint64().value_unsafe());
    case element_type::DOUBLE: {
      double d = e.get_double().value_unsafe();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
        return fmt::format("{:.1f}", d);
      }
      return fmt::format("{}", d);
    }
    default:
      return std::string(JsonTypeName(e.type()));
  }
}

// Ids: 1-128 printable characters (code points), no byte < 0x20, no 0x7F.
// Returns an empty string if valid, else the reason.
std::string IdProblem(std::string_view s, bool check_utf8) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      return fmt::format(
          "must be 1-128 printable characters (control character 0x{:02x} "
          "at byte {})",
          c, i);
    }
    chars += (c & 0xC0) != 0x80;
  }
  if (chars == 0 || chars > 128) {
    return fmt::format("must be 1-128 printable characters (got {})", chars);
  }
  if (check_utf8 && !simdjson::validate_utf8(s.data(), s.size())) {
    return "must be 1-128 printable characters (not valid UTF-8)";
  }
  return {};
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// "application/json", optionally with parameters ("; charset=utf-8").
bool IsJsonContentType(std::string_view v) {
  constexpr std::string_view kJson = "application/json";
  if (v.size() < kJson.size() ||
      !EqualsIgnoreCase(v.substr(0, kJson.size()), kJson)) {
    return false;
  }
  v.remove_prefix(kJson.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return v.empty() || v.front() == ';';
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------
// Where an event is, for error paths.

enum class Mode { kStructured, kBatch, kBinary };

struct Where {
  Mode mode;
  int index;
  std::string_view header_prefix;  // Binary mode: "ce-" or "ce_".

  std::string Root() const {
    switch (mode) {
      case Mode::kStructured:
        return "event";
      case Mode::kBatch:
        return fmt::format("events[{}]", index);
      case Mode::kBinary:
        return "headers";
    }
    return "$";
  }
  std::string AttrPath(Attr a) const {
    switch (mode) {
      case Mode::kStructured:
        return fmt::format("event.{}", kAttrNames[a]);
      case Mode::kBatch:
        return fmt::format("events[{}].{}", index, kAttrNames[a]);
      case Mode::kBinary:
        if (a == kData) return "data";
        if (a == kDatacontenttype) return "header content-type";
        return fmt::format("header {}{}", header_prefix, kAttrNames[a]);
    }
    return "$";
  }
  std::string DataPath(Field f) const {
    switch (mode) {
      case Mode::kStructured:
        return fmt::format("event.data.{}", kFieldNames[f]);
      case Mode::kBatch:
        return fmt::format("events[{}].data.{}", index, kFieldNames[f]);
      case Mode::kBinary:
        return fmt::format("data.{}", kFieldNames[f]);
    }
    return "$";
  }
};

// The context attributes of one event, as strings, whatever the mode.
struct Attrs {
  std::array<std::string_view, kAttrCount> value{};
  uint32_t present = 0;
  bool Has(Attr a) const { return present & (1u << a); }
};

// The `data` fields of one event. Null counts as absent.
struct Slots {
  std::array<element, kFieldCount> value{};
  uint32_t present = 0;
  bool Has(Field f) const { return present & (1u << f); }
};

// What the decoder knows about the configuration, with the lists that error
// messages quote precomputed.
struct Lookup {
  explicit Lookup(const FunnelConfig& c) : config(c) {
    std::vector<std::string_view> names;
    for (const DepartmentId& d : config.departments()) {
      names.push_back(d.value());
    }
    department_list = fmt::format("{}", fmt::join(names, ", "));
    names.clear();
    for (const Funnel& f : config.funnels()) names.push_back(f.name.value());
    funnel_list = fmt::format("{}", fmt::join(names, ", "));
    names.clear();
    for (int i = 0; i < kEventTypeCount; ++i) {
      names.push_back(EventTypeName(static_cast<EventType>(i)));
    }
    type_list = fmt::format("{}", fmt::join(names, ", "));
  }

  const FunnelConfig& config;
  std::string department_list, funnel_list, type_list;
};

}  // namespace

// ---------------------------------------------------------------------------

struct CloudEventsDecoder::Impl {
  explicit Impl(const FunnelConfig& c) : lookup(c) {}

  // Decodes one JSON object as a structured event (structured and batch).
  void DecodeObject(const element& obj, const Where& where, DecodeResult& out);
  // Validates the attributes, then the data, and appends the event if both
  // are clean.
  void DecodeEvent(const Attrs& attrs, const element* data, const Where& where,
                   bool check_utf8, DecodeResult& out);

  Lookup lookup;
  simdjson::dom::parser parser;
};

namespace {

// Reads the slots of one `data` object into a typed payload, reporting every
// problem. One per event; cheap to construct.
class DataReader {
 public:
  DataReader(const Lookup& impl, const Where& where, const Slots& slots,
             int index, std::vector<FieldError>& errors)
      : impl_(impl),
        where_(where),
        slots_(slots),
        index_(index),
        errors_(errors) {}

  void Error(Field f, std::string reason) {
    errors_.push_back({index_, where_.DataPath(f), std::move(reason)});
  }

  // A string field; reports a missing or mistyped one if `required`.
  std::optional<std::string_view> Str(Field f, bool required) {
    if (!slots_.Has(f)) {
      if (required) Error(f, "required");
      return std::nullopt;
    }
    std::string_view s;
    if (slots_.value[f].get_string().get(s) != simdjson::SUCCESS) {
      Error(f, fmt::format("must be a string, got {}",
                           JsonTypeName(slots_.value[f].type())));
      return std::nullopt;
    }
    return s;
  }

  template <typename T>
  void Id(Field f, T& out) {
    if (std::optional<std::string_view> s = Str(f, true)) Check(f, *s, out);
  }
  template <typename T>
  void OptId(Field f, std::optional<T>& out) {
    if (std::optional<std::string_view> s = Str(f, false)) {
      T id;
      if (Check(f, *s, id)) out = std::move(id);
    }
  }

  void Text(Field f, std::optional<std::string>& out) {
    if (std::optional<std::string_view> s = Str(f, false)) out.emplace(*s);
  }

  void Department(Field f, DepartmentId& out, bool required = true) {
    std::optional<std::string_view> s = Str(f, required);
    if (!s) return;
    if (!impl_.config.HasDepartment(*s)) {
      Error(f, fmt::format("\"{}\" is not a department ({})", *s,
                           impl_.department_list));
      return;
    }
    out = DepartmentId(*s);
  }
  void OptDepartment(Field f, std::optional<DepartmentId>& out) {
    if (!slots_.Has(f)) return;
    DepartmentId d;
    size_t before = errors_.size();
    Department(f, d, false);
    if (errors_.size() == before) out = std::move(d);
  }

  template <typename E, size_t N>
  void Enum(Field f, const std::array<std::string_view, N>& names, E& out,
            bool required = true) {
    std::optional<std::string_view> s = Str(f, required);
    if (!s) return;
    int i = IndexOfName(names, *s);
    if (i < 0) {
      Error(f, fmt::format("\"{}\" is not one of: {}", *s,
                           fmt::join(names, ", ")));
      return;
    }
    out = static_cast<E>(i);
  }

  // A non-negative integer; `what` names the unit in the type error.
  std::optional<int64_t> Int(Field f, bool required, std::string_view what) {
    if (!slots_.Has(f)) {
      if (required) Error(f, "required");
      return std::nullopt;
    }
    const element& e = slots_.value[f];
    if (e.type() == element_type::UINT64) {
      Error(f, fmt::format("{} is out of range", NumberText(e)));
      return std::nullopt;
    }
    if (e.type() != element_type::INT64) {
      Error(f, fmt::format("must be an integer number of {}, got {}", what,
                           e.type() == element_type::DOUBLE
                               ? NumberText(e)
                               : std::string(JsonTypeName(e.type()))));
      return std::nullopt;
    }
    int64_t v = e.get_int64().value_unsafe();
    if (v < 0) {
      Error(f, fmt::format("must be >= 0, got {}", v));
      return std::nullopt;
    }
    return v;
  }

  // amount_minor: an integer in [0, kMaxAmountMinor].
  std::optional<int64_t> AmountMinor() {
    std::optional<int64_t> v = Int(kAmountMinor, true, "minor units");
    if (!v || *v <= kMaxAmountMinor) return v;
    Error(kAmountMinor,
          fmt::format("must be <= {} (10^14), got {}", kMaxAmountMinor, *v));
    return std::nullopt;
  }

  // amount_minor + currency. `need` is the reason they are required, or
  // empty if the pair is optional (but then both or neither).
  std::optional<Money> Amount(std::string_view need) {
    const bool has_amount = slots_.Has(kAmountMinor);
    const bool has_currency = slots_.Has(kCurrency);
    if (!has_amount && !has_currency) {
      if (!need.empty()) {
        Error(kAmountMinor, fmt::format("required{}", need));
        Error(kCurrency, fmt::format("required{}", need));
      }
      return std::nullopt;
    }
    if (!has_currency) {
      Error(kCurrency, "required with amount_minor");
    } else if (!has_amount) {
      Error(kAmountMinor, "required with currency");
    }
    std::optional<int64_t> minor = has_amount ? AmountMinor() : std::nullopt;
    std::optional<Currency> currency;
    if (std::optional<std::string_view> code = Str(kCurrency, false)) {
      absl::StatusOr<Currency> c = Currency::FromCode(*code);
      if (c.ok()) {
        currency = *c;
      } else {
        Error(kCurrency, Message(c.status()));
      }
    }
    if (!minor || !currency) return std::nullopt;
    return Money{*minor, *currency};
  }
  void Amount(Money& out) {
    if (std::optional<Money> m = Amount(std::string_view(""))) out = *m;
    if (!slots_.Has(kAmountMinor) && !slots_.Has(kCurrency)) {
      Error(kAmountMinor, "required");
      Error(kCurrency, "required");
    }
  }

  // `due`: an RFC 3339 full-date (midnight UTC) or date-time.
  void Due(std::optional<Timestamp>& out) {
    std::optional<std::string_view> s = Str(kDue, false);
    if (!s) return;
    absl::StatusOr<Timestamp> t =
        s->size() == 10 ? ParseRfc3339Date(*s) : ParseRfc3339(*s);
    if (!t.ok()) {
      Error(kDue, Message(t.status()));
      return;
    }
    out = *t;
  }

  // funnel + stage, the stage checked against the funnel.
  void FunnelStage(FunnelId& funnel, StageId& stage) {
    std::optional<std::string_view> f = Str(kFunnel, true);
    std::optional<std::string_view> s = Str(kStage, true);
    const Funnel* found = nullptr;
    if (f) {
      found = impl_.config.FindFunnel(*f);
      if (found == nullptr) {
        Error(kFunnel, fmt::format("\"{}\" is not a funnel ({})", *f,
                                   impl_.funnel_list));
      } else {
        funnel = FunnelId(*f);
      }
    }
    if (s && found != nullptr) {
      bool known = false;
      for (const Stage& st : found->stages)
        known = known || st.name.value() == *s;
      if (!known) {
        std::vector<std::string_view> names;
        for (const Stage& st : found->stages) names.push_back(st.name.value());
        Error(kStage, fmt::format("\"{}\" is not a stage of funnel \"{}\" ({})",
                                  *s, *f, fmt::join(names, ", ")));
      } else {
        stage = StageId(*s);
      }
    }
  }

  EventData Read(EventType type) {
    switch (type) {
      case EventType::kCallLogged: {
        CallLogged d;
        Id(kOrg, d.org);
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        Enum(kDirection, kDirections, d.direction);
        Enum(kOutcome, kOutcomes, d.outcome);
        if (auto v = Int(kDurationS, true, "seconds")) d.duration_s = *v;
        OptId(kDeal, d.deal);
        Text(kContact, d.contact);
        Text(kCallId, d.call_id);
        if (auto v = Int(kBillsecS, false, "seconds")) d.billsec_s = *v;
        return d;
      }
      case EventType::kProposalSent: {
        ProposalSent d;
        Id(kOrg, d.org);
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        size_t before = errors_.size();
        Enum(kKind, kKinds, d.kind);
        const bool kind_ok = errors_.size() == before;
        const bool individual = kind_ok && d.kind == ProposalKind::kIndividual;
        if (individual && !slots_.Has(kDeal)) {
          Error(kDeal, "required for an individual proposal");
        }
        OptId(kDeal, d.deal);
        d.amount = Amount(individual ? " for an individual proposal"
                                     : std::string_view());
        return d;
      }
      case EventType::kApplicationReceived: {
        ApplicationReceived d;
        Id(kOrg, d.org);
        Id(kDeal, d.deal);
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        Amount(d.amount);
        return d;
      }
      case EventType::kInvoiceIssued: {
        InvoiceIssued d;
        Id(kOrg, d.org);
        Id(kDeal, d.deal);
        Id(kInvoice, d.invoice);
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        Amount(d.amount);
        Due(d.due);
        return d;
      }
      case EventType::kInvoicePaid: {
        InvoicePaid d;
        Id(kOrg, d.org);
        Id(kDeal, d.deal);
        Id(kInvoice, d.invoice);
        Amount(d.amount);
        OptId(kManager, d.manager);
        OptDepartment(kDepartment, d.department);
        return d;
      }
      case EventType::kDealStageChanged: {
        DealStageChanged d;
        Id(kOrg, d.org);
        Id(kDeal, d.deal);
        FunnelStage(d.funnel, d.stage);
        OptId(kManager, d.manager);
        OptDepartment(kDepartment, d.department);
        d.amount = Amount(std::string_view());
        Text(kReason, d.reason);
        if (slots_.Has(kTrigger)) {
          StageTrigger t{};
          size_t before = errors_.size();
          Enum(kTrigger, kTriggers, t, false);
          if (errors_.size() == before) d.trigger = t;
        }
        return d;
      }
      case EventType::kDealClaimed: {
        DealClaimed d;
        Id(kOrg, d.org);
        Id(kDeal, d.deal);
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        return d;
      }
      case EventType::kDealReassigned: {
        DealReassigned d;
        Id(kOrg, d.org);
        Id(kDeal, d.deal);
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        OptId(kBy, d.by);
        return d;
      }
      case EventType::kManagerJoined: {
        ManagerJoined d;
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        Text(kName, d.name);
        return d;
      }
      case EventType::kManagerDeparted: {
        ManagerDeparted d;
        Id(kManager, d.manager);
        Department(kDepartment, d.department);
        Text(kReason, d.reason);
        return d;
      }
    }
    return CallLogged{};
  }

 private:
  template <typename T>
  bool Check(Field f, std::string_view s, T& out) {
    std::string problem = IdProblem(s, false);
    if (!problem.empty()) {
      Error(f, std::move(problem));
      return false;
    }
    out = T(s);
    return true;
  }

  const Lookup& impl_;
  const Where& where_;
  const Slots& slots_;
  int index_;
  std::vector<FieldError>& errors_;
};

}  // namespace

void CloudEventsDecoder::Impl::DecodeObject(const element& obj,
                                            const Where& where,
                                            DecodeResult& out) {
  simdjson::dom::object object;
  if (obj.get_object().get(object) != simdjson::SUCCESS) {
    out.errors.push_back(
        {where.index, where.Root(),
         fmt::format("must be a JSON object (an event), got {}",
                     JsonTypeName(obj.type()))});
    return;
  }
  Attrs attrs;
  element data;
  for (simdjson::dom::key_value_pair kv : object) {
    const int a = IndexOfName(kAttrNames, kv.key);
    if (a < 0) continue;  // An extension attribute: ignored.
    const Attr attr = static_cast<Attr>(a);
    if (attrs.Has(attr)) {
      out.errors.push_back(
          {where.index, where.AttrPath(attr), "given twice in the object"});
      continue;
    }
    if (kv.value.is_null()) continue;  // Null is absent.
    if (attr == kData) {
      data = kv.value;
      attrs.present |= 1u << attr;
      continue;
    }
    std::string_view s;
    if (kv.value.get_string().get(s) != simdjson::SUCCESS) {
      out.errors.push_back({where.index, where.AttrPath(attr),
                            fmt::format("must be a string, got {}",
                                        JsonTypeName(kv.value.type()))});
      continue;
    }
    attrs.value[attr] = s;
    attrs.present |= 1u << attr;
  }
  DecodeEvent(attrs, attrs.Has(kData) ? &data : nullptr, where, false, out);
}

void CloudEventsDecoder::Impl::DecodeEvent(const Attrs& attrs,
                                           const element* data,
                                           const Where& where, bool check_utf8,
                                           DecodeResult& out) {
  std::vector<FieldError>& errors = out.errors;
  const size_t errors_before = errors.size();
  auto error = [&](Attr a, std::string reason) {
    errors.push_back({where.index, where.AttrPath(a), std::move(reason)});
  };
  Event event;

  if (!attrs.Has(kSpecversion)) {
    error(kSpecversion, "required");
  } else if (attrs.value[kSpecversion] != "1.0") {
    error(kSpecversion, fmt::format("must be \"1.0\", got \"{}\"",
                                    attrs.value[kSpecversion]));
  }
  for (Attr a : {kId, kSource}) {
    if (!attrs.Has(a)) {
      error(a, "required");
      continue;
    }
    std::string problem = IdProblem(attrs.value[a], check_utf8);
    if (!problem.empty()) {
      error(a, std::move(problem));
    } else if (a == kId) {
      event.id = EventId(attrs.value[a]);
    } else {
      event.source = SourceId(attrs.value[a]);
    }
  }
  std::optional<EventType> type;
  if (!attrs.Has(kType)) {
    error(kType, "required");
  } else {
    type = EventTypeFromName(attrs.value[kType]);
    if (!type) {
      error(kType, fmt::format("\"{}\" is not a known event type ({})",
                               attrs.value[kType], lookup.type_list));
    }
  }
  if (!attrs.Has(kTime)) {
    error(kTime, "required");
  } else {
    absl::StatusOr<Timestamp> t = ParseRfc3339(attrs.value[kTime]);
    if (t.ok()) {
      event.time = *t;
    } else {
      error(kTime, Message(t.status()));
    }
  }
  if (attrs.Has(kDatacontenttype) &&
      !IsJsonContentType(attrs.value[kDatacontenttype])) {
    error(kDatacontenttype,
          fmt::format("must be \"application/json\", got \"{}\"",
                      attrs.value[kDatacontenttype]));
  }
  if (attrs.Has(kRecordedtime)) {
    absl::StatusOr<Timestamp> t = ParseRfc3339(attrs.value[kRecordedtime]);
    if (t.ok()) {
      event.recorded_time = *t;
    } else {
      error(kRecordedtime, Message(t.status()));
    }
  }

  simdjson::dom::object object;
  if (data == nullptr) {
    error(kData, "required");
  } else if (data->get_object().get(object) != simdjson::SUCCESS) {
    error(kData, fmt::format("must be a JSON object, got {}",
                             JsonTypeName(data->type())));
  } else if (type) {
    Slots slots;
    DataReader reader(lookup, where, slots, where.index, errors);
    for (simdjson::dom::key_value_pair kv : object) {
      const int f = IndexOfName(kFieldNames, kv.key);
      if (f < 0) continue;  // Forward compatibility: unknown fields ignored.
      const Field field = static_cast<Field>(f);
      if (slots.Has(field)) {
        reader.Error(field, "given twice in the object");
        continue;
      }
      if (kv.value.is_null()) continue;
      slots.value[field] = kv.value;
      slots.present |= 1u << field;
    }
    event.data = reader.Read(*type);
  }

  if (errors.size() == errors_before) out.events.push_back(std::move(event));
}

CloudEventsDecoder::CloudEventsDecoder(const FunnelConfig& config)
    : impl_(std::make_unique<Impl>(config)) {}

CloudEventsDecoder::~CloudEventsDecoder() = default;

namespace {

// Parses `json`; on failure fills `out` as malformed and returns false.
bool ParseJson(simdjson::dom::parser& parser, std::string_view json,
               element& root, DecodeResult& out) {
  simdjson::error_code err = parser.parse(json.data(), json.size()).get(root);
  if (err == simdjson::SUCCESS) return true;
  out.malformed = true;
  out.errors.push_back(
      {-1, "$",
       fmt::format("not valid JSON: {}", simdjson::error_message(err))});
  return false;
}

}  // namespace

DecodeResult CloudEventsDecoder::DecodeStructured(std::string_view json) {
  DecodeResult out;
  element root;
  if (!ParseJson(impl_->parser, json, root, out)) return out;
  if (root.type() != element_type::OBJECT) {
    out.errors.push_back(
        {-1, "$",
         fmt::format("must be a JSON object (one event), got {}",
                     JsonTypeName(root.type()))});
    return out;
  }
  impl_->DecodeObject(root, Where{Mode::kStructured, 0, {}}, out);
  if (!out.errors.empty()) out.events.clear();
  return out;
}

DecodeResult CloudEventsDecoder::DecodeBatch(std::string_view json) {
  DecodeResult out;
  element root;
  if (!ParseJson(impl_->parser, json, root, out)) return out;
  simdjson::dom::array array;
  if (root.get_array().get(array) != simdjson::SUCCESS) {
    out.errors.push_back(
        {-1, "$",
         fmt::format("a batch must be a JSON array of events, got {}",
                     JsonTypeName(root.type()))});
    return out;
  }
  if (array.size() == 0) {
    out.errors.push_back({-1, "$", "a batch must hold at least one event"});
    return out;
  }
  out.events.reserve(array.size());
  int index = 0;
  for (element e : array) {
    impl_->DecodeObject(e, Where{Mode::kBatch, index, {}}, out);
    ++index;
  }
  if (!out.errors.empty()) out.events.clear();
  return out;
}

DecodeResult CloudEventsDecoder::DecodeBinary(const Headers& headers,
                                              std::string_view body,
                                              Binding binding) {
  DecodeResult out;
  const std::string_view prefix = binding == Binding::kHttp ? "ce-" : "ce_";
  const Where where{Mode::kBinary, 0, prefix};
  Attrs attrs;
  for (const auto& [name, value] : headers) {
    std::string_view n = name;
    int a = -1;
    if (EqualsIgnoreCase(n, "content-type")) {
      a = kDatacontenttype;
    } else if (n.size() > prefix.size() &&
               EqualsIgnoreCase(n.substr(0, prefix.size()), prefix)) {
      n.remove_prefix(prefix.size());
      for (int i = 0; i < kAttrCount; ++i) {
        if (i != kData && i != kDatacontenttype &&
            EqualsIgnoreCase(n, kAttrNames[i])) {
          a = i;
          break;
        }
      }
    }
    if (a < 0 || attrs.Has(static_cast<Attr>(a))) continue;  // First wins.
    attrs.value[a] = value;
    attrs.present |= 1u << a;
  }
  element data;
  bool has_data = false;
  size_t begin = body.find_first_not_of(" \t\r\n");
  if (begin != std::string_view::npos) {
    if (!ParseJson(impl_->parser, body, data, out)) return out;
    has_data = true;
  }
  impl_->DecodeEvent(attrs, has_data ? &data : nullptr, where, true, out);
  if (!out.errors.empty()) out.events.clear();
  return out;
}

// ---------------------------------------------------------------------------
// Encoding.

namespace {

using Json = nlohmann::ordered_json;

void PutAmount(Json& j, const Money& m) {
  j["amount_minor"] = m.minor;
  j["currency"] = std::string(m.currency.code());
}

template <typename T>
void PutOpt(Json& j, const char* key, const std::optional<T>& v) {
  if (!v) return;
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, int64_t>) {
    j[key] = *v;
  } else {
    j[key] = v->value();
  }
}

Json DataJson(const EventData& data) {
  Json j = Json::object();
  std::visit(
      [&j](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, CallLogged>) {
          j["org"] = d.org.value();
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
          j["direction"] = std::string(ToString(d.direction));
          j["outcome"] = std::string(ToString(d.outcome));
          j["duration_s"] = d.duration_s;
          PutOpt(j, "deal", d.deal);
          PutOpt(j, "contact", d.contact);
          PutOpt(j, "call_id", d.call_id);
          PutOpt(j, "billsec_s", d.billsec_s);
        } else if constexpr (std::is_same_v<T, ProposalSent>) {
          j["org"] = d.org.value();
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
          j["kind"] = std::string(ToString(d.kind));
          PutOpt(j, "deal", d.deal);
          if (d.amount) PutAmount(j, *d.amount);
        } else if constexpr (std::is_same_v<T, ApplicationReceived>) {
          j["org"] = d.org.value();
          j["deal"] = d.deal.value();
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
          PutAmount(j, d.amount);
        } else if constexpr (std::is_same_v<T, InvoiceIssued>) {
          j["org"] = d.org.value();
          j["deal"] = d.deal.value();
          j["invoice"] = d.invoice.value();
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
          PutAmount(j, d.amount);
          if (d.due) j["due"] = FormatRfc3339(*d.due);
        } else if constexpr (std::is_same_v<T, InvoicePaid>) {
          j["org"] = d.org.value();
          j["deal"] = d.deal.value();
          j["invoice"] = d.invoice.value();
          PutAmount(j, d.amount);
          PutOpt(j, "manager", d.manager);
          PutOpt(j, "department", d.department);
        } else if constexpr (std::is_same_v<T, DealStageChanged>) {
          j["org"] = d.org.value();
          j["deal"] = d.deal.value();
          j["funnel"] = d.funnel.value();
          j["stage"] = d.stage.value();
          PutOpt(j, "manager", d.manager);
          PutOpt(j, "department", d.department);
          if (d.amount) PutAmount(j, *d.amount);
          PutOpt(j, "reason", d.reason);
          if (d.trigger) j["trigger"] = std::string(ToString(*d.trigger));
        } else if constexpr (std::is_same_v<T, DealClaimed>) {
          j["org"] = d.org.value();
          j["deal"] = d.deal.value();
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
        } else if constexpr (std::is_same_v<T, DealReassigned>) {
          j["org"] = d.org.value();
          j["deal"] = d.deal.value();
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
          PutOpt(j, "by", d.by);
        } else if constexpr (std::is_same_v<T, ManagerJoined>) {
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
          PutOpt(j, "name", d.name);
        } else if constexpr (std::is_same_v<T, ManagerDeparted>) {
          j["manager"] = d.manager.value();
          j["department"] = d.department.value();
          PutOpt(j, "reason", d.reason);
        }
      },
      data);
  return j;
}

Json StructuredJson(const Event& e) {
  Json j = Json::object();
  j["specversion"] = "1.0";
  j["id"] = e.id.value();
  j["source"] = e.source.value();
  j["type"] = std::string(e.type_name());
  j["time"] = FormatRfc3339(e.time);
  j["datacontenttype"] = "application/json";
  if (e.recorded_time.is_set()) {
    j["recordedtime"] = FormatRfc3339(e.recorded_time);
  }
  j["data"] = DataJson(e.data);
  return j;
}

// Never throws: invalid UTF-8 (possible only in events built in code, never
// in decoded ones) is replaced by U+FFFD.
std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string ToStructuredJson(const Event& event) {
  return Dump(StructuredJson(event));
}

std::string ToBatchJson(std::span<const Event> events) {
  Json j = Json::array();
  for (const Event& e : events) j.push_back(StructuredJson(e));
  return Dump(j);
}

std::pair<Headers, std::string> ToBinary(const Event& event, Binding binding) {
  const std::string p = binding == Binding::kHttp ? "ce-" : "ce_";
  Headers h;
  h.reserve(7);
  h.emplace_back(p + "specversion", "1.0");
  h.emplace_back(p + "id", event.id.value());
  h.emplace_back(p + "type", std::string(event.type_name()));
  h.emplace_back(p + "source", event.source.value());
  h.emplace_back(p + "time", FormatRfc3339(event.time));
  if (event.recorded_time.is_set()) {
    h.emplace_back(p + "recordedtime", FormatRfc3339(event.recorded_time));
  }
  h.emplace_back("content-type", "application/json");
  return {std::move(h), Dump(DataJson(event.data))};
}

}  // namespace voronka
