// Setting librdkafka configuration properties with errors as values: what
// KafkaLog, the inbox and the admin client share.
//
//   VORONKA_RETURN_IF_ERROR(SetKafkaConf(conf, "bootstrap.servers", b));
//   VORONKA_RETURN_IF_ERROR(SetKafkaConfs(conf, options.client_config));
#ifndef VORONKA_EVENTS_KAFKA_CONF_H_
#define VORONKA_EVENTS_KAFKA_CONF_H_

#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>
#include "absl/status/status.h"

namespace voronka {

// Sets one property; InvalidArgument naming the key (never the value: it may
// be a password) and librdkafka's reason if it refuses.
absl::Status SetKafkaConf(rd_kafka_conf_t* conf, const std::string& key,
                          const std::string& value);

// Sets each entry in order (a later one overrides an earlier one); stops at
// the first refused.
absl::Status SetKafkaConfs(
    rd_kafka_conf_t* conf,
    const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace voronka

#endif  // VORONKA_EVENTS_KAFKA_CONF_H_
