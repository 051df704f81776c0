// /metrics and /healthz; see own_routes.hpp.
#include "proxy/own_routes.hpp"

#include <fmt/format.h>

#include "proxy/client_io.hpp"
#include "proxy/errors.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/framing.hpp"
#include "proxy/upstream.hpp"

namespace meter {

namespace {

struct probe_result {
  bool reachable = false;
  unsigned status = 0;
  std::string error;
};

// Asks the upstream for `GET /` (Ollama answers "Ollama is running") within --health-timeout.
awaitable<probe_result> probe_upstream(services& svc) {
  co_await net::this_coro::throw_if_cancelled(false);
  config probe_cfg = svc.cfg;
  probe_cfg.header_timeout = svc.cfg.health_timeout;
  probe_cfg.idle_timeout = svc.cfg.health_timeout;
  probe_cfg.connect_timeout = std::min(svc.cfg.connect_timeout, svc.cfg.health_timeout);

  auto ex = co_await net::this_coro::executor;
  auto connected = co_await svc.up.connect(ex);
  if (!connected) {
    co_return probe_result{false, 0, connected.error().message()};
  }
  std::string request;
  append_request_line(request, "GET", "/", 11);
  append_field(request, "Host", svc.up.authority());
  append_field(request, "User-Agent", "ollama-meter/" METER_VERSION " health-probe");
  request.append("\r\n");
  auto outcome = co_await exchange(**connected, request, 64 * 1024, probe_cfg);
  if (outcome.ec) {
    co_return probe_result{false, 0, outcome.ec.message()};
  }
  if (keeps_alive(outcome.response.base())) {
    svc.up.give_back(std::move(*connected));
  }
  co_return probe_result{true, outcome.response.result_int(), {}};
}

} // namespace

awaitable<void> probe_upstream_periodically(services& svc) {
  steady_timer timer{co_await net::this_coro::executor};
  while (!svc.stopping.load(std::memory_order_relaxed)) {
    auto probe = co_await probe_upstream(svc);
    svc.rec.upstream_health(probe.reachable);
    timer.expires_after(svc.cfg.health_interval);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) {
      co_return;
    }
  }
}

bool is_own_route(std::string_view path) {
  return path == "/metrics" || path == "/healthz";
}

awaitable<request_outcome> handle_own_route(client_side& client, services& svc,
                                            const http::request<http::empty_body>& header,
                                            std::string_view path, bool keep_alive) {
  unsigned version = header.version();
  keep_alive = keep_alive && !svc.stopping.load(std::memory_order_relaxed);
  http::response<http::string_body> res{http::status::ok, version};
  res.keep_alive(keep_alive);
  if (header.method() != http::verb::get && header.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.set(http::field::content_type, "text/plain");
    res.body() = "405 method not allowed";
    co_return co_await write_response(client, std::move(res), svc.cfg);
  }
  if (path == "/metrics") {
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = svc.render_metrics();
  } else {
    auto probe = co_await probe_upstream(svc);
    svc.rec.upstream_health(probe.reachable);
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.body() = fmt::format(
        R"({{"status":"ok","version":"{}","upstream":{{"address":{},"reachable":{},"status":{}{}}}}})",
        METER_VERSION, json_quote(svc.up.authority()), probe.reachable, probe.status,
        probe.error.empty() ? std::string{} : ",\"error\":" + json_quote(probe.error));
  }
  if (header.method() == http::verb::head) {
    // A HEAD answer announces the length a GET would have, without the body.
    http::response<http::empty_body> head{res.result(), version};
    copy_end_to_end_fields(res, head);
    head.content_length(res.body().size());
    head.keep_alive(keep_alive);
    co_return co_await write_header_only(client, std::move(head), svc.cfg);
  }
  co_return co_await write_response(client, std::move(res), svc.cfg);
}

} // namespace meter
