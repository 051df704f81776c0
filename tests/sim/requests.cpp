// Go-faithful binding of decoded JSON into Ollama's request structs.
#include "tests/sim/requests.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace meter::sim {
namespace {

// Collects the first "cannot unmarshal" error while binding continues, like encoding/json's
// saveError; errors from UnmarshalJSON methods abort at once (returned by the callers).
class binder {
public:
  explicit binder(std::string_view struct_name) : struct_name_(struct_name) {}

  void type_error(const json_value& v, std::string_view field, std::string_view go_type) {
    type_error_value(std::string(go_kind_name(v)), field, go_type);
  }

  void type_error_value(const std::string& value, std::string_view field,
                        std::string_view go_type) {
    if (!saved_) {
      saved_ = "json: cannot unmarshal " + value + " into Go struct field " +
               std::string(struct_name_) + "." + std::string(field) + " of type " +
               std::string(go_type);
    }
  }

  void string_field(const json_value& v, std::string_view field, std::string& out) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_string()) {
      type_error(v, field, "string");
      return;
    }
    out = v.text;
  }

  void bool_pointer(const json_value& v, std::string_view field, std::optional<bool>& out) {
    if (v.is_null()) {
      out.reset();
      return;
    }
    if (v.type != json_value::kind::boolean) {
      type_error(v, field, "bool");
      return;
    }
    out = v.boolean;
  }

  void int_field(const json_value& v, std::string_view field, std::int64_t& out) {
    if (v.is_null()) {
      return;
    }
    if (!v.is_number()) {
      type_error(v, field, "int");
      return;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), value);
    if (ec != std::errc{} || end != v.text.data() + v.text.size()) {
      type_error_value("number " + v.text, field, "int");
      return;
    }
    out = value;
  }

  void options_field(const json_value& v, std::string_view field, option_map& out) {
    if (v.is_null()) {
      out.clear();
      return;
    }
    if (!v.is_object()) {
      type_error(v, field, "map[string]interface {}");
      return;
    }
    for (const auto& [key, value] : v.members) {
      bool replaced = false;
      for (auto& existing : out) {
        if (existing.first == key) {
          existing.second = value;
          replaced = true;
        }
      }
      if (!replaced) {
        out.emplace_back(key, value);
      }
    }
  }

  const std::optional<std::string>& saved() const { return saved_; }

private:
  std::string_view struct_name_;
  std::optional<std::string> saved_;
};

// Ollama's api.Duration.UnmarshalJSON: numbers are seconds, strings Go durations.
std::optional<std::string> keep_alive_error(const json_value& v) {
  switch (v.type) {
  case json_value::kind::null:
    return std::nullopt;
  case json_value::kind::number: {
    double d = std::strtod(v.text.c_str(), nullptr);
    if (!std::isfinite(d)) {
      return "json: cannot unmarshal number " + v.text + " into Go value of type float64";
    }
    return std::nullopt;
  }
  case json_value::kind::string:
    return check_go_duration(v.text);
  case json_value::kind::boolean:
    return "Unsupported type: 'bool'";
  case json_value::kind::object:
    return "Unsupported type: 'map[string]interface {}'";
  case json_value::kind::array:
    return "Unsupported type: '[]interface {}'";
  }
  return std::nullopt;
}

// Parses `body` and calls on_member(key, value, binder) for each top-level member; on_member
// returns an error text to abort (UnmarshalJSON failures). Returns the error to answer, if any.
template <typename OnMember>
std::optional<request_error> decode_object(std::string_view body, std::string_view go_type,
                                           std::string_view struct_name,
                                           std::string_view empty_message, OnMember on_member) {
  auto parsed = parse_first_json_value(body);
  if (auto* error = std::get_if<json_syntax_error>(&parsed)) {
    if (error->empty) {
      return request_error{400, std::string(empty_message)};
    }
    return request_error{400, error->message};
  }
  const json_value& root = std::get<json_value>(parsed);
  if (root.is_null()) {
    return std::nullopt;
  }
  if (!root.is_object()) {
    return request_error{400, "json: cannot unmarshal " + std::string(go_kind_name(root)) +
                                  " into Go value of type " + std::string(go_type)};
  }
  binder b(struct_name);
  for (const auto& [key, value] : root.members) {
    if (auto abort = on_member(key, value, b)) {
      return request_error{400, *abort};
    }
  }
  if (b.saved()) {
    return request_error{400, *b.saved()};
  }
  return std::nullopt;
}

constexpr std::string_view missing_body = "missing request body";

} // namespace

embed_decode decode_embed(std::string_view body) {
  embed_request r;
  auto error = decode_object(
      body, "api.EmbedRequest", "EmbedRequest", missing_body,
      [&](const std::string& key, const json_value& v, binder& b) -> std::optional<std::string> {
        if (go_key_matches(key, "model")) {
          b.string_field(v, "model", r.model);
        } else if (go_key_matches(key, "input")) {
          if (v.is_null()) {
            r.input.reset();
          } else {
            r.input = v;
          }
        } else if (go_key_matches(key, "truncate")) {
          b.bool_pointer(v, "truncate", r.truncate);
        } else if (go_key_matches(key, "dimensions")) {
          b.int_field(v, "dimensions", r.dimensions);
        } else if (go_key_matches(key, "keep_alive")) {
          r.keep_alive_set = !v.is_null();
          return keep_alive_error(v);
        } else if (go_key_matches(key, "options")) {
          b.options_field(v, "options", r.options);
        }
        return std::nullopt;
      });
  if (error) {
    return *error;
  }
  return r;
}

std::variant<legacy_embed_request, request_error> decode_legacy_embed(std::string_view body) {
  legacy_embed_request r;
  auto error = decode_object(
      body, "api.EmbeddingRequest", "EmbeddingRequest", missing_body,
      [&](const std::string& key, const json_value& v, binder& b) -> std::optional<std::string> {
        if (go_key_matches(key, "model")) {
          b.string_field(v, "model", r.model);
        } else if (go_key_matches(key, "prompt")) {
          b.string_field(v, "prompt", r.prompt);
        } else if (go_key_matches(key, "keep_alive")) {
          return keep_alive_error(v);
        } else if (go_key_matches(key, "options")) {
          b.options_field(v, "options", r.options);
        }
        return std::nullopt;
      });
  if (error) {
    return *error;
  }
  return r;
}

std::variant<openai_embed_request, request_error> decode_openai_embed(std::string_view body) {
  openai_embed_request r;
  auto error = decode_object(
      body, "openai.EmbedRequest", "EmbedRequest", "EOF",
      [&](const std::string& key, const json_value& v, binder& b) -> std::optional<std::string> {
        if (go_key_matches(key, "model")) {
          b.string_field(v, "model", r.model);
        } else if (go_key_matches(key, "input")) {
          if (v.is_null()) {
            r.input.reset();
          } else {
            r.input = v;
          }
        } else if (go_key_matches(key, "dimensions")) {
          b.int_field(v, "dimensions", r.dimensions);
        } else if (go_key_matches(key, "encoding_format")) {
          b.string_field(v, "encoding_format", r.encoding_format);
        }
        return std::nullopt;
      });
  if (error) {
    return *error;
  }
  return r;
}

std::variant<generate_request, request_error> decode_generate(std::string_view body, bool chat) {
  generate_request r;
  std::string_view struct_name = chat ? "ChatRequest" : "GenerateRequest";
  auto error = decode_object(
      body, chat ? "api.ChatRequest" : "api.GenerateRequest", struct_name, missing_body,
      [&](const std::string& key, const json_value& v, binder& b) -> std::optional<std::string> {
        if (go_key_matches(key, "model")) {
          b.string_field(v, "model", r.model);
        } else if (!chat && go_key_matches(key, "prompt")) {
          b.string_field(v, "prompt", r.prompt);
        } else if (go_key_matches(key, "stream")) {
          b.bool_pointer(v, "stream", r.stream);
        } else if (go_key_matches(key, "keep_alive")) {
          return keep_alive_error(v);
        } else if (go_key_matches(key, "options")) {
          b.options_field(v, "options", r.options);
        } else if (chat && go_key_matches(key, "messages")) {
          if (v.is_null()) {
            r.messages.clear();
            return std::nullopt;
          }
          if (!v.is_array()) {
            b.type_error(v, "messages", "[]api.Message");
            return std::nullopt;
          }
          r.messages.clear();
          r.has_messages = true;
          for (const auto& item : v.items) {
            chat_message m;
            if (item.is_object()) {
              for (const auto& [k, field] : item.members) {
                if (go_key_matches(k, "role")) {
                  b.string_field(field, "messages.role", m.role);
                } else if (go_key_matches(k, "content")) {
                  b.string_field(field, "messages.content", m.content);
                }
              }
            } else if (!item.is_null()) {
              b.type_error(item, "messages", "api.Message");
            }
            r.messages.push_back(std::move(m));
          }
        }
        return std::nullopt;
      });
  if (error) {
    return *error;
  }
  return r;
}

std::variant<pull_request, request_error> decode_pull(std::string_view body) {
  pull_request r;
  std::string name;
  auto error = decode_object(
      body, "api.PullRequest", "PullRequest", missing_body,
      [&](const std::string& key, const json_value& v, binder& b) -> std::optional<std::string> {
        if (go_key_matches(key, "model")) {
          b.string_field(v, "model", r.model);
        } else if (go_key_matches(key, "name")) {
          b.string_field(v, "name", name);
        } else if (go_key_matches(key, "stream")) {
          b.bool_pointer(v, "stream", r.stream);
        }
        return std::nullopt;
      });
  if (error) {
    return *error;
  }
  if (r.model.empty()) {
    r.model = name;
  }
  return r;
}

std::variant<model_request, request_error> decode_model_request(std::string_view body,
                                                                std::string_view struct_name) {
  model_request r;
  std::string name;
  std::string go_type = "api." + std::string(struct_name);
  auto error = decode_object(
      body, go_type, struct_name, missing_body,
      [&](const std::string& key, const json_value& v, binder& b) -> std::optional<std::string> {
        if (go_key_matches(key, "model")) {
          b.string_field(v, "model", r.model);
        } else if (go_key_matches(key, "name")) {
          b.string_field(v, "name", name);
        } else if (go_key_matches(key, "source")) {
          b.string_field(v, "source", r.model);
        } else if (go_key_matches(key, "destination")) {
          b.string_field(v, "destination", r.destination);
        }
        return std::nullopt;
      });
  if (error) {
    return *error;
  }
  if (r.model.empty()) {
    r.model = name;
  }
  return r;
}

std::variant<std::optional<std::int64_t>, request_error> int_option(const option_map& options,
                                                                    std::string_view key) {
  for (const auto& [name, value] : options) {
    if (name != key || value.is_null()) {
      continue;
    }
    if (!value.is_number()) {
      return request_error{500, "option \"" + std::string(key) + "\" must be of type integer"};
    }
    double d = std::strtod(value.text.c_str(), nullptr);
    return std::optional<std::int64_t>(static_cast<std::int64_t>(d));
  }
  return std::optional<std::int64_t>{};
}

std::optional<std::string> check_go_duration(std::string_view text) {
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted.append("\"").append(text).append("\"");
  std::string_view s = text;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  if (s == "0") {
    return std::nullopt;
  }
  std::string invalid = "time: invalid duration " + quoted;
  if (s.empty()) {
    return invalid;
  }
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (!s.empty()) {
    if (!(s[0] == '.' || digit(s[0]))) {
      return invalid;
    }
    std::size_t i = 0;
    bool pre = false;
    bool post = false;
    while (i < s.size() && digit(s[i])) {
      ++i;
      pre = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && digit(s[i])) {
        ++i;
        post = true;
      }
    }
    if (!pre && !post) {
      return invalid;
    }
    s.remove_prefix(i);
    std::size_t u = 0;
    while (u < s.size() && s[u] != '.' && !digit(s[u])) {
      ++u;
    }
    if (u == 0) {
      return "time: missing unit in duration " + quoted;
    }
    std::string_view unit = s.substr(0, u);
    static constexpr std::string_view units[] = {"ns", "us", "\xC2\xB5s", "\xCE\xBCs",
                                                 "ms", "s",  "m",         "h"};
    bool known = false;
    for (auto candidate : units) {
      known |= candidate == unit;
    }
    if (!known) {
      return "time: unknown unit \"" + std::string(unit) + "\" in duration " + quoted;
    }
    s.remove_prefix(u);
  }
  return std::nullopt;
}

} // namespace meter::sim
