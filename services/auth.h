// Bearer-token authorization for the HTTP API. Tokens live in a YAML file
// (docs/auth.md) as SHA-256 hashes only: the file names each token and its
// roles, never the token itself.
//
//   absl::StatusOr<TokenStore> tokens = TokenStore::Load("tokens.yaml");
//   server.Route("POST", "/v1/events", [&](const HttpRequest& r) {
//     absl::StatusOr<std::string> who = tokens->Authorize(r, Role::kIngest);
//     if (!who.ok()) return AuthErrorResponse(who.status());
//     ...
//   });
//
// A presented token is hashed and compared with every stored hash in
// constant time. Tokens never appear in logs or in error messages; only a
// token's name does.
//
// Thread-safety: a loaded TokenStore is immutable; Authorize() may be called
// from any number of threads. To reload, load a new store and swap it in.
#ifndef VORONKA_SERVICES_AUTH_H_
#define VORONKA_SERVICES_AUTH_H_

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/http_server.h"

namespace voronka {

// What a token may do. kAdmin implies every other role.
enum class Role { kIngest, kViewer, kAuditor, kAdmin };

// "ingest", "viewer", "auditor", "admin".
std::string_view RoleName(Role role);
// InvalidArgument naming the known roles if `name` is none of them.
absl::StatusOr<Role> ParseRole(std::string_view name);

using Sha256Digest = std::array<unsigned char, 32>;

struct TokenEntry {
  std::string name;
  Sha256Digest sha256;
  std::vector<Role> roles;

  // True if the entry has `role` or kAdmin.
  bool Allows(Role role) const;
};

class TokenStore {
 public:
  // Reads and validates a token file. NotFound if it can not be read;
  // InvalidArgument naming the file, the key and the reason for a YAML
  // error, a missing field, an unknown role, a hash that is not 64 hex
  // digits, or a duplicate name or hash:
  //   "tokens.yaml: tokens[1].roles[0]: unknown role 'writer' (known: ...)"
  [[nodiscard]] static absl::StatusOr<TokenStore> Load(const std::string& path);
  // As Load, from YAML text; `source` names it in errors.
  [[nodiscard]] static absl::StatusOr<TokenStore> Parse(
      std::string_view yaml, std::string_view source);

  // The name of the token in the request's `Authorization: Bearer <token>`
  // header if it has `role`. Unauthenticated if the header is missing, is
  // not a bearer token, or the token is unknown; PermissionDenied (naming
  // the token and the role) if the token lacks the role.
  [[nodiscard]] absl::StatusOr<std::string> Authorize(
      const HttpRequest& request, Role role) const;
  // As Authorize, for a token taken from elsewhere.
  [[nodiscard]] absl::StatusOr<std::string> AuthorizeToken(
      std::string_view token, Role role) const;

  const std::vector<TokenEntry>& entries() const { return entries_; }

 private:
  std::vector<TokenEntry> entries_;
};

// The answer to a failed Authorize: 401 with `WWW-Authenticate: Bearer` for
// Unauthenticated, 403 for PermissionDenied, 500 for anything else; all as
// application/problem+json.
HttpResponse AuthErrorResponse(const absl::Status& status);

// SHA-256 of `data`, as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

// A new token: 32 bytes from OpenSSL's RAND_bytes, base64url without
// padding (43 characters). Internal if the random generator fails.
absl::StatusOr<std::string> GenerateToken();

// Adds an entry (name, SHA-256 hex of the token, roles) to the token file
// at `path`, creating it with mode 0600 if needed. The file is rewritten
// atomically (temporary file, then rename) with the old text kept as it is
// and the entry appended, and the result is validated before it replaces
// the old file. InvalidArgument for a bad or duplicate name, no roles, or
// an existing file that does not validate.
absl::Status AddTokenToFile(const std::string& path, std::string_view name,
                            const std::vector<Role>& roles,
                            std::string_view sha256_hex);

}  // namespace voronka

#endif  // VORONKA_SERVICES_AUTH_H_
