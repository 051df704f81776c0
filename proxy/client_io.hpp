// Small client-facing I/O steps shared by the handlers: writing a whole response, the proxy's own
// error replies, the interim 100 Continue, and watching for a client that disconnects while the
// proxy waits on the upstream.
#pragma once

#include <functional>
#include <string>

#include "proxy/errors.hpp"
#include "proxy/net.hpp"
#include "proxy/session.hpp"

namespace meter {

// Writes `res` (Content-Length set from its body), with Date added when absent, within the idle
// timeout. Fills status, bytes_out and keep_alive of the returned outcome.
awaitable<request_outcome> write_response(client_side& client,
                                          http::response<http::string_body> res, const config& cfg);

// Writes a response that has no body (a HEAD answer), its fields as given.
awaitable<request_outcome>
write_header_only(client_side& client, http::response<http::empty_body> res, const config& cfg);

// Writes the proxy's own error for `ec` in Ollama's shape ({"error":"..."}).
awaitable<request_outcome> write_error(client_side& client, unsigned version, bool keep_alive,
                                       error_code ec, const config& cfg);

// Sends "HTTP/1.1 100 Continue" when the client asked for it (HTTP/1.1 and Expect: 100-continue).
awaitable<error_code> continue_if_expected(client_side& client,
                                           const http::request_header<>& header, const config& cfg);

// Watches for the client closing its connection while the caller works for it, until cancelled.
// On a close it calls `on_gone`, which returns whether the caller's work should stop (the watch
// then completes) or the close is expected (the whole answer was already handed to the socket) and
// the watch waits to be cancelled. Bytes the client sends early (a pipelined request) are left
// unread: after that the watch can no longer tell a close apart and waits to be cancelled.
awaitable<void> watch_for_disconnect(tcp::socket& client, std::function<bool()> on_gone);

} // namespace meter
