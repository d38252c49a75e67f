#include "events/codec.h"

#include <istream>
#include <ostream>
#include <streambuf>

#include "cereal/archives/portable_binary.hpp"
#include "cereal/cereal.hpp"
#include "cereal/types/optional.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/variant.hpp"
#include "fmt/format.h"

// Longest string a record may hold. Ids are at most 128 characters and free
// text (reasons, names) is short; the bound keeps a corrupt length field from
// making the decoder allocate gigabytes before it notices.
constexpr uint64_t kMaxStringBytes = 64 * 1024;

namespace cereal {
// Preferred over cereal's generic string loader for our archive type.
inline void load(PortableBinaryInputArchive& ar, std::string& s) {
  size_type size = 0;
  ar(make_size_tag(size));
  if (size > kMaxStringBytes) {
    throw Exception("string length " + std::to_string(size) +
                    " exceeds the record limit");
  }
  s.resize(static_cast<size_t>(size));
  ar(binary_data(s.data(), static_cast<size_t>(size)));
}
}  // namespace cereal

namespace voronka {

// One serialize() per struct. `version` is the class version stored in the
// record; when a field is added, bump CEREAL_CLASS_VERSION below and read the
// new field only `if (version >= N)`, so older records keep decoding.
template <class A>
void serialize(A& ar, CallLogged& e, std::uint32_t /*version*/) {
  ar(e.org, e.manager, e.department, e.direction, e.outcome, e.duration_s,
     e.deal, e.contact, e.call_id, e.billsec_s);
}
template <class A>
void serialize(A& ar, ProposalSent& e, std::uint32_t /*version*/) {
  ar(e.org, e.manager, e.department, e.kind, e.deal, e.amount);
}
template <class A>
void serialize(A& ar, ApplicationReceived& e, std::uint32_t /*version*/) {
  ar(e.org, e.deal, e.manager, e.department, e.amount);
}
template <class A>
void serialize(A& ar, InvoiceIssued& e, std::uint32_t /*version*/) {
  ar(e.org, e.deal, e.invoice, e.manager, e.department, e.amount, e.due);
}
template <class A>
void serialize(A& ar, InvoicePaid& e, std::uint32_t /*version*/) {
  ar(e.org, e.deal, e.invoice, e.amount, e.manager, e.department);
}
template <class A>
void serialize(A& ar, DealStageChanged& e, std::uint32_t /*version*/) {
  ar(e.org, e.deal, e.funnel, e.stage, e.manager, e.department, e.amount,
     e.reason, e.trigger);
}
template <class A>
void serialize(A& ar, DealClaimed& e, std::uint32_t /*version*/) {
  ar(e.org, e.deal, e.manager, e.department);
}
template <class A>
void serialize(A& ar, DealReassigned& e, std::uint32_t /*version*/) {
  ar(e.org, e.deal, e.manager, e.department, e.by);
}
template <class A>
void serialize(A& ar, ManagerJoined& e, std::uint32_t /*version*/) {
  ar(e.manager, e.department, e.name);
}
template <class A>
void serialize(A& ar, ManagerDeparted& e, std::uint32_t /*version*/) {
  ar(e.manager, e.department, e.reason);
}
template <class A>
void serialize(A& ar, Event& e, std::uint32_t /*version*/) {
  ar(e.id, e.source, e.time, e.recorded_time, e.data);
}

}  // namespace voronka

CEREAL_CLASS_VERSION(voronka::CallLogged, 1);
CEREAL_CLASS_VERSION(voronka::ProposalSent, 1);
CEREAL_CLASS_VERSION(voronka::ApplicationReceived, 1);
CEREAL_CLASS_VERSION(voronka::InvoiceIssued, 1);
CEREAL_CLASS_VERSION(voronka::InvoicePaid, 1);
CEREAL_CLASS_VERSION(voronka::DealStageChanged, 1);
CEREAL_CLASS_VERSION(voronka::DealClaimed, 1);
CEREAL_CLASS_VERSION(voronka::DealReassigned, 1);
CEREAL_CLASS_VERSION(voronka::ManagerJoined, 1);
CEREAL_CLASS_VERSION(voronka::ManagerDeparted, 1);
CEREAL_CLASS_VERSION(voronka::Event, 1);

namespace voronka {
namespace {

// A read-only streambuf over caller-owned bytes (no copy).
class SpanBuf : public std::streambuf {
 public:
  explicit SpanBuf(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());
    setg(p, p, p + bytes.size());
  }
};

// An append-only streambuf into a std::string.
class StringSink : public std::streambuf {
 public:
  explicit StringSink(std::string* out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_->append(s, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_->push_back(static_cast<char>(c));
    return c;
  }

 private:
  std::string* out_;
};

// cereal reads enums as their underlying integer without a range check.
absl::Status CheckEnums(const Event& e) {
  auto bad = [](std::string_view field, int v) {
    return absl::DataLossError(
        fmt::format("record holds {} = {}, not a known value", field, v));
  };
  if (const auto* c = e.get_if<CallLogged>()) {
    if (static_cast<int>(c->direction) > 1)
      return bad("direction", static_cast<int>(c->direction));
    if (static_cast<int>(c->outcome) > 4)
      return bad("outcome", static_cast<int>(c->outcome));
  } else if (const auto* p = e.get_if<ProposalSent>()) {
    if (static_cast<int>(p->kind) > 1)
      return bad("kind", static_cast<int>(p->kind));
  } else if (const auto* s = e.get_if<DealStageChanged>()) {
    if (s->trigger && static_cast<int>(*s->trigger) > 2)
      return bad("trigger", static_cast<int>(*s->trigger));
  }
  return absl::OkStatus();
}

}  // namespace

void EncodeEventTo(const Event& event, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kRecordFormatV1));
  StringSink sink(out);
  std::ostream os(&sink);
  cereal::PortableBinaryOutputArchive ar(os);
  ar(const_cast<Event&>(event));
}

std::string EncodeEvent(const Event& event) {
  std::string out;
  out.reserve(192);
  EncodeEventTo(event, &out);
  return out;
}

std::optional<size_t> RecordedTimeOffset(std::string_view record) {
  // tag, endianness, Event class version, id and source as u64 length +
  // bytes, time: docs/events.md "Binary record format".
  size_t at = 1 + 1 + 4;
  for (int field = 0; field < 2; ++field) {
    if (record.size() < at + 8) return std::nullopt;
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) {
      length = (length << 8) | static_cast<uint8_t>(record[at + i]);
    }
    if (length > record.size()) return std::nullopt;
    at += 8 + length;
  }
  at += 8;  // time
  if (record.size() < at + 8) return std::nullopt;
  return at;
}

absl::StatusOr<Event> DecodeEvent(std::string_view bytes) {
  if (bytes.empty()) return absl::DataLossError("empty record");
  if (static_cast<uint8_t>(bytes[0]) != kRecordFormatV1) {
    return absl::DataLossError(fmt::format("unknown record format tag {}",
                                           static_cast<int>(bytes[0] & 0xff)));
  }
  SpanBuf buf(bytes.substr(1));
  std::istream is(&buf);
  Event event;
  try {
    cereal::PortableBinaryInputArchive ar(is);
    ar(event);
  } catch (const std::exception& e) {
    return absl::DataLossError(
        fmt::format("record does not decode: {}", e.what()));
  }
  if (is.rdbuf()->in_avail() != 0) {
    return absl::DataLossError(
        fmt::format("record has {} trailing bytes", is.rdbuf()->in_avail()));
  }
  if (absl::Status s = CheckEnums(event); !s.ok()) return s;
  return event;
}

}  // namespace voronka
