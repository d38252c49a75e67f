#include "events/kafka_conf.h"

#include "events/status.h"
#include "fmt/format.h"

namespace voronka {

absl::Status SetKafkaConf(rd_kafka_conf_t* conf, const std::string& key,
                          const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr,
                        sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(
        fmt::format("Kafka client config \"{}\": {}", key, errstr));
  }
  return absl::OkStatus();
}

absl::Status SetKafkaConfs(
    rd_kafka_conf_t* conf,
    const std::vector<std::pair<std::string, std::string>>& entries) {
  for (const auto& [key, value] : entries) {
    VORONKA_RETURN_IF_ERROR(SetKafkaConf(conf, key, value));
  }
  return absl::OkStatus();
}

}  // namespace voronka
