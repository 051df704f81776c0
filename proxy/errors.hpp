// The proxy's own failure values and the one place where they become HTTP responses.
#pragma once

#include <string>
#include <system_error>

#include <boost/system/error_code.hpp>

namespace meter {

// Failures the proxy itself detects. Upstream HTTP errors are not here: those are relayed as sent.
enum class errc {
  body_too_large = 1,       // client body over --request-body-limit
  upstream_unreachable,     // resolve or connect failed
  upstream_connect_timeout, // connect did not finish within --connect-timeout
  upstream_header_timeout,  // no response header within --header-timeout
  upstream_idle_timeout,    // no body progress within --idle-timeout
  upstream_reset,           // upstream closed or reset the connection mid-exchange
  upstream_bad_response,    // malformed HTTP, or a 200 embed reply that is not one embedding
  server_busy,              // the proxy's own wait queue is full
  shutting_down,            // the proxy is stopping and takes no new upstream calls
  client_gone,              // the client disconnected; nothing is answered
};

const boost::system::error_category& meter_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

// What the proxy answers for one of its own failures (or for a transport error it mapped).
struct error_reply {
  unsigned status;  // HTTP status code
  std::string body; // {"error":"..."} in Ollama's shape, compact, no trailing newline
};

// Maps any error code the proxy can end a request with to Ollama-shaped JSON. Unknown codes give
// 502 (the upstream exchange failed in a way not listed above). The message never contains request
// data.
error_reply to_error_reply(const boost::system::error_code& ec);

// Renders {"error":"<message>"} with JSON escaping as Go's encoder does (<, >, & as \u003c...).
std::string error_body(std::string_view message);

// Renders `text` as a JSON string literal, quotes included, with the escaping of error_body.
std::string json_quote(std::string_view text);

} // namespace meter

template <>
struct boost::system::is_error_code_enum<meter::errc> : std::true_type {};
