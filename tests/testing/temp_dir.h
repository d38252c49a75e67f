// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its
// contents when the object goes away. For tests only.
#ifndef VORONKA_TESTS_TESTING_TEMP_DIR_H_
#define VORONKA_TESTS_TESTING_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace voronka::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string Sub(const std::string& name) const;

 private:
  std::filesystem::path path_;
};

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_TEMP_DIR_H_
