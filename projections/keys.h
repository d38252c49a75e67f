// Ordered keys for the read-model stores.
//
// A key is a sequence of parts; strings are followed by a 0x00 separator
// (ids, department and stage names are printable text, never 0x00) and
// integers are 8 bytes big-endian with the sign bit flipped, so RocksDB's
// bytewise order is the order of the parts: a prefix scan over
// Key("q").Str(dept) lists one department's queue oldest first.
//
//   std::string k = Key("q").Str("sales").Int(since_micros).Str(deal).str();
//   KeyReader r(k); r.Str(); r.Str(); int64_t since = r.Int();
#ifndef VORONKA_PROJECTIONS_KEYS_H_
#define VORONKA_PROJECTIONS_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace voronka {

class Key {
 public:
  explicit Key(std::string_view table) { Str(table); }
  Key& Str(std::string_view part) {
    key_.append(part);
    key_.push_back('\0');
    return *this;
  }
  Key& Int(int64_t value) {
    const uint64_t u = static_cast<uint64_t>(value) ^ (uint64_t{1} << 63);
    for (int shift = 56; shift >= 0; shift -= 8) {
      key_.push_back(static_cast<char>((u >> shift) & 0xff));
    }
    return *this;
  }
  const std::string& str() const { return key_; }
  operator const std::string&() const { return key_; }  // NOLINT

 private:
  std::string key_;
};

// Reads a key back part by part. Reading past the end yields "" / 0; callers
// only read keys they built.
class KeyReader {
 public:
  explicit KeyReader(std::string_view key) : rest_(key) {}
  std::string_view Str() {
    const size_t end = rest_.find('\0');
    std::string_view part = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    return part;
  }
  int64_t Int() {
    if (rest_.size() < 8) return 0;
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) {
      u = (u << 8) | static_cast<uint8_t>(rest_[i]);
    }
    rest_.remove_prefix(8);
    return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_KEYS_H_
