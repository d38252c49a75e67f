// `voronka token`: manage the bearer-token file of the HTTP API
// (docs/auth.md).
//
//   voronka token add  --file tokens.yaml --name crm-ingest --roles ingest
//   voronka token list --file tokens.yaml
//
// `add` prints the new token once, alone on stdout, and stores only its
// SHA-256; `list` prints names and roles, never hashes.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "events/status.h"
#include "fmt/format.h"
#include "services/auth.h"
#include "services/commands.h"

namespace voronka {
namespace {

struct TokenFlags {
  std::string file;
  std::string name;
  std::string roles;
};

absl::Status Add(const TokenFlags& flags) {
  std::vector<Role> roles;
  for (absl::string_view part : absl::StrSplit(flags.roles, ',')) {
    std::string name(part.data(), part.size());
    if (name.empty()) continue;
    VORONKA_ASSIGN_OR_RETURN(Role role, ParseRole(name));
    roles.push_back(role);
  }
  if (roles.empty()) {
    return absl::InvalidArgumentError("--roles names no role");
  }
  VORONKA_ASSIGN_OR_RETURN(std::string token, GenerateToken());
  VORONKA_RETURN_IF_ERROR(
      AddTokenToFile(flags.file, flags.name, roles, Sha256Hex(token)));
  std::cout << token << std::endl;
  std::cerr << fmt::format(
      "voronka: token '{}' added to {}. It is shown only this once: store "
      "it now.\n",
      flags.name, flags.file);
  return absl::OkStatus();
}

absl::Status List(const TokenFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(TokenStore store, TokenStore::Load(flags.file));
  for (const TokenEntry& e : store.entries()) {
    std::vector<std::string_view> roles;
    for (Role r : e.roles) roles.push_back(RoleName(r));
    std::cout << fmt::format("{}\t{}\n", e.name, fmt::join(roles, ","));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterTokenCommand(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("token", "Manage bearer tokens of the HTTP API");
  cmd->require_subcommand(1);

  auto add = std::make_shared<TokenFlags>();
  CLI::App* add_cmd = cmd->add_subcommand(
      "add", "Create a token, print it once, store its SHA-256");
  add_cmd->add_option("--file", add->file, "Token file (created 0600)")
      ->required();
  add_cmd->add_option("--name", add->name, "Token name (shown in logs)")
      ->required();
  add_cmd
      ->add_option("--roles", add->roles,
                   "Comma-separated: ingest,viewer,auditor,admin")
      ->required();
  add_cmd->callback([add] { FailIfError(Add(*add)); });

  auto list = std::make_shared<TokenFlags>();
  CLI::App* list_cmd =
      cmd->add_subcommand("list", "Print token names and roles");
  list_cmd->add_option("--file", list->file, "Token file")->required();
  list_cmd->callback([list] { FailIfError(List(*list)); });
}

}  // namespace voronka
