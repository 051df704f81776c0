// The HTTP parsers the proxy reads with: Beast's, with a bound on each field.
//
// Beast's field container stores a field's name and value lengths in 16 bits and throws
// std::length_error for a longer one. Its parser inserts every header and trailer field it reads,
// inside the read operation, so the exception would escape the I/O thread's event loop: one
// request header over 64 KiB (within --header-limit) or one long trailer could stop the proxy.
// These parsers refuse such a field with http::error::header_limit instead, which the callers
// already answer as an oversized header (431 for a client, a bad response from the upstream).
#pragma once

#include <cstddef>
#include <utility>

#include "proxy/net.hpp"

namespace meter {

// The longest field name and value Beast can store (its 16-bit length, less the ": " and CRLF).
inline constexpr std::size_t max_field_size = 65'533;

template <bool isRequest, typename Body>
class bounded_parser final : public http::parser<isRequest, Body> {
  using base = http::parser<isRequest, Body>;

public:
  bounded_parser() = default;

  // Continues the message another bounded parser has read the header of (the body type changes).
  template <typename OtherBody>
  explicit bounded_parser(bounded_parser<isRequest, OtherBody>&& other)
      : base(static_cast<http::parser<isRequest, OtherBody>&&>(other)) {}

private:
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     error_code& ec) override {
    if (name_string.size() > max_field_size || value.size() > max_field_size) {
      ec = http::error::header_limit;
      return;
    }
    this->get().insert(name, name_string, value);
  }
};

template <typename Body>
using request_parser = bounded_parser<true, Body>;
template <typename Body>
using response_parser = bounded_parser<false, Body>;

} // namespace meter
