// JSON helpers for tests (nlohmann): parsing with key order kept, key-order checks, NDJSON lines.
//
// Use:
//   auto j = meter::test::parse_json(r.body);            // nlohmann::ordered_json, throws on error
//   CHECK(meter::test::top_level_keys(r.body) ==
//         std::vector<std::string>{"model", "embeddings", "total_duration"});
//   for (auto& line : meter::test::ndjson_lines(r.body)) { ... }
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace meter::test {

using ordered_json = nlohmann::ordered_json;

ordered_json parse_json(std::string_view text);

// Keys of a top-level JSON object, in document order (duplicates kept).
std::vector<std::string> top_level_keys(std::string_view object_text);

// Splits an NDJSON body into its lines (without the '\n'); a trailing partial line is kept.
std::vector<std::string> ndjson_lines(std::string_view body);

// The raw text of each number in the first array of arrays found under "embeddings" (or
// "embedding" / data[].embedding), exactly as written; used to check float formatting on the wire.
std::vector<std::vector<std::string>> raw_embedding_numbers(std::string_view body);

// Euclidean norm of a vector of numbers.
double l2_norm(const std::vector<double>& values);

} // namespace meter::test
