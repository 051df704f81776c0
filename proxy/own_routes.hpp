// The proxy's own paths: GET /metrics (Prometheus text) and GET /healthz (the proxy runs; does the
// upstream answer?). Everything else belongs to Ollama.
#pragma once

#include <string_view>

#include "proxy/net.hpp"
#include "proxy/session.hpp"

namespace meter {

bool is_own_route(std::string_view path);

// Answers /metrics or /healthz (GET and HEAD; other methods get 405 with Allow), closing the
// connection afterwards unless `keep_alive` (or when the proxy is stopping).
awaitable<request_outcome> handle_own_route(client_side& client, services& svc,
                                            const http::request<http::empty_body>& header,
                                            std::string_view path, bool keep_alive);

// Probes the upstream every --health-interval, so the upstream_up metric stays current without
// anyone calling /healthz. Runs until the proxy stops.
awaitable<void> probe_upstream_periodically(services& svc);

} // namespace meter
