// RouteTable and request-target parsing: the part of HttpServer that is
// pure string work, in its own header so its rules are testable without
// sockets.
//
// A target "/v1/deals/d%2F1?stage=won&x=a+b" parses to the path
// "/v1/deals/d/1", the segments {"v1", "deals", "d/1"} (split before
// decoding, so an encoded '/' stays inside its segment) and the query
// {("stage","won"), ("x","a b")}. A pattern "/v1/deals/{deal}" then matches
// with deal = "d/1".
//
// Thread-safety: Add() while no Match() runs; Match() from any thread.
#ifndef VORONKA_SERVICES_HTTP_ROUTE_H_
#define VORONKA_SERVICES_HTTP_ROUTE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/http_server.h"

namespace voronka {

// Decodes %XX escapes (and '+' as a space if `plus_is_space`).
// InvalidArgument for a '%' not followed by two hex digits.
absl::StatusOr<std::string> PercentDecode(std::string_view s,
                                          bool plus_is_space);

struct ParsedTarget {
  std::string path;                   // Decoded.
  std::vector<std::string> segments;  // Decoded, split on '/'.
  HttpFields query;                   // Decoded, in order.
};

// Parses an origin-form request target ("/path?query"; a '#fragment' is
// dropped). InvalidArgument if it does not start with '/' or is badly
// percent-encoded.
absl::StatusOr<ParsedTarget> ParseTarget(std::string_view target);

class RouteTable {
 public:
  struct Match {
    const HttpHandler* handler = nullptr;  // Null: no route for this method.
    std::string_view pattern;              // Of the matched route.
    HttpFields params;
    // When handler is null: the methods routed for this path (405 if not
    // empty, 404 if empty), sorted.
    std::vector<std::string> allowed;
  };

  // See HttpServer::Route for the pattern rules and errors.
  absl::Status Add(std::string method, std::string pattern,
                   HttpHandler handler);

  // The route for `method` and the decoded path `segments`. Literal
  // segments win over {params} when both match.
  Match Find(std::string_view method,
             const std::vector<std::string>& segments) const;

 private:
  struct Segment {
    std::string text;  // Literal text, or the parameter's name.
    bool is_param = false;
  };
  struct Entry {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    HttpHandler handler;
    int literal_count = 0;
  };
  static bool Matches(const Entry& e, const std::vector<std::string>& segments,
                      HttpFields* params);

  std::vector<Entry> entries_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_HTTP_ROUTE_H_
