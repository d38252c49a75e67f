// FakeKafkaBroker: the four requests, encoded as the Kafka protocol's
// message definitions (clients/src/main/resources/common/message/*.json in
// Apache Kafka) say for the versions advertised. See fake_kafka_broker.h.
#include "tests/testing/fake_kafka_broker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace voronka::testing {
namespace {

constexpr int16_t kMetadata = 3;
constexpr int16_t kApiVersions = 18;
constexpr int16_t kCreateTopics = 19;
constexpr int16_t kDescribeConfigs = 32;

// Kafka error codes.
constexpr int16_t kNone = 0;
constexpr int16_t kUnknownTopic = 3;
constexpr int16_t kTopicAuthorizationFailed = 29;
constexpr int16_t kUnsupportedVersion = 35;
constexpr int16_t kTopicAlreadyExists = 36;
constexpr int16_t kInvalidPartitions = 37;
constexpr int16_t kInvalidReplicationFactor = 38;
constexpr int16_t kInvalidConfig = 40;

// Config sources of DescribeConfigs v1.
constexpr int8_t kTopicSource = 1;
constexpr int8_t kStaticBrokerSource = 4;
constexpr int8_t kDefaultSource = 5;

constexpr int8_t kTopicResource = 2;

// Big-endian writer of protocol primitives.
class Writer {
 public:
  void Int8(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void Int16(int16_t v) { Big(static_cast<uint16_t>(v), 2); }
  void Int32(int32_t v) { Big(static_cast<uint32_t>(v), 4); }
  void Bool(bool v) { Int8(v ? 1 : 0); }
  void String(const std::string& s) {
    Int16(static_cast<int16_t>(s.size()));
    out_ += s;
  }
  void NullableString(const std::optional<std::string>& s) {
    if (!s.has_value()) {
      Int16(-1);
    } else {
      String(*s);
    }
  }
  void ArrayLength(size_t n) { Int32(static_cast<int32_t>(n)); }
  const std::string& bytes() const { return out_; }

 private:
  void Big(uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i)
      out_.push_back(char((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Big-endian reader; a read past the end sets !ok() and yields zeros.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  int8_t Int8() { return static_cast<int8_t>(Big(1)); }
  int16_t Int16() { return static_cast<int16_t>(Big(2)); }
  int32_t Int32() { return static_cast<int32_t>(Big(4)); }
  bool Bool() { return Int8() != 0; }
  std::optional<std::string> NullableString() {
    const int16_t n = Int16();
    if (n < 0) return std::nullopt;
    if (!Need(n)) return std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::string String() { return NullableString().value_or(""); }

 private:
  bool Need(size_t n) {
    if (ok_ && pos_ + n <= in_.size()) return true;
    ok_ = false;
    return false;
  }
  uint32_t Big(int n) {
    if (!Need(n)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | uint8_t(in_[pos_ + i]);
    pos_ += n;
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Kafka's defaults of the topic settings this broker knows.
const std::map<std::string, std::string>& KafkaDefaults() {
  static const auto* defaults = new std::map<std::string, std::string>{
      {"cleanup.policy", "delete"},
      {"retention.ms", "604800000"},
      {"retention.bytes", "-1"},
      {"min.insync.replicas", "1"},
      {"unclean.leader.election.enable", "false"},
      {"max.message.bytes", "1048588"},
  };
  return *defaults;
}

bool ReadFull(int fd, char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, buf, n);
    if (r <= 0) return false;
    buf += r;
    n -= r;
  }
  return true;
}

bool WriteFull(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w =
        ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (w <= 0) return false;
    done += w;
  }
  return true;
}

}  // namespace

struct FakeKafkaBroker::Impl {
  int brokers = 1;
  // Node i + 1 listens on listen_fds[i], ports[i].
  std::vector<int> listen_fds;
  std::vector<int> ports;
  int wake[2] = {-1, -1};  // Written to stop the accepting thread.
  std::thread acceptor;

  mutable std::mutex mu;
  std::map<std::string, Topic> topics;
  std::map<std::string, std::string> broker_config;
  bool deny_describe = false;
  int create_requests = 0;
  std::set<int> connections;
  std::vector<std::thread> handlers;

  ~Impl() {
    if (wake[1] >= 0) {
      char c = 0;
      (void)!::write(wake[1], &c, 1);
    }
    if (acceptor.joinable()) acceptor.join();
    {
      std::lock_guard<std::mutex> lock(mu);
      for (int fd : connections) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : handlers) t.join();
    for (int fd : listen_fds) ::close(fd);
    for (int fd : {wake[0], wake[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void Accept() {
    while (true) {
      std::vector<pollfd> fds = {{wake[0], POLLIN, 0}};
      for (int fd : listen_fds) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents != 0) return;
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        int fd = ::accept(fds[i].fd, nullptr, nullptr);
        if (fd < 0) continue;
        std::lock_guard<std::mutex> lock(mu);
        connections.insert(fd);
        handlers.emplace_back([this, fd] { Serve(fd); });
      }
    }
  }

  void Serve(int fd) {
    while (true) {
      char size_bytes[4];
      if (!ReadFull(fd, size_bytes, 4)) break;
      Reader size_reader(std::string_view(size_bytes, 4));
      const int32_t size = size_reader.Int32();
      if (size < 8 || size > (64 << 20)) break;
      std::string request(size, '\0');
      if (!ReadFull(fd, request.data(), size)) break;
      Reader in(request);
      const int16_t api_key = in.Int16();
      const int16_t version = in.Int16();
      const int32_t correlation_id = in.Int32();
      in.NullableString();  // client_id
      Writer out;
      out.Int32(correlation_id);
      bool handled = false;
      switch (api_key) {
        case kApiVersions:
          handled = ApiVersions(version, out);
          break;
        case kMetadata:
          handled = version <= 1 && Metadata(version, in, out);
          break;
        case kCreateTopics:
          handled = version <= 1 && CreateTopics(version, in, out);
          break;
        case kDescribeConfigs:
          handled = version <= 1 && DescribeConfigs(version, in, out);
          break;
      }
      if (!handled || !in.ok()) break;
      Writer framed;
      framed.Int32(static_cast<int32_t>(out.bytes().size()));
      if (!WriteFull(fd, framed.bytes() + out.bytes())) break;
    }
    std::lock_guard<std::mutex> lock(mu);
    connections.erase(fd);
    ::close(fd);
  }

  // v3+ (flexible) is answered in v0 with UNSUPPORTED_VERSION and the list,
  // as Kafka does, so the client retries with a version from the list.
  bool ApiVersions(int16_t version, Writer& out) {
    out.Int16(version > 2 ? kUnsupportedVersion : kNone);
    const int16_t apis[][3] = {{kMetadata, 0, 1},
                               {kApiVersions, 0, 2},
                               {kCreateTopics, 0, 1},
                               {kDescribeConfigs, 0, 1}};
    out.ArrayLength(4);
    for (const auto& api : apis) {
      out.Int16(api[0]);
      out.Int16(api[1]);
      out.Int16(api[2]);
    }
    if (version >= 1 && version <= 2) out.Int32(0);  // throttle_time_ms
    return true;
  }

  bool Metadata(int16_t version, Reader& in, Writer& out) {
    const int32_t n = in.Int32();
    std::vector<std::string> wanted;
    for (int32_t i = 0; i < n && in.ok(); ++i) wanted.push_back(in.String());
    const bool all = n < 0 || (version == 0 && n == 0);

    out.ArrayLength(brokers);
    for (int id = 1; id <= brokers; ++id) {
      out.Int32(id);
      out.String("127.0.0.1");
      out.Int32(ports[id - 1]);
      if (version >= 1) out.NullableString(std::nullopt);  // rack
    }
    if (version >= 1) out.Int32(1);  // controller_id

    std::lock_guard<std::mutex> lock(mu);
    if (all) {
      wanted.clear();
      for (const auto& [name, t] : topics) wanted.push_back(name);
    }
    out.ArrayLength(wanted.size());
    for (const std::string& name : wanted) {
      auto it = topics.find(name);
      out.Int16(it == topics.end() ? kUnknownTopic : kNone);
      out.String(name);
      if (version >= 1) out.Bool(false);  // is_internal
      if (it == topics.end()) {
        out.ArrayLength(0);
        continue;
      }
      const Topic& t = it->second;
      out.ArrayLength(t.partitions);
      for (int p = 0; p < t.partitions; ++p) {
        std::vector<int32_t> replicas;
        for (int r = 0; r < t.replication_factor; ++r) {
          replicas.push_back((p + r) % brokers + 1);
        }
        out.Int16(kNone);
        out.Int32(p);
        out.Int32(replicas[0]);                 // leader
        for (int list = 0; list < 2; ++list) {  // replicas, then ISR
          out.ArrayLength(replicas.size());
          for (int32_t r : replicas) out.Int32(r);
        }
      }
    }
    return true;
  }

  bool CreateTopics(int16_t version, Reader& in, Writer& out) {
    struct Result {
      std::string name;
      int16_t error;
      std::string message;
    };
    std::vector<std::pair<std::string, Topic>> asked;
    const int32_t n = in.Int32();
    for (int32_t i = 0; i < n && in.ok(); ++i) {
      std::string name = in.String();
      Topic t;
      t.partitions = in.Int32();
      t.replication_factor = in.Int16();
      const int32_t assignments = in.Int32();
      for (int32_t a = 0; a < assignments && in.ok(); ++a) {
        in.Int32();
        const int32_t ids = in.Int32();
        for (int32_t b = 0; b < ids && in.ok(); ++b) in.Int32();
      }
      const int32_t configs = in.Int32();
      for (int32_t c = 0; c < configs && in.ok(); ++c) {
        std::string key = in.String();
        t.config[key] = in.NullableString().value_or("");
      }
      asked.emplace_back(std::move(name), std::move(t));
    }
    in.Int32();  // timeout_ms
    const bool validate_only = version >= 1 && in.Bool();

    std::vector<Result> results;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++create_requests;
      for (auto& [name, t] : asked) {
        Result r{name, kNone, ""};
        if (topics.contains(name)) {
          r = {name, kTopicAlreadyExists,
               fmt::format("Topic '{}' already exists.", name)};
        } else if (t.partitions < 1) {
          r = {name, kInvalidPartitions, "Number of partitions must be > 0"};
        } else if (t.replication_factor < 1 || t.replication_factor > brokers) {
          r = {name, kInvalidReplicationFactor,
               fmt::format("Replication factor: {} larger than available "
                           "brokers: {}.",
                           t.replication_factor, brokers)};
        } else {
          for (const auto& [key, value] : t.config) {
            if (!KafkaDefaults().contains(key)) {
              r = {name, kInvalidConfig,
                   fmt::format("Unknown topic config name: {}", key)};
            }
          }
        }
        if (r.error == kNone && !validate_only) topics[name] = std::move(t);
        results.push_back(std::move(r));
      }
    }
    out.ArrayLength(results.size());
    for (const Result& r : results) {
      out.String(r.name);
      out.Int16(r.error);
      if (version >= 1) {
        out.NullableString(r.error == kNone
                               ? std::nullopt
                               : std::optional<std::string>(r.message));
      }
    }
    return true;
  }

  bool DescribeConfigs(int16_t version, Reader& in, Writer& out) {
    struct Resource {
      int8_t type;
      std::string name;
      std::optional<std::set<std::string>> keys;
    };
    std::vector<Resource> resources;
    const int32_t n = in.Int32();
    for (int32_t i = 0; i < n && in.ok(); ++i) {
      Resource r{in.Int8(), in.String(), std::nullopt};
      const int32_t keys = in.Int32();
      if (keys >= 0) {
        r.keys.emplace();
        for (int32_t k = 0; k < keys && in.ok(); ++k)
          r.keys->insert(in.String());
      }
      resources.push_back(std::move(r));
    }
    if (version >= 1) in.Bool();  // include_synonyms

    std::lock_guard<std::mutex> lock(mu);
    out.Int32(0);  // throttle_time_ms
    out.ArrayLength(resources.size());
    for (const Resource& r : resources) {
      auto it = topics.find(r.name);
      int16_t error = kNone;
      std::string message;
      if (r.type != kTopicResource) {
        error = kInvalidConfig;
        message = "only topic resources";
      } else if (deny_describe) {
        error = kTopicAuthorizationFailed;
        message = "Topic authorization failed.";
      } else if (it == topics.end()) {
        error = kUnknownTopic;
        message = "This server does not host this topic-partition.";
      }
      out.Int16(error);
      out.NullableString(error == kNone ? std::nullopt
                                        : std::optional<std::string>(message));
      out.Int8(r.type);
      out.String(r.name);
      if (error != kNone) {
        out.ArrayLength(0);
        continue;
      }
      std::vector<std::string> keys;
      for (const auto& [key, value] : KafkaDefaults()) {
        if (!r.keys.has_value() || r.keys->contains(key)) keys.push_back(key);
      }
      out.ArrayLength(keys.size());
      for (const std::string& key : keys) {
        std::string value = KafkaDefaults().at(key);
        int8_t source = kDefaultSource;
        if (auto b = broker_config.find(key); b != broker_config.end()) {
          value = b->second;
          source = kStaticBrokerSource;
        }
        if (auto t = it->second.config.find(key);
            t != it->second.config.end()) {
          value = t->second;
          source = kTopicSource;
        }
        out.String(key);
        out.NullableString(value);
        out.Bool(false);  // read_only
        if (version == 0) {
          out.Bool(source != kTopicSource);  // is_default
        } else {
          out.Int8(source);
        }
        out.Bool(false);                       // is_sensitive
        if (version >= 1) out.ArrayLength(0);  // synonyms
      }
    }
    return true;
  }
};

FakeKafkaBroker::FakeKafkaBroker(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
FakeKafkaBroker::~FakeKafkaBroker() = default;

absl::StatusOr<std::unique_ptr<FakeKafkaBroker>> FakeKafkaBroker::Start(
    int brokers) {
  auto impl = std::make_unique<Impl>();
  impl->brokers = std::max(1, brokers);
  if (::pipe2(impl->wake, O_CLOEXEC) != 0) {
    return absl::InternalError(
        fmt::format("fake Kafka broker: {}", std::strerror(errno)));
  }
  for (int id = 1; id <= impl->brokers; ++id) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return absl::InternalError(
          fmt::format("fake Kafka broker: {}", std::strerror(errno)));
    }
    impl->listen_fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return absl::InternalError(
          fmt::format("fake Kafka broker: listen: {}", std::strerror(errno)));
    }
    impl->ports.push_back(ntohs(addr.sin_port));
  }
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->Accept(); });
  return std::unique_ptr<FakeKafkaBroker>(new FakeKafkaBroker(std::move(impl)));
}

std::string FakeKafkaBroker::bootstrap() const {
  std::string out;
  for (int port : impl_->ports) {
    if (!out.empty()) out += ',';
    out += fmt::format("127.0.0.1:{}", port);
  }
  return out;
}

void FakeKafkaBroker::AddTopic(const std::string& name, Topic topic) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->topics[name] = std::move(topic);
}

std::optional<FakeKafkaBroker::Topic> FakeKafkaBroker::topic(
    const std::string& name) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->topics.find(name);
  if (it == impl_->topics.end()) return std::nullopt;
  return it->second;
}

void FakeKafkaBroker::SetBrokerConfig(const std::string& key,
                                      const std::string& value) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->broker_config[key] = value;
}

void FakeKafkaBroker::DenyDescribeConfigs() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->deny_describe = true;
}

int FakeKafkaBroker::create_requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->create_requests;
}

}  // namespace voronka::testing
