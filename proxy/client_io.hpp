// Small client-facing I/O steps shared by the handlers: writing a whole response, the proxy's own
// error replies, the interim 100 Continue, and watching for a client that disconnects while the
// proxy waits on the upstream.
#pragma once

#include <functional>
#include <memory>
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

// Watches the client connection for a close while the caller works on its request: one pending
// peeking receive on the socket, no coroutine of its own. When the client closes or resets the
// connection before stop(), `on_gone` runs once on the connection's executor; it is how the
// caller's work is told to end (by closing its upstream connections). Bytes the client sends early
// (a pipelined request) end the watch silently: after them a close can no longer be told apart. The
// caller must have no other operation pending on the client socket when it calls stop().
class disconnect_watch {
public:
  disconnect_watch(tcp_socket& client, std::function<void()> on_gone);
  ~disconnect_watch();
  disconnect_watch(const disconnect_watch&) = delete;
  disconnect_watch& operator=(const disconnect_watch&) = delete;

  void stop();

private:
  struct state;
  std::shared_ptr<state> state_;
};

} // namespace meter
