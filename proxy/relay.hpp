// The transparent relay: any method and path, request and response bodies streamed both ways
// without buffering them whole, framing chosen per connection (chunked to HTTP/1.1 clients when
// the length is unknown, close-delimited to HTTP/1.0 clients), status line and reason phrase kept.
#pragma once

#include <optional>
#include <string>

#include "metrics/recorder.hpp"
#include "proxy/net.hpp"
#include "proxy/parsers.hpp"
#include "proxy/session.hpp"

namespace meter {

// Relays a request whose header has been read into `parser`; its body (if any) is streamed from
// the client as it arrives. `r` selects whether generation statistics are read on the way.
awaitable<request_outcome> relay_streaming(client_side& client, services& svc,
                                           request_parser<http::empty_body>& parser,
                                           metrics::route r);

// Relays a request whose body the proxy already holds (an /api/embed body that is not split).
awaitable<request_outcome> relay_buffered(client_side& client, services& svc,
                                          const http::request<http::empty_body>& header,
                                          std::string body, metrics::route r);

} // namespace meter
