#include "services/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "events/status.h"
#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace voronka {
namespace {

constexpr std::string_view kKnownRoles = "ingest, viewer, auditor, admin";

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

bool ParseHexDigest(std::string_view hex, Sha256Digest* out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (char c : hex.substr(2 * i, 2)) {
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return false;
    }
    (*out)[i] = static_cast<unsigned char>(v);
  }
  return true;
}

Sha256Digest Digest(std::string_view data) {
  Sha256Digest d{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

bool IsValidName(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
         });
}

absl::Status Invalid(std::string_view source, std::string_view key,
                     std::string_view reason) {
  return absl::InvalidArgumentError(
      fmt::format("{}: {}: {}", source, key, reason));
}

absl::StatusOr<std::string> Scalar(const YAML::Node& map, const char* key,
                                   std::string_view source,
                                   const std::string& path) {
  const YAML::Node& cmap = map;
  YAML::Node v = cmap[key];
  if (!v) return Invalid(source, path, fmt::format("'{}' is missing", key));
  if (!v.IsScalar()) {
    return Invalid(source, fmt::format("{}.{}", path, key), "not a string");
  }
  return v.as<std::string>();
}

absl::StatusOr<TokenEntry> ParseEntry(const YAML::Node& node,
                                      std::string_view source,
                                      const std::string& path) {
  if (!node.IsMap()) return Invalid(source, path, "not a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (key != "name" && key != "sha256" && key != "roles") {
      return Invalid(source, fmt::format("{}.{}", path, key),
                     "unknown key (expected name, sha256, roles)");
    }
  }
  TokenEntry entry;
  VORONKA_ASSIGN_OR_RETURN(entry.name, Scalar(node, "name", source, path));
  if (!IsValidName(entry.name)) {
    return Invalid(source, path + ".name",
                   fmt::format("'{}' is not a name of 1 to 64 letters, digits, "
                               "'-', '_' or '.'",
                               entry.name));
  }
  VORONKA_ASSIGN_OR_RETURN(std::string hex,
                           Scalar(node, "sha256", source, path));
  if (!ParseHexDigest(hex, &entry.sha256)) {
    return Invalid(source, path + ".sha256",
                   "not 64 hex digits (the SHA-256 of the token)");
  }
  const YAML::Node& cnode = node;
  YAML::Node roles = cnode["roles"];
  if (!roles) return Invalid(source, path, "'roles' is missing");
  if (!roles.IsSequence() || roles.size() == 0) {
    return Invalid(source, path + ".roles", "not a non-empty list of roles");
  }
  for (size_t i = 0; i < roles.size(); ++i) {
    std::string key = fmt::format("{}.roles[{}]", path, i);
    if (!roles[i].IsScalar()) return Invalid(source, key, "not a role name");
    absl::StatusOr<Role> role = ParseRole(roles[i].as<std::string>());
    if (!role.ok()) return Invalid(source, key, MessageOf(role.status()));
    entry.roles.push_back(*role);
  }
  return entry;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kIngest:
      return "ingest";
    case Role::kViewer:
      return "viewer";
    case Role::kAuditor:
      return "auditor";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kIngest, Role::kViewer, Role::kAuditor, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return absl::InvalidArgumentError(
      fmt::format("unknown role '{}' (known: {})", name, kKnownRoles));
}

bool TokenEntry::Allows(Role role) const {
  return std::any_of(roles.begin(), roles.end(),
                     [role](Role r) { return r == role || r == Role::kAdmin; });
}

absl::StatusOr<TokenStore> TokenStore::Load(const std::string& path) {
  VORONKA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

absl::StatusOr<TokenStore> TokenStore::Parse(std::string_view yaml,
                                             std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}: line {}, column {}: {}",
                                                  source, e.mark.line + 1,
                                                  e.mark.column + 1, e.msg));
  }
  TokenStore store;
  if (root.IsNull()) return store;  // An empty file: no tokens.
  if (!root.IsMap()) return Invalid(source, "(top level)", "not a mapping");
  for (const auto& kv : root) {
    if (kv.first.as<std::string>() != "tokens") {
      return Invalid(source, kv.first.as<std::string>(),
                     "unknown key (expected tokens)");
    }
  }
  const YAML::Node& croot = root;
  YAML::Node tokens = croot["tokens"];
  if (!tokens || tokens.IsNull()) return store;
  if (!tokens.IsSequence()) return Invalid(source, "tokens", "not a list");
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string path = fmt::format("tokens[{}]", i);
    VORONKA_ASSIGN_OR_RETURN(TokenEntry entry,
                             ParseEntry(tokens[i], source, path));
    for (size_t j = 0; j < store.entries_.size(); ++j) {
      const TokenEntry& other = store.entries_[j];
      if (other.name == entry.name) {
        return Invalid(source, path + ".name",
                       fmt::format("duplicate name '{}' (also tokens[{}])",
                                   entry.name, j));
      }
      if (other.sha256 == entry.sha256) {
        return Invalid(
            source, path + ".sha256",
            fmt::format("the same token as tokens[{}] ('{}')", j, other.name));
      }
    }
    store.entries_.push_back(std::move(entry));
  }
  return store;
}

absl::StatusOr<std::string> TokenStore::Authorize(const HttpRequest& request,
                                                  Role role) const {
  std::optional<std::string_view> header = request.Header("Authorization");
  if (!header) {
    return absl::UnauthenticatedError(
        "missing bearer token (Authorization: Bearer <token>)");
  }
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  bool is_bearer =
      value.size() > kScheme.size() &&
      std::equal(kScheme.begin(), kScheme.end(), value.begin(),
                 [](char a, char b) {
                   return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
                 });
  if (!is_bearer) {
    return absl::UnauthenticatedError(
        "the Authorization header does not carry a bearer token");
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return AuthorizeToken(value, role);
}

absl::StatusOr<std::string> TokenStore::AuthorizeToken(std::string_view token,
                                                       Role role) const {
  const Sha256Digest digest = Digest(token);
  // Every entry is compared, in constant time, whether or not one matched.
  const TokenEntry* match = nullptr;
  for (const TokenEntry& entry : entries_) {
    bool equal =
        CRYPTO_memcmp(digest.data(), entry.sha256.data(), digest.size()) == 0;
    if (equal) match = &entry;
  }
  if (token.empty() || match == nullptr) {
    return absl::UnauthenticatedError("the bearer token is not valid");
  }
  if (!match->Allows(role)) {
    return absl::PermissionDeniedError(fmt::format(
        "token '{}' does not have the {} role", match->name, RoleName(role)));
  }
  return match->name;
}

HttpResponse AuthErrorResponse(const absl::Status& status) {
  std::string_view detail = MessageOf(status);
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated: {
      HttpResponse r = ProblemResponse(401, "Unauthorized", detail);
      r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="voronka")");
      return r;
    }
    case absl::StatusCode::kPermissionDenied:
      return ProblemResponse(403, "Forbidden", detail);
    default:
      return ProblemResponse(500, "Internal Server Error",
                             "authorization failed");
  }
}

std::string Sha256Hex(std::string_view data) {
  Sha256Digest d = Digest(data);
  return Hex(d.data(), d.size());
}

absl::StatusOr<std::string> GenerateToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("the random generator failed");
  }
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, bytes, sizeof(bytes));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  std::string token(reinterpret_cast<char*>(b64), n);
  OPENSSL_cleanse(b64, sizeof(b64));
  for (char& c : token) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!token.empty() && token.back() == '=') token.pop_back();
  return token;
}

absl::Status AddTokenToFile(const std::string& path, std::string_view name,
                            const std::vector<Role>& roles,
                            std::string_view sha256_hex) {
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(fmt::format(
        "'{}' is not a name of 1 to 64 letters, digits, '-', '_' or '.'",
        name));
  }
  if (roles.empty()) return absl::InvalidArgumentError("a token needs roles");
  std::string old_text;
  size_t old_count = 0;
  if (access(path.c_str(), F_OK) == 0) {
    VORONKA_ASSIGN_OR_RETURN(old_text, ReadFile(path));
    VORONKA_ASSIGN_OR_RETURN(TokenStore old, TokenStore::Parse(old_text, path));
    for (const TokenEntry& e : old.entries()) {
      if (e.name == name) {
        return absl::InvalidArgumentError(
            fmt::format("{}: a token named '{}' already exists", path, name));
      }
    }
    old_count = old.entries().size();
  }
  if (!old_text.empty() && old_text.back() != '\n') old_text += '\n';
  if (old_text.find("tokens:") == std::string::npos) old_text += "tokens:\n";
  std::vector<std::string_view> role_names;
  for (Role r : roles) role_names.push_back(RoleName(r));

  // The entry in the indentation of the existing list (2 or 0 spaces).
  std::string text;
  for (std::string_view indent : {"  ", ""}) {
    std::string candidate =
        old_text + fmt::format(
                       "{0}- name: \"{1}\"\n{0}  sha256: {2}\n"
                       "{0}  roles: [{3}]\n",
                       indent, name, sha256_hex, fmt::join(role_names, ", "));
    absl::StatusOr<TokenStore> check = TokenStore::Parse(candidate, path);
    if (check.ok() && check->entries().size() == old_count + 1) {
      text = std::move(candidate);
      break;
    }
    if (!check.ok() &&
        check.status().message().find("sha256") != absl::string_view::npos) {
      return check.status();  // A bad or duplicate hash.
    }
  }
  if (text.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: cannot append to it; 'tokens' must be a block list", path));
  }

  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
  }
  bool ok = fchmod(fd, 0600) == 0 &&
            write(fd, text.data(), text.size()) ==
                static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    unlink(tmp.c_str());
    return absl::UnavailableError(
        fmt::format("{}: cannot write: {}", path, std::strerror(saved)));
  }
  return absl::OkStatus();
}

}  // namespace voronka
