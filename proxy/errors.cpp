// The proxy's error category and the mapping from any failure to an Ollama-shaped reply.
#include "proxy/errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace meter {
namespace {

namespace asio_error = boost::asio::error;
namespace http = boost::beast::http;

// Ollama's own queue-full text, so clients that match on it keep working (two spaces).
constexpr const char* server_busy_text =
    "server busy, please try again.  maximum pending requests exceeded";

// Each of the proxy's own failures: the status it answers and the text shown to the client.
struct errc_info {
  unsigned status;
  const char* text;
};

// Any failure not recognised below.
constexpr errc_info unknown_failure{502, "upstream Ollama request failed"};

errc_info info(errc e) noexcept {
  switch (e) {
  case errc::body_too_large:
    return {413, "request body exceeds the proxy's --request-body-limit"};
  case errc::upstream_unreachable:
    return {502, "upstream Ollama is unreachable"};
  case errc::upstream_connect_timeout:
    return {504, "upstream Ollama did not accept the connection in time"};
  case errc::upstream_header_timeout:
    return {504, "upstream Ollama sent no response header in time"};
  case errc::upstream_idle_timeout:
    return {504, "upstream Ollama stopped sending data in time"};
  case errc::upstream_reset:
    return {502, "upstream Ollama closed the connection"};
  case errc::upstream_bad_response:
    return {502, "upstream Ollama sent an invalid response"};
  case errc::server_busy:
    return {503, server_busy_text};
  case errc::shutting_down:
    return {503, "ollama-meter is shutting down"};
  case errc::client_gone:
    return {499, "request canceled"};
  }
  return unknown_failure;
}

class meter_category_impl final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "ollama-meter"; }

  std::string message(int value) const override {
    if (value < static_cast<int>(errc::body_too_large) ||
        value > static_cast<int>(errc::client_gone)) {
      return "unknown ollama-meter error";
    }
    return info(static_cast<errc>(value)).text;
  }
};

bool is_any_of(const boost::system::error_code& ec,
               std::initializer_list<boost::system::error_code> codes) noexcept {
  for (const auto& code : codes) {
    if (ec == code) {
      return true;
    }
  }
  return false;
}

// A transport or parser failure from Asio or Beast, answered like the closest own failure.
errc_info transport_info(const boost::system::error_code& ec) noexcept {
  if (ec == boost::beast::condition::timeout || ec == asio_error::timed_out) {
    // The code does not say which deadline fired.
    return {504, "upstream Ollama did not answer in time"};
  }
  if (is_any_of(ec, {asio_error::connection_refused, asio_error::host_unreachable,
                     asio_error::network_unreachable, asio_error::network_down,
                     asio_error::host_not_found, asio_error::host_not_found_try_again,
                     asio_error::no_data, asio_error::no_recovery, asio_error::service_not_found,
                     asio_error::address_family_not_supported})) {
    return info(errc::upstream_unreachable);
  }
  if (is_any_of(ec, {asio_error::eof, asio_error::connection_reset, asio_error::connection_aborted,
                     asio_error::broken_pipe, asio_error::shut_down, asio_error::not_connected,
                     http::error::end_of_stream, http::error::partial_message})) {
    return info(errc::upstream_reset);
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
    return info(errc::upstream_bad_response);
  }
  return unknown_failure;
}

} // namespace

const boost::system::error_category& meter_category() noexcept {
  static const meter_category_impl category;
  return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), meter_category()};
}

error_reply to_error_reply(const boost::system::error_code& ec) {
  const errc_info i =
      ec.category() == meter_category() ? info(static_cast<errc>(ec.value())) : transport_info(ec);
  return {i.status, error_body(i.text)};
}

std::string error_body(std::string_view message) {
  return "{\"error\":" + json_quote(message) + "}";
}

std::string json_quote(std::string_view message) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(message.size() + 2);
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(message.data());
  const auto* const end = p + message.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x80) {
      // Copy a valid UTF-8 sequence; anything else becomes U+FFFD, as Go writes it.
      int length = 0;
      char32_t rune = 0;
      if (c >= 0xC2 && c <= 0xDF) {
        length = 2;
        rune = c & 0x1Fu;
      } else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        rune = c & 0x0Fu;
      } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        rune = c & 0x07u;
      }
      bool valid = length != 0 && end - p >= length;
      for (int i = 1; valid && i < length; ++i) {
        valid = (p[i] & 0xC0u) == 0x80u;
        rune = rune << 6 | (p[i] & 0x3Fu);
      }
      const char32_t min_rune = length == 2 ? 0x80 : (length == 3 ? 0x800 : 0x10000);
      valid = valid && rune >= min_rune && rune <= 0x10FFFF && (rune < 0xD800 || rune > 0xDFFF);
      if (!valid) {
        out.append("\\ufffd");
        ++p;
      } else if (rune == 0x2028 || rune == 0x2029) {
        out.append(rune == 0x2028 ? "\\u2028" : "\\u2029");
        p += length;
      } else {
        out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(length));
        p += length;
      }
      continue;
    }
    switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    default:
      if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        out.append("\\u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    ++p;
  }
  out.push_back('"');
  return out;
}

} // namespace meter
