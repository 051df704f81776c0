// A JSON reader that behaves like Go's encoding/json Decoder.Decode, the way Ollama reads request
// bodies: only the first value is read (trailing bytes ignored), keys keep their order and
// duplicates, invalid UTF-8 and lone surrogates become U+FFFD, and syntax errors carry Go's text
// ("invalid character 'N' looking for beginning of value", "unexpected EOF", ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace meter::sim {

struct json_value {
  enum class kind : std::uint8_t { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool boolean = false;
  std::string text;                                        // number literal, or decoded string
  std::vector<json_value> items;                           // array
  std::vector<std::pair<std::string, json_value>> members; // object, in document order
  std::string_view raw;                                    // the value's bytes in the input

  bool is_null() const { return type == kind::null; }
  bool is_string() const { return type == kind::string; }
  bool is_number() const { return type == kind::number; }
  bool is_object() const { return type == kind::object; }
  bool is_array() const { return type == kind::array; }
};

// Go's name for a JSON value kind in unmarshal errors: "string", "number", "bool", "array",
// "object" (null never produces an error).
std::string_view go_kind_name(const json_value& v);

struct json_syntax_error {
  bool empty = false; // only whitespace before EOF: Go's io.EOF
  std::string message;
};

// Parses the first JSON value of `input`. The result's string_views point into `input`.
std::variant<json_value, json_syntax_error> parse_first_json_value(std::string_view input);

// Go's encoding/json key match: exact, or equal under Unicode simple case folding (which for ASCII
// field names also lets U+017F match 's' and U+212A match 'k').
bool go_key_matches(std::string_view key, std::string_view field_name);

// Go's quoteChar() used in syntax errors: 'x', '\n', '\x1f', '"', '\''.
std::string go_quote_char(unsigned char c);

} // namespace meter::sim
