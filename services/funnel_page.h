// The live funnel page: GET /funnel, an HTML page for sales leads that shows
// the funnel as it happens, read from the query API (docs/api.md, "The
// funnel page"). QueryApiServer serves it wherever it serves a read model.
//
//   HttpServer server;
//   RegisterQueryApi(server, {...});
//   RegisterFunnelPage(server);
//   // A browser opens http://127.0.0.1:8480/funnel#token=VIEWER_TOKEN
//
// The page is plain HTML, JavaScript and CSS (services/funnel_page/),
// compiled into the binary at build time (services/embed_files.cmake), so
// the process needs no files on disk and no CDN. Its scripts call the /v1
// routes from the browser: geometry, conversion, stages, forecast, queues
// and the indicators of every department, again every few seconds.
//
// Routes:
//   GET /funnel          index.html
//   GET /funnel/{file}   the page's other files (app.js, style.css); 404
//                        problem for a name that is not one of them
// These routes need no token: they hold no data. The page's own API calls
// need the viewer role as any other client; the page takes the token from
// the URL fragment (#token=...), which browsers never send to the server.
// Responses carry a Content-Security-Policy that lets the page load only
// from its own origin.
//
// Thread-safety: the handlers read constant data and may run concurrently.
#ifndef VORONKA_SERVICES_FUNNEL_PAGE_H_
#define VORONKA_SERVICES_FUNNEL_PAGE_H_

#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "services/http_server.h"

namespace voronka {

// One file compiled into the binary.
struct EmbeddedFile {
  std::string_view name;          // "app.js", relative to funnel_page/.
  std::string_view content_type;  // "text/javascript; charset=utf-8".
  std::string_view bytes;
};

// The files of services/funnel_page/, in name order (generated at build
// time into funnel_page_files.cc).
std::span<const EmbeddedFile> FunnelPageFiles();

// Adds the routes above. The server's errors if a route is already taken
// or the server already started.
absl::Status RegisterFunnelPage(HttpServer& server);

}  // namespace voronka

#endif  // VORONKA_SERVICES_FUNNEL_PAGE_H_
