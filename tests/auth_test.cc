// Bearer tokens: the token file (valid and rejected), 401 versus 403, admin
// implying every role, hashes only on disk, and `voronka token add` / `list`
// run as an operator runs them.
#include "services/auth.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Tokens for the tests and what the file stores for them.
const std::string kIngestToken = "ingest-token-for-tests";
const std::string kAdminToken = "admin-token-for-tests";

std::string ValidFile() {
  return fmt::format(R"(# Voronka API tokens.
tokens:
  - name: crm-ingest
    sha256: {}
    roles: [ingest]
  - name: ops
    sha256: {}
    roles: [admin]
)",
                     Sha256Hex(kIngestToken), Sha256Hex(kAdminToken));
}

std::string WriteFile(const testing::TempDir& dir, const std::string& text) {
  std::string path = dir.Sub("tokens.yaml");
  std::ofstream(path) << text;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

HttpRequest WithAuthorization(const std::string& value) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/v1/x";
  r.headers.emplace_back("authorization", value);
  return r;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(TokenStoreTest, LoadsNamesHashesAndRoles) {
  testing::TempDir dir;
  absl::StatusOr<TokenStore> store =
      TokenStore::Load(WriteFile(dir, ValidFile()));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(store->entries().size(), 2u);
  EXPECT_EQ(store->entries()[0].name, "crm-ingest");
  EXPECT_EQ(store->entries()[0].roles, std::vector<Role>{Role::kIngest});
  EXPECT_EQ(store->entries()[1].roles, std::vector<Role>{Role::kAdmin});
}

TEST(TokenStoreTest, EmptyFileHasNoTokens) {
  absl::StatusOr<TokenStore> store = TokenStore::Parse("", "empty.yaml");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->AuthorizeToken("", Role::kViewer).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(TokenStoreTest, MissingFileIsNotFound) {
  absl::StatusOr<TokenStore> store =
      TokenStore::Load("/nonexistent/tokens.yaml");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(store.status()), HasSubstr("/nonexistent/tokens.yaml"));
}

struct RejectCase {
  std::string yaml;
  std::string expected;  // Substring of the error.
};

TEST(TokenStoreTest, RejectsBadFilesNamingFileKeyAndReason) {
  const std::string h = Sha256Hex("x");
  const std::vector<RejectCase> cases = {
      {fmt::format(
           "tokens:\n  - {{name: a, sha256: {}, roles: [ingest, writer]}}\n",
           h),
       "t.yaml: tokens[0].roles[1]: unknown role 'writer'"},
      {"tokens:\n  - {name: a, sha256: abc123, roles: [ingest]}\n",
       "t.yaml: tokens[0].sha256: not 64 hex digits"},
      {fmt::format("tokens:\n  - {{name: a, sha256: {}, roles: [viewer]}}\n"
                   "  - {{name: a, sha256: {}, roles: [viewer]}}\n",
                   h, Sha256Hex("y")),
       "t.yaml: tokens[1].name: duplicate name 'a' (also tokens[0])"},
      {fmt::format("tokens:\n  - {{name: a, sha256: {0}, roles: [viewer]}}\n"
                   "  - {{name: b, sha256: {0}, roles: [viewer]}}\n",
                   h),
       "t.yaml: tokens[1].sha256: the same token as tokens[0]"},
      {fmt::format("tokens:\n  - {{name: a, sha256: {}}}\n", h),
       "t.yaml: tokens[0]: 'roles' is missing"},
      {fmt::format("tokens:\n  - {{name: a, sha256: {}, roles: []}}\n", h),
       "t.yaml: tokens[0].roles: not a non-empty list"},
      {fmt::format("tokens:\n  - {{name: a, hash: {}, roles: [admin]}}\n", h),
       "t.yaml: tokens[0].hash: unknown key"},
      {"tokens: [", "t.yaml: line 1"},
      {"tokenz: []\n", "t.yaml: tokenz: unknown key"},
  };
  for (const RejectCase& c : cases) {
    absl::StatusOr<TokenStore> store = TokenStore::Parse(c.yaml, "t.yaml");
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument)
        << c.yaml;
    EXPECT_THAT(Message(store.status()), HasSubstr(c.expected)) << c.yaml;
  }
}

class AuthorizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TokenStore> store = TokenStore::Parse(ValidFile(), "t.yaml");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  TokenStore store_;
};

TEST_F(AuthorizeTest, TokenWithTheRoleYieldsItsName) {
  absl::StatusOr<std::string> who = store_.Authorize(
      WithAuthorization("Bearer " + kIngestToken), Role::kIngest);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(*who, "crm-ingest");
  // The scheme is case-insensitive.
  EXPECT_TRUE(
      store_
          .Authorize(WithAuthorization("bearer " + kIngestToken), Role::kIngest)
          .ok());
}

TEST_F(AuthorizeTest, MissingMalformedOrUnknownTokenIsUnauthenticated) {
  HttpRequest none;
  for (const HttpRequest& r :
       {none, WithAuthorization("Basic dXNlcjpwYXNz"),
        WithAuthorization("Bearer "), WithAuthorization("Bearer wrong-token"),
        WithAuthorization(kIngestToken)}) {
    absl::StatusOr<std::string> who = store_.Authorize(r, Role::kIngest);
    EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(Message(who.status()), Not(HasSubstr("wrong-token")));
    HttpResponse response = AuthErrorResponse(who.status());
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(response.content_type, "application/problem+json");
    ASSERT_EQ(response.headers.size(), 1u);
    EXPECT_EQ(response.headers[0].first, "WWW-Authenticate");
    EXPECT_THAT(response.headers[0].second, ::testing::StartsWith("Bearer"));
  }
}

TEST_F(AuthorizeTest, KnownTokenWithoutTheRoleIsPermissionDenied) {
  absl::StatusOr<std::string> who = store_.Authorize(
      WithAuthorization("Bearer " + kIngestToken), Role::kViewer);
  EXPECT_EQ(who.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(who.status()), HasSubstr("'crm-ingest'"));
  EXPECT_THAT(Message(who.status()), HasSubstr("viewer"));
  EXPECT_THAT(Message(who.status()), Not(HasSubstr(kIngestToken)));
  HttpResponse response = AuthErrorResponse(who.status());
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(nlohmann::json::parse(response.body)["status"], 403);
}

TEST_F(AuthorizeTest, AdminImpliesEveryRole) {
  for (Role role :
       {Role::kIngest, Role::kViewer, Role::kAuditor, Role::kAdmin}) {
    absl::StatusOr<std::string> who =
        store_.Authorize(WithAuthorization("Bearer " + kAdminToken), role);
    ASSERT_TRUE(who.ok()) << RoleName(role);
    EXPECT_EQ(*who, "ops");
  }
  EXPECT_EQ(store_.AuthorizeToken(kIngestToken, Role::kAdmin).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(AuthTest, Sha256HexAndGeneratedTokens) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  absl::StatusOr<std::string> a = GenerateToken();
  absl::StatusOr<std::string> b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 43u);  // 32 bytes, base64url without padding.
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                 "qrstuvwxyz0123456789-_"),
            std::string::npos);
}

testing::CommandResult Voronka(const std::vector<std::string>& args) {
  auto result =
      testing::RunCommand(VORONKA_BINARY, args, "", absl::Seconds(60));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : testing::CommandResult{};
}

TEST(TokenCommandTest, AddPrintsTheTokenOnceAndStoresOnlyItsHash) {
  testing::TempDir dir;
  const std::string file = dir.Sub("tokens.yaml");
  testing::CommandResult add =
      Voronka({"token", "add", "--file", file, "--name", "crm", "--roles",
               "ingest,viewer"});
  ASSERT_EQ(add.exit_code, 0);
  std::vector<std::string> lines =
      absl::StrSplit(add.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u);
  const std::string token = lines[0];

  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  const std::string on_disk = ReadFile(file);
  EXPECT_THAT(on_disk, Not(HasSubstr(token)));
  EXPECT_THAT(on_disk, HasSubstr(Sha256Hex(token)));

  ASSERT_EQ(Voronka({"token", "add", "--file", file, "--name", "ops", "--roles",
                     "admin"})
                .exit_code,
            0);
  // A second token with the same name, or an unknown role, is refused.
  EXPECT_EQ(Voronka({"token", "add", "--file", file, "--name", "crm", "--roles",
                     "viewer"})
                .exit_code,
            2);
  EXPECT_EQ(Voronka({"token", "add", "--file", file, "--name", "x", "--roles",
                     "writer"})
                .exit_code,
            2);

  absl::StatusOr<TokenStore> store = TokenStore::Load(file);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(store->entries().size(), 2u);
  absl::StatusOr<std::string> who =
      store->Authorize(WithAuthorization("Bearer " + token), Role::kViewer);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(*who, "crm");
  EXPECT_EQ(
      store->Authorize(WithAuthorization("Bearer " + token), Role::kAuditor)
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);

  testing::CommandResult list = Voronka({"token", "list", "--file", file});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.out, "crm\tingest,viewer\nops\tadmin\n");
}

TEST(TokenCommandTest, AddKeepsCommentsOfAnExistingFile) {
  testing::TempDir dir;
  const std::string file = WriteFile(dir, ValidFile());
  ASSERT_EQ(Voronka({"token", "add", "--file", file, "--name", "auditor-1",
                     "--roles", "auditor"})
                .exit_code,
            0);
  const std::string text = ReadFile(file);
  EXPECT_THAT(text, ::testing::StartsWith("# Voronka API tokens.\n"));
  absl::StatusOr<TokenStore> store = TokenStore::Load(file);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->entries().size(), 3u);
  EXPECT_EQ(store->entries()[2].name, "auditor-1");
}

}  // namespace
}  // namespace voronka
