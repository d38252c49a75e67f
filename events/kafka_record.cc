#include "events/kafka_record.h"

#include <algorithm>
#include <string>

namespace voronka {

std::optional<std::string_view> KafkaHeaderValue(const rd_kafka_message_t* msg,
                                                 const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  if (value == nullptr) return std::string_view();
  return std::string_view(static_cast<const char*>(value), size);
}

Headers KafkaRecordHeaders(const rd_kafka_message_t* msg) {
  Headers out;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return out;
  }
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
       RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    out.emplace_back(name,
                     value == nullptr
                         ? std::string()
                         : std::string(static_cast<const char*>(value), size));
  }
  return out;
}

bool HasCloudEventsHeaders(const Headers& headers) {
  return std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return h.first.size() > 3 && (h.first.compare(0, 3, "ce_") == 0 ||
                                  h.first.compare(0, 3, "CE_") == 0);
  });
}

}  // namespace voronka
