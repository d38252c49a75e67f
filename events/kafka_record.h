// Reading the CloudEvents Kafka binding off a librdkafka message: its
// headers, and whether they carry binary-mode attributes (ce_*). Shared by
// KafkaLog's readers and the Kafka inbox (services/inbox.h).
//
//   Headers h = KafkaRecordHeaders(msg);
//   if (HasCloudEventsHeaders(h)) decoder.DecodeBinary(h, value, kKafka);
#ifndef VORONKA_EVENTS_KAFKA_RECORD_H_
#define VORONKA_EVENTS_KAFKA_RECORD_H_

#include <optional>
#include <string_view>

#include <librdkafka/rdkafka.h>
#include "events/cloudevents.h"

namespace voronka {

// The last value of header `name`, if the message has it.
std::optional<std::string_view> KafkaHeaderValue(const rd_kafka_message_t* msg,
                                                 const char* name);
// Every header, in order (a null value becomes "").
Headers KafkaRecordHeaders(const rd_kafka_message_t* msg);
// True if any header name starts with "ce_" (binary mode).
bool HasCloudEventsHeaders(const Headers& headers);

}  // namespace voronka

#endif  // VORONKA_EVENTS_KAFKA_RECORD_H_
