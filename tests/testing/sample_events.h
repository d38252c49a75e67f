// Hand-made events for tests: one of every type, with optional fields both
// set and unset, so round-trip tests cover the whole model.
#ifndef VORONKA_TESTS_TESTING_SAMPLE_EVENTS_H_
#define VORONKA_TESTS_TESTING_SAMPLE_EVENTS_H_

#include <string>
#include <vector>

#include "events/event.h"

namespace voronka::testing {

// Parses RFC 3339 or aborts the test binary (for literals in tests).
Timestamp T(const std::string& rfc3339);
Money Rub(int64_t minor);
Money Usd(int64_t minor);

// Every event type at least once, every optional field set at least once.
std::vector<Event> SampleEventsOfEveryType();

// `n` call.logged events spread over `orgs` organisations; event i has id
// "call-<i>", source "pbx/test" and time base + i seconds.
std::vector<Event> Calls(int n, int orgs = 7,
                         Timestamp base = T("2026-11-02T09:00:00Z"));

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_SAMPLE_EVENTS_H_
