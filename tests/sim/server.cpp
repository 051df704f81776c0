// Connections and dispatch: one coroutine per connection (on its own strand), keep-alive loop,
// Ollama's middleware order (ServeMux redirects, CORS, Host check, 404/405) and the /_sim/ routes.
#include "tests/sim/server.hpp"

#include "tests/sim/info_routes.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <ifaddrs.h>
#include <iterator>
#include <unistd.h>

namespace meter::sim {
namespace {

constexpr std::size_t header_limit = (1u << 20) + 4096; // Go's 1 MiB plus slack
constexpr std::chrono::milliseconds linger_time{500};   // net/http's rstAvoidanceDelay

std::vector<std::string> local_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return out;
  }
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) {
      continue;
    }
    char text[64];
    if (a->ifa_addr->sa_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
      if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) {
        out.emplace_back(text);
      }
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
      if (::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) != nullptr) {
        out.emplace_back(text);
      }
    }
  }
  ::freeifaddrs(list);
  return out;
}

std::string machine_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) {
    return {};
  }
  return name;
}

std::optional<std::string_view> header_value(const http::request_header<>& h,
                                             std::string_view name) {
  auto it = h.find(name);
  if (it == h.end()) {
    return std::nullopt;
  }
  return it->value();
}

awaitable<void> serve_sim_route(exchange& ex, route_id id, std::string_view target) {
  if (!co_await read_body(ex)) {
    co_return;
  }
  sim_context& ctx = ex.ctx;
  if (id == route_id::sim_stats) {
    co_await send_reply(ex, json_reply(200, ctx.state.stats_json()));
  } else if (id == route_id::sim_log) {
    std::uint64_t since = 0;
    if (auto value = query_value(target_query(target), "since")) {
      since = std::strtoull(value->c_str(), nullptr, 10);
    }
    co_await send_reply(ex, json_reply(200, ctx.state.log_json(since)));
  } else {
    ctx.state.reset();
    co_await send_reply(ex, json_reply(200, "{}"));
  }
}

awaitable<void> dispatch(exchange& ex, const route_decision& route) {
  sim_context& ctx = ex.ctx;
  switch (route.id) {
  case route_id::embed:
    co_return co_await serve_embed(ex, embed_api::native);
  case route_id::embeddings:
    co_return co_await serve_embed(ex, embed_api::legacy);
  case route_id::v1_embeddings:
    co_return co_await serve_embed(ex, embed_api::openai);
  case route_id::generate:
    co_return co_await serve_generation(ex, false);
  case route_id::chat:
    co_return co_await serve_generation(ex, true);
  case route_id::pull:
    co_return co_await serve_pull(ex);
  case route_id::blobs:
    co_return co_await serve_blob(ex, route.param);
  default:
    break;
  }
  if (!co_await read_body(ex)) {
    co_return;
  }
  info_context info{ctx.cfg, ctx.catalog, ctx.started};
  co_await send_reply(ex, info_reply(route.id, route.param, ex.body, info));
}

enum class after_request { keep_open, close, close_after_drain };

// Serves one request whose header has been read; says what becomes of the connection.
awaitable<after_request> serve_request(sim_context& ctx, beast::tcp_stream& stream,
                                       beast::flat_buffer& buffer,
                                       http::request_parser<http::empty_body>& parser) {
  const auto& req = parser.get();
  std::string method(req.method_string());
  std::string target(req.target());
  std::string host(header_value(req, "Host").value_or(""));
  std::optional<std::string> origin;
  if (auto o = header_value(req, "Origin")) {
    origin = std::string(*o);
  }
  std::string forwarded_prefix(header_value(req, "X-Forwarded-Prefix").value_or(""));
  route_decision route = route_request(method, target, forwarded_prefix);

  exchange ex{ctx, stream, buffer, parser};
  ex.t_start = std::chrono::steady_clock::now();
  ex.head_request = req.method() == http::verb::head;
  ex.http11 = req.version() >= 11;
  ex.client_keep_alive = req.keep_alive();
  auto expect = header_value(req, "Expect");
  ex.expect_continue = ex.http11 && expect && beast::iequals(*expect, "100-continue");

  if (route.sim_internal && route.what == route_decision::kind::handler) {
    co_await serve_sim_route(ex, route.id, target);
    co_return ex.close_after ? after_request::close : after_request::keep_open;
  }

  bool is_embed = route.what == route_decision::kind::handler && route.id == route_id::embed;
  header_list headers;
  for (const auto& field : req) {
    headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  ex.is_embed = is_embed;
  ex.seq = ctx.state.begin_request(method, target, ex.http11 ? "1.1" : "1.0", std::move(headers),
                                   is_embed);

  bool middleware_done = false;
  if (!route.runs_middleware) {
    reply r = empty_reply(route.status);
    r.headers.emplace_back("Location", route.location);
    if (method == "GET" || method == "HEAD") {
      r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    }
    if (method == "GET") {
      r.body = redirect_body(route.status, route.location);
    }
    co_await send_reply(ex, std::move(r));
    middleware_done = true;
  }
  if (!middleware_done && route.what == route_decision::kind::bad_request) {
    ex.close_after = true;
    co_await send_reply(ex, plain_reply(400, "400 Bad Request", "text/plain; charset=utf-8"));
    middleware_done = true;
  }
  if (!middleware_done) {
    header_list allow;
    if (route.what == route_decision::kind::method_not_allowed) {
      allow.emplace_back("Allow", route.allow);
    }
    cors_outcome cors = apply_cors(ctx.cors, method, origin, host);
    if (cors.what == cors_outcome::kind::forbidden) {
      reply r = empty_reply(403);
      r.headers = allow;
      co_await send_reply(ex, std::move(r));
      middleware_done = true;
    } else if (cors.what == cors_outcome::kind::preflight) {
      reply r = empty_reply(204);
      r.headers = std::move(cors.headers);
      r.headers.insert(r.headers.end(), allow.begin(), allow.end());
      co_await send_reply(ex, std::move(r));
      middleware_done = true;
    } else {
      ex.extra_headers = std::move(cors.headers);
    }
    if (!middleware_done && ctx.cfg.host_check) {
      host_outcome h = check_host(method, host, ctx.hostname, ctx.local_ips);
      if (h.what != host_outcome::kind::pass) {
        reply r = empty_reply(h.what == host_outcome::kind::forbidden ? 403 : 204);
        r.headers = allow;
        r.headers.insert(r.headers.end(), ex.extra_headers.begin(), ex.extra_headers.end());
        ex.extra_headers.clear();
        co_await send_reply(ex, std::move(r));
        middleware_done = true;
      }
    }
    if (!middleware_done && route.what == route_decision::kind::method_not_allowed) {
      reply r = plain_reply(405, "405 method not allowed");
      r.headers.insert(r.headers.end(), allow.begin(), allow.end());
      co_await send_reply(ex, std::move(r));
      middleware_done = true;
    }
    if (!middleware_done && route.what == route_decision::kind::not_found) {
      co_await send_reply(ex, plain_reply(404, "404 page not found"));
      middleware_done = true;
    }
  }
  if (!middleware_done) {
    co_await dispatch(ex, route);
  }

  if (!ex.body_read && !ex.parser.is_done()) {
    ex.close_after = true; // nothing was written (the client left): the body stays unread
  }
  if (!ex.finished || ex.closed_early) {
    finish_exchange(ex);
  }
  if (ctx.cfg.verbose) {
    std::fprintf(stderr, "ollama-sim: %s %s -> %u%s (%.3f ms)\n", method.c_str(), target.c_str(),
                 ex.status_sent, ex.closed_early ? " closed early" : "",
                 static_cast<double>(elapsed_ns(ex.t_start)) / 1e6);
  }
  if (!ex.close_after) {
    co_return after_request::keep_open;
  }
  co_return ex.body_left_unread ? after_request::close_after_drain : after_request::close;
}

awaitable<void> linger(beast::tcp_stream& stream) {
  std::vector<char> sink(64 * 1024);
  stream.expires_after(linger_time);
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(sink), use_tuple);
    if (ec) {
      break;
    }
  }
  stream.expires_never();
}

// net/http reads a request body only with no Transfer-Encoding or exactly one field "chunked"
// (HTTP/1.0 requests: the field is ignored); anything else is refused before the handler runs.
bool unsupported_transfer_encoding(const http::request_header<>& request) {
  if (request.version() < 11) {
    return false;
  }
  auto [first, last] = request.equal_range(http::field::transfer_encoding);
  return first != last && (std::next(first) != last || !beast::iequals(first->value(), "chunked"));
}

awaitable<void> session(sim_context& ctx, tcp::socket socket) {
  ctx.state.connection_opened();
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(boost::none);
    stream.expires_after(std::chrono::milliseconds(ctx.cfg.idle_timeout_ms));
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    stream.expires_never();
    if (ec) {
      std::string_view answer;
      if (ec == http::error::header_limit) {
        answer = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
                 "charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large";
      } else if (ec != http::error::end_of_stream && ec != net::error::eof &&
                 ec != beast::error::timeout && ec != net::error::connection_reset &&
                 ec != net::error::operation_aborted && buffer.size() > 0) {
        answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Connection: close\r\n\r\n400 Bad Request";
      }
      if (!answer.empty()) {
        co_await net::async_write(stream.socket(), net::buffer(answer), use_tuple);
      }
      break;
    }
    if (unsupported_transfer_encoding(parser.get())) {
      // net/http's answer; the body's length is unknown, so nothing after the head can be read.
      static constexpr std::string_view answer =
          "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\n\r\nUnsupported transfer encoding";
      co_await net::async_write(stream.socket(), net::buffer(answer), use_tuple);
      break;
    }
    after_request next = co_await serve_request(ctx, stream, buffer, parser);
    if (next == after_request::keep_open) {
      continue;
    }
    if (next == after_request::close_after_drain) {
      // Like net/http's closeWriteAndWait: end our side, then read what the client is still
      // sending for a moment, so closing does not reset the connection before it reads the answer.
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_await linger(stream);
    }
    break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
  ctx.state.connection_closed();
}

} // namespace

sim_context::sim_context(sim_config config)
    : cfg(std::move(config)), catalog(cfg.models), cache(cfg.cache_mb << 20), dice(cfg.seed),
      cors(make_cors_policy(cfg.origins)), runner(cfg.effective_slots(), cfg.max_queue, state),
      hostname(machine_hostname()), local_ips(local_addresses()) {}

awaitable<void> serve_connections(tcp::acceptor& acceptor, sim_context& ctx) {
  for (;;) {
    auto strand = net::make_strand(acceptor.get_executor());
    auto [ec, socket] = co_await acceptor.async_accept(strand, use_tuple);
    if (ec == net::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      net::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(10));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    net::co_spawn(strand, session(ctx, tcp::socket(std::move(socket))), net::detached);
  }
}

} // namespace meter::sim
