#include "services/funnel_page.h"

#include <string>

#include "events/status.h"
#include "fmt/format.h"

namespace voronka {
namespace {

// Only the page's own origin: its files and the /v1 API. No inline script,
// no inline style, no frames around it.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

const EmbeddedFile* Find(std::string_view name) {
  for (const EmbeddedFile& f : FunnelPageFiles()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

HttpResponse FileResponse(const EmbeddedFile& f) {
  HttpResponse r{.status = 200,
                 .content_type = std::string(f.content_type),
                 .body = std::string(f.bytes)};
  // Revalidated on every load, so that a new binary's page is seen at once.
  r.headers = {{"Cache-Control", "no-cache"},
               {"Content-Security-Policy", kContentSecurityPolicy},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

}  // namespace

absl::Status RegisterFunnelPage(HttpServer& server) {
  const EmbeddedFile* index = Find("index.html");
  if (index == nullptr) {
    return absl::InternalError("the funnel page has no index.html");
  }
  VORONKA_RETURN_IF_ERROR(server.Route(
      "GET", "/funnel",
      [index](const HttpRequest&) { return FileResponse(*index); }));
  return server.Route("GET", "/funnel/{file}", [](const HttpRequest& r) {
    const EmbeddedFile* f = Find(r.PathParam("file"));
    if (f == nullptr) {
      return ProblemResponse(404, "Not Found",
                             fmt::format("the funnel page has no file \"{}\"",
                                         r.PathParam("file")));
    }
    return FileResponse(*f);
  });
}

}  // namespace voronka
