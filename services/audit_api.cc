#include "services/audit_api.h"

#include <charconv>
#include <memory>
#include <string>
#include <utility>

#include "events/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "services/audit.h"
#include "services/audit_format.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {

using json = nlohmann::json;

constexpr size_t kDefaultRows = 1000;
constexpr size_t kMaxRows = 10000;

HttpResponse Error(const absl::Status& status) {
  const std::string detail(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ProblemResponse(400, "Bad Request", detail);
    case absl::StatusCode::kNotFound:
      return ProblemResponse(404, "Not Found", detail);
    case absl::StatusCode::kUnavailable: {
      HttpResponse r = ProblemResponse(503, "Service Unavailable", detail);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    default:
      spdlog::error("audit: {}", status.ToString());
      return ProblemResponse(500, "Internal Server Error", detail);
  }
}

absl::StatusOr<std::optional<Timestamp>> TimeParam(const HttpRequest& r,
                                                   std::string_view name) {
  std::optional<std::string_view> v = r.Query(name);
  if (!v) return std::optional<Timestamp>();
  absl::StatusOr<Timestamp> t = ParseRfc3339(*v);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: \"{}\" is not an RFC 3339 date-time", name, *v));
  }
  return *t;
}

absl::StatusOr<LogPosition> PositionParam(std::string_view v) {
  const size_t colon = v.find(':');
  LogPosition p;
  int64_t partition = -1;
  if (colon != std::string_view::npos) {
    auto [e1, ec1] = std::from_chars(v.data(), v.data() + colon, partition);
    auto [e2, ec2] =
        std::from_chars(v.data() + colon + 1, v.data() + v.size(), p.offset);
    if (ec1 == std::errc() && ec2 == std::errc() && e1 == v.data() + colon &&
        e2 == v.data() + v.size() && partition >= 0) {
      p.partition = static_cast<int32_t>(partition);
      return p;
    }
  }
  return absl::InvalidArgumentError(
      fmt::format("after: \"{}\" is not PARTITION:OFFSET", v));
}

class Api : public std::enable_shared_from_this<Api> {
 public:
  explicit Api(AuditApiOptions o) : o_(std::move(o)) {}

  absl::Status Register(HttpServer& server) {
    VORONKA_RETURN_IF_ERROR(
        Add(server, "/v1/audit/managers", Role::kAuditor, &Api::Managers));
    VORONKA_RETURN_IF_ERROR(Add(server, "/v1/audit/managers/{manager}/history",
                                Role::kAuditor, &Api::History));
    VORONKA_RETURN_IF_ERROR(Add(server, "/v1/audit/managers/{manager}/deals",
                                Role::kAuditor, &Api::Deals));
    VORONKA_RETURN_IF_ERROR(Add(server, "/v1/audit/managers/{manager}/book",
                                Role::kAuditor, &Api::Book));
    VORONKA_RETURN_IF_ERROR(Add(server, "/v1/audit/managers/{manager}/verify",
                                Role::kAuditor, &Api::Verify));
    return Add(server, "/v1/audit/access", Role::kAdmin, &Api::Access);
  }

 private:
  using Handler = absl::StatusOr<json> (Api::*)(const HttpRequest&,
                                                AuditReader&,
                                                const std::string& who);

  absl::Status Add(HttpServer& server, const std::string& pattern, Role role,
                   Handler handler) {
    return server.Route(
        "GET", pattern,
        [self = shared_from_this(), role, handler](const HttpRequest& r) {
          std::string who = "insecure-dev";
          if (self->o_.tokens != nullptr) {
            absl::StatusOr<std::string> name =
                self->o_.tokens->Authorize(r, role);
            if (!name.ok()) return AuthErrorResponse(name.status());
            who = *name;
          }
          std::shared_ptr<const ProjectionStore> store =
              self->o_.audit ? self->o_.audit() : nullptr;
          if (store == nullptr) {
            return Error(absl::UnavailableError(
                "the audit index is not open yet (or not served here)"));
          }
          std::shared_ptr<const ProjectionStore> indicators =
              self->o_.indicators ? self->o_.indicators() : nullptr;
          AuditReader reader(*store, *self->o_.log, *self->o_.config,
                             indicators.get());
          absl::StatusOr<json> body =
              ((*self).*handler)(r, reader, "token:" + who);
          if (!body.ok()) return Error(body.status());
          return HttpResponse::Json(200, *body);
        });
  }

  absl::Status Record(const std::string& who, const HttpRequest& r,
                      std::string what, std::string range) {
    return o_.access->Record({.who = who,
                              .via = "api",
                              .what = std::move(what),
                              .manager = std::string(r.PathParam("manager")),
                              .range = std::move(range)});
  }

  absl::StatusOr<json> Managers(const HttpRequest&, AuditReader& reader,
                                const std::string&) {
    VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> m, reader.Managers());
    return json{{"managers", m}};
  }

  absl::StatusOr<json> History(const HttpRequest& r, AuditReader& reader,
                               const std::string& who) {
    HistoryQuery q{.manager = std::string(r.PathParam("manager")),
                   .limit = kDefaultRows};
    VORONKA_ASSIGN_OR_RETURN(q.from, TimeParam(r, "from"));
    VORONKA_ASSIGN_OR_RETURN(q.to, TimeParam(r, "to"));
    if (auto after = r.Query("after")) {
      VORONKA_ASSIGN_OR_RETURN(q.after, PositionParam(*after));
    }
    if (auto limit = r.Query("limit")) {
      size_t n = 0;
      auto [end, ec] =
          std::from_chars(limit->data(), limit->data() + limit->size(), n);
      if (ec != std::errc() || end != limit->data() + limit->size() || n < 1 ||
          n > kMaxRows) {
        return absl::InvalidArgumentError(
            fmt::format("limit: \"{}\" is not in [1, {}]", *limit, kMaxRows));
      }
      q.limit = n;
    }
    VORONKA_RETURN_IF_ERROR(Record(
        who, r, "history",
        fmt::format("{}..{}{}", r.Query("from").value_or(""),
                    r.Query("to").value_or(""),
                    q.after ? fmt::format(" after {}:{}", q.after->partition,
                                          q.after->offset)
                            : "")));
    VORONKA_ASSIGN_OR_RETURN(ManagerDeals deals, reader.Deals(q.manager));
    q.deals = &deals;
    std::optional<LogPosition> next;
    q.next_after = &next;
    const OutcomeIndex outcomes = IndexOutcomes(deals);
    json rows = json::array();
    VORONKA_RETURN_IF_ERROR(reader.History(q, [&](const HistoryRow& row) {
      rows.push_back(HistoryRowJson(row, outcomes));
      return absl::OkStatus();
    }));
    return json{{"manager", q.manager},
                {"rows", rows},
                {"next_after", next ? json(fmt::format("{}:{}", next->partition,
                                                       next->offset))
                                    : json()}};
  }

  absl::StatusOr<json> Deals(const HttpRequest& r, AuditReader& reader,
                             const std::string& who) {
    VORONKA_RETURN_IF_ERROR(Record(who, r, "deals", ""));
    VORONKA_ASSIGN_OR_RETURN(ManagerDeals deals,
                             reader.Deals(std::string(r.PathParam("manager"))));
    json out = DealsJson(deals);
    out["manager"] = std::string(r.PathParam("manager"));
    return out;
  }

  absl::StatusOr<json> Book(const HttpRequest& r, AuditReader& reader,
                            const std::string& who) {
    VORONKA_ASSIGN_OR_RETURN(std::optional<Timestamp> as_of,
                             TimeParam(r, "as_of"));
    if (!as_of) as_of = Timestamp::Now();
    VORONKA_RETURN_IF_ERROR(
        Record(who, r, "book", "as of " + FormatRfc3339(*as_of)));
    const std::string manager(r.PathParam("manager"));
    VORONKA_ASSIGN_OR_RETURN(std::vector<BookEntry> book,
                             reader.Book(manager, *as_of));
    return BookJson(manager, *as_of, book);
  }

  absl::StatusOr<json> Verify(const HttpRequest& r, AuditReader& reader,
                              const std::string& who) {
    VORONKA_RETURN_IF_ERROR(Record(who, r, "verify", ""));
    const std::string manager(r.PathParam("manager"));
    VORONKA_ASSIGN_OR_RETURN(VerifyReport report, reader.Verify(manager));
    return VerifyJson(manager, report);
  }

  absl::StatusOr<json> Access(const HttpRequest&, AuditReader&,
                              const std::string&) {
    VORONKA_ASSIGN_OR_RETURN(std::vector<AuditAccess> all, o_.access->List());
    json out = json::array();
    for (const AuditAccess& a : all) {
      out.push_back({{"time", FormatRfc3339(a.time)},
                     {"who", a.who},
                     {"via", a.via},
                     {"what", a.what},
                     {"manager", a.manager},
                     {"range", a.range}});
    }
    return json{{"accesses", out}};
  }

  AuditApiOptions o_;
};

}  // namespace

absl::Status RegisterAuditApi(HttpServer& server, AuditApiOptions options) {
  if (options.config == nullptr || options.log == nullptr ||
      options.access == nullptr) {
    return absl::InvalidArgumentError(
        "RegisterAuditApi: config, log and access log are required");
  }
  return std::make_shared<Api>(std::move(options))->Register(server);
}

}  // namespace voronka
