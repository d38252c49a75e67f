// HttpRequest lookups, HttpResponse::Json and ProblemResponse.
#include <algorithm>

#include "services/http_server.h"

namespace voronka {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return Lower(x) == Lower(y); });
}

}  // namespace

std::optional<std::string_view> HttpRequest::Header(
    std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::Query(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpRequest::QueryAll(
    std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& [k, v] : query) {
    if (k == key) values.push_back(v);
  }
  return values;
}

std::string_view HttpRequest::PathParam(std::string_view name) const {
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return {};
}

HttpResponse HttpResponse::Json(int status, const nlohmann::json& body) {
  return HttpResponse{.status = status,
                      .content_type = "application/json",
                      .body = body.dump()};
}

HttpResponse ProblemResponse(int status, std::string_view title,
                             std::string_view detail,
                             const nlohmann::json& extensions) {
  nlohmann::json problem = {{"type", "about:blank"},
                            {"title", title},
                            {"status", status},
                            {"detail", detail}};
  if (extensions.is_object()) {
    for (const auto& [key, value] : extensions.items()) {
      if (!problem.contains(key)) problem[key] = value;
    }
  }
  return HttpResponse{
      .status = status,
      .content_type = "application/problem+json",
      // Invalid UTF-8 in a detail (an echoed path) is replaced, not thrown.
      .body = problem.dump(-1, ' ', false,
                           nlohmann::json::error_handler_t::replace)};
}

}  // namespace voronka
