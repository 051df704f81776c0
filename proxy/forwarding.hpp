// How request and response headers cross the proxy (RFC 9110 §7.6): hop-by-hop fields stay on
// their own connection, framing is chosen per connection, Host and X-Forwarded-* are set for the
// upstream. Pure functions over Beast header containers; no sockets.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

namespace meter {

// What the proxy knows about the client side of one request.
struct forward_context {
  std::string_view client_ip;          // peer address of the client connection
  std::string_view upstream_authority; // e.g. "127.0.0.1:11434"
  bool preserve_host = false;          // keep the client's Host instead of the upstream's authority
};

// Copies `from` into `to`, leaving out hop-by-hop fields (Connection and every field it names,
// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade) and Content-Length.
// Framing fields are decided by the caller for the connection the message is written on.
void copy_end_to_end_fields(const boost::beast::http::fields& from, boost::beast::http::fields& to);

// The head of the request sent upstream for a client request, as bytes ready to write: same
// method and target, HTTP/1.1, the client's end-to-end fields in order without Expect (the proxy
// answers 100-continue itself); then Host set to the upstream authority unless preserved,
// X-Forwarded-For with the client address appended, X-Forwarded-Proto "http" and
// X-Forwarded-Host the client's Host (both kept when the client set them); then `framing`
// (complete field lines such as "Content-Length: 12\r\n", or nothing) and the blank line.
std::string upstream_request_head(const boost::beast::http::request_header<>& client,
                                  const forward_context& ctx, std::string_view framing);

// The head of an upstream response relayed to a client on HTTP/`version`: the upstream's status
// code and reason phrase, its end-to-end fields in order, `framing` (complete field lines), and
// the Connection field Beast writes for `keep_alive` ("close" on HTTP/1.1 when not kept,
// "keep-alive" on HTTP/1.0 when kept).
std::string relayed_response_head(const boost::beast::http::response_header<>& upstream,
                                  unsigned version, std::string_view framing, bool keep_alive);

// Whether the connection stays open after a message of `version` with these fields, by every
// Connection field (Beast's keep_alive() reads only the first; Go reads them all): HTTP/1.1 unless
// one lists "close", HTTP/1.0 only when one lists "keep-alive" and none "close".
bool keeps_alive(const boost::beast::http::fields& fields, unsigned version);
template <bool isRequest>
bool keeps_alive(const boost::beast::http::header<isRequest>& header) {
  return keeps_alive(header, header.version());
}

// Whether a request's Transfer-Encoding leaves its body length unknowable: anything but a single
// Transfer-Encoding field reading "chunked". Like Go's server (and nginx), the proxy refuses such a
// request with 501 and closes: guessing would let the body be read as another request.
bool has_unsupported_transfer_encoding(const boost::beast::http::request_header<>& request);

// Whether the response to `method` with `status` can carry a body (not HEAD, 1xx, 204, 304).
bool response_has_body(boost::beast::http::verb method, unsigned status);

// The current time as an HTTP date (IMF-fixdate), as Go's server sends in `Date`. The text is
// this thread's and stays valid until its next call.
std::string_view http_date_now();

} // namespace meter
