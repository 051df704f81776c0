// Ollama's request structs and the way gin's ShouldBindJSON fills them: case-insensitive keys (last
// duplicate wins, repeated `options` objects merge), null means unset, Go's type-error texts, and
// keep_alive's own parser. Every decode returns either the request or the error Ollama answers.
#pragma once

#include "tests/sim/go_json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace meter::sim {

struct request_error {
  unsigned status = 400;
  std::string message;
};

using option_map = std::vector<std::pair<std::string, json_value>>; // case-sensitive keys

struct embed_request {
  std::string model;
  std::optional<json_value> input; // nullopt: missing or null
  std::optional<bool> truncate;    // nullopt: true
  std::int64_t dimensions = 0;
  bool keep_alive_set = false;
  option_map options;
};

struct legacy_embed_request { // POST /api/embeddings
  std::string model;
  std::string prompt;
  option_map options;
};

struct openai_embed_request { // POST /v1/embeddings
  std::string model;
  std::optional<json_value> input;
  std::int64_t dimensions = 0;
  std::string encoding_format;
};

struct chat_message {
  std::string role;
  std::string content;
};

struct generate_request { // POST /api/generate and POST /api/chat
  std::string model;
  std::string prompt;                 // generate
  std::vector<chat_message> messages; // chat
  bool has_messages = false;
  std::optional<bool> stream; // nullopt: true
  option_map options;
};

struct pull_request {
  std::string model; // `model`, or the deprecated `name` when model is empty
  std::optional<bool> stream;
};

struct model_request { // /api/show, /api/delete, /api/copy (source)
  std::string model;
  std::string destination; // /api/copy
};

using embed_decode = std::variant<embed_request, request_error>;

embed_decode decode_embed(std::string_view body);
std::variant<legacy_embed_request, request_error> decode_legacy_embed(std::string_view body);
// /v1/embeddings errors are texts for the OpenAI error envelope (always status 400 here).
std::variant<openai_embed_request, request_error> decode_openai_embed(std::string_view body);
std::variant<generate_request, request_error> decode_generate(std::string_view body, bool chat);
std::variant<pull_request, request_error> decode_pull(std::string_view body);
std::variant<model_request, request_error> decode_model_request(std::string_view body,
                                                                std::string_view struct_name);

// Integer option (num_ctx, num_predict, ...) from `options`: nullopt when absent or null; an error
// `option "<key>" must be of type integer` (status 500, as Ollama reports it) for other types.
std::variant<std::optional<std::int64_t>, request_error> int_option(const option_map& options,
                                                                    std::string_view key);

// Go's time.ParseDuration; returns the error text Ollama would answer, or nullopt when valid.
std::optional<std::string> check_go_duration(std::string_view text);

} // namespace meter::sim
