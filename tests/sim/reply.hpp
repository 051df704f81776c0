// A complete, non-streamed answer as a handler produces it (status, the handler's headers, body),
// and the standard Ollama/gin shapes: JSON errors, OpenAI errors, plain text.
#pragma once

#include "tests/sim/http_rules.hpp"

#include <string>
#include <string_view>

namespace meter::sim {

inline constexpr std::string_view json_utf8 = "application/json; charset=utf-8";

struct reply {
  unsigned status = 200;
  header_list headers;
  std::string body;
};

// {"error":"<message>"} with Content-Type application/json; charset=utf-8 (gin's c.JSON).
reply json_error(unsigned status, std::string_view message);
// gin's c.JSON: a JSON body with application/json; charset=utf-8.
reply json_reply(unsigned status, std::string body);
// The OpenAI compatibility layer's error: {"error":{"message":..,"type":..,"param":null,
// "code":null}} + "\n", Content-Type application/json (encoder written, handler-level errors).
reply openai_error(unsigned status, std::string_view message);
// gin's text responses: "404 page not found" etc. with Content-Type text/plain.
reply plain_reply(unsigned status, std::string body, std::string_view content_type = "text/plain");
// An empty body with no Content-Type (403 from CORS/Host, 201 blob, 200 delete).
reply empty_reply(unsigned status);

} // namespace meter::sim
