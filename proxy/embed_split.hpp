// Pure core of the /api/embed fan-out, part 1: recognise a splittable request and build its
// single-input sub-requests. No I/O; every view points into the caller's body.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meter {

// A client body in plain form, cut around its `input` value.
//   body == head + <input value> + tail
// Sub-request i is head + "[" + inputs[i] + "]" + tail: every other member keeps its exact bytes.
struct embed_split {
  std::string_view head; // bytes before the input value
  std::string_view tail; // bytes after the input value
  std::vector<std::string_view>
      inputs;                   // each input's JSON string token, quotes and escapes as sent
  bool input_was_array = false; // false: `input` was one non-empty string
  std::string_view model;       // contents of the model string (between its quotes, escapes
                                // as sent) that Go would bind; empty when not a string
};

// Returns the split when `body` is exactly one JSON object (whitespace around it allowed) in plain
// form: every key parses, exactly one key equals "input" and no other key matches "input" under
// Go's case-insensitive field matching, and that value is a non-empty string or a non-empty array
// whose elements are all strings. Anything else returns nullopt: the caller forwards the body
// unchanged so the client gets Ollama's own answer. That includes invalid JSON or UTF-8 anywhere
// (every value is checked, not only `input`), data after the object, and nesting deeper than 512
// levels. Escapes Go accepts are accepted, lone surrogates (\ud800) included.
// Precondition: body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING (use reserve_padding);
// without it the result is nullopt.
std::optional<embed_split> split_embed_request(const std::string& body);

// Ensures the padding simdjson needs without changing the contents.
void reserve_padding(std::string& body);

// Builds sub-request i of a split.
std::string sub_request_body(const embed_split& split, std::size_t i);

// How Go's encoding/json binds an object key to the struct field `field` (ASCII): an exact match
// of the unescaped key, else a match under Unicode simple case folding ("INPUT", or the Kelvin
// sign for k and the long s for s), else none. `key` is the key's raw text between its quotes,
// escapes as sent; it must be valid JSON string contents.
enum class field_match { none, exact, folded };
field_match match_field_name(std::string_view key, std::string_view field) noexcept;

} // namespace meter
