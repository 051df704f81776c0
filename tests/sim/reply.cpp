// Standard reply shapes.
#include "tests/sim/reply.hpp"

#include "tests/sim/go_format.hpp"

namespace meter::sim {

reply json_error(unsigned status, std::string_view message) {
  std::string body = "{\"error\":";
  append_go_string(body, message);
  body.push_back('}');
  return json_reply(status, std::move(body));
}

reply json_reply(unsigned status, std::string body) {
  return reply{status, {{"Content-Type", std::string(json_utf8)}}, std::move(body)};
}

reply openai_error(unsigned status, std::string_view message) {
  std::string_view type = status == 400   ? "invalid_request_error"
                          : status == 404 ? "not_found_error"
                                          : "api_error";
  std::string body = "{\"error\":{\"message\":";
  append_go_string(body, message);
  body.append(",\"type\":\"").append(type).append("\",\"param\":null,\"code\":null}}\n");
  return reply{status, {{"Content-Type", "application/json"}}, std::move(body)};
}

reply plain_reply(unsigned status, std::string body, std::string_view content_type) {
  return reply{status, {{"Content-Type", std::string(content_type)}}, std::move(body)};
}

reply empty_reply(unsigned status) {
  return reply{status, {}, {}};
}

} // namespace meter::sim
