// The /api/embed fan-out; see embed_fanout.hpp.
#include "proxy/embed_fanout.hpp"

#include <optional>
#include <vector>

#include <simdjson.h>

#include "proxy/client_io.hpp"
#include "proxy/embed_merge.hpp"
#include "proxy/embed_split.hpp"
#include "proxy/errors.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/framing.hpp"
#include "proxy/relay.hpp"
#include "proxy/upstream.hpp"

namespace meter {

namespace {

using clock = std::chrono::steady_clock;

// The first failure of a batch decides its answer: an upstream reply relayed as it came, or one of
// the proxy's own errors.
struct batch_failure {
  error_code proxy_error; // set for the proxy's own errors
  std::optional<http::response<http::string_body>> upstream_reply;
};

// State of one split request, shared by its workers. Everything runs on the client connection's
// I/O thread.
struct fanout {
  fanout(client_side& client, services& svc, const http::request_header<>& client_header,
         const embed_split& split, std::string_view model)
      : client(client), svc(svc), split(split), model(model),
        upstream_head(upstream_request_head(
            client_header, {client.ip, svc.up.authority(), svc.cfg.preserve_host}, {})),
        replies(split.inputs.size()), results(split.inputs.size()) {}

  client_side& client;
  services& svc;
  const embed_split& split;
  std::string_view model;
  std::string upstream_head; // of every sub-request, without framing: ends with the blank line

  std::size_t next_input = 0;
  bool stopped = false; // a sub-call failed or the client left
  bool client_gone = false;
  std::optional<batch_failure> failure;
  std::optional<http::response_header<>> first_reply_header; // headers for the merged answer
  std::vector<std::string> replies; // reply bodies; results[i] views into replies[i]
  std::vector<embed_result> results;

  // Per worker: its cancellation signal and the connection it is using, if any.
  std::vector<net::cancellation_signal> signals;
  std::vector<upstream_connection*> active;

  void stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    for (std::size_t w = 0; w < signals.size(); ++w) {
      signals[w].emit(net::cancellation_type::terminal);
      if (active[w] != nullptr) {
        active[w]->stream.close();
      }
    }
  }

  void fail(batch_failure f) {
    if (!failure) {
      failure = std::move(f);
    }
    stop();
  }
};

void record_input(fanout& f, metrics::input_outcome outcome, clock::duration duration,
                  clock::duration queue_wait, const embed_part* part) {
  metrics::embed_input_event e;
  e.model = f.model;
  e.outcome = outcome;
  e.duration = duration;
  e.queue_wait = queue_wait;
  if (part != nullptr) {
    e.prompt_tokens = part->prompt_eval_count;
    e.load_duration = std::chrono::duration<double>(part->load_duration / 1e9);
  }
  f.svc.rec.embed_input(e);
}

// One sub-call: request i on a pooled or new connection. A reused connection that is closed or
// reset before any response byte was probably closed by the upstream while idle: retry on another
// (never after a timeout, which would double the wait).
awaitable<void> call_input(fanout& f, std::size_t w, std::size_t i, clock::duration queue_wait) {
  const config& cfg = f.svc.cfg;
  std::string body = sub_request_body(f.split, i);
  std::string request{std::string_view(f.upstream_head).substr(0, f.upstream_head.size() - 2)};
  request.reserve(request.size() + 32 + body.size());
  append_content_length(request, body.size());
  request.append("\r\n").append(body);

  for (int attempt = 0;; ++attempt) {
    auto connected = co_await f.svc.up.connect(f.client.stream.get_executor());
    if (f.stopped) {
      co_return;
    }
    if (!connected) {
      record_input(f, metrics::input_outcome::proxy_error, {}, queue_wait, nullptr);
      f.fail({connected.error(), std::nullopt});
      co_return;
    }
    upstream_connection& conn = **connected;
    f.active[w] = &conn;
    auto started = clock::now();
    auto outcome = co_await exchange(conn, request, cfg.embed_reply_limit, cfg);
    auto duration = clock::now() - started;
    f.active[w] = nullptr;
    if (f.stopped) {
      record_input(f, metrics::input_outcome::cancelled, duration, queue_wait, nullptr);
      co_return;
    }
    if (outcome.ec) {
      if (conn.reused && !outcome.response_started && outcome.ec == errc::upstream_reset &&
          attempt < 2) {
        continue;
      }
      f.svc.rec.upstream_failed(upstream_failure_kind(outcome.ec));
      record_input(f, metrics::input_outcome::proxy_error, duration, queue_wait, nullptr);
      f.fail({outcome.ec, std::nullopt});
      co_return;
    }

    auto& reply = outcome.response;
    if (keeps_alive(reply.base())) {
      f.svc.up.give_back(std::move(*connected));
    }
    if (reply.result() != http::status::ok) {
      if (reply.result_int() >= 500) {
        f.svc.rec.upstream_failed(metrics::upstream_failure::status_5xx);
      }
      record_input(f, metrics::input_outcome::upstream_error, duration, queue_wait, nullptr);
      f.fail({{}, std::move(reply)});
      co_return;
    }
    f.replies[i] = std::move(reply.body());
    reserve_padding(f.replies[i]);
    auto part = parse_embed_part(f.replies[i]);
    if (!part) {
      record_input(f, metrics::input_outcome::proxy_error, duration, queue_wait, nullptr);
      f.fail({make_error_code(errc::upstream_bad_response), std::nullopt});
      co_return;
    }
    if (!f.first_reply_header) {
      f.first_reply_header = std::move(reply.base());
    }
    f.results[i] =
        embed_result{*part, std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count()};
    record_input(f, metrics::input_outcome::ok, duration, queue_wait, &*part);
    co_return;
  }
}

// Holds one upstream slot and counts the call in flight; released however the call ends.
class slot_hold {
public:
  explicit slot_hold(services& svc) : svc_(svc) { svc_.rec.upstream_call_started(); }
  ~slot_hold() {
    svc_.rec.upstream_call_finished();
    svc_.up.release_slot();
  }
  slot_hold(const slot_hold&) = delete;
  slot_hold& operator=(const slot_hold&) = delete;

private:
  services& svc_;
};

// A worker takes the next input until none is left or the batch stopped. Workers are at most
// --max-fanout per request; each sub-call also holds one of the --upstream-concurrency slots.
awaitable<void> run_worker(fanout& f, std::size_t w) {
  co_await net::this_coro::throw_if_cancelled(false);
  while (!f.stopped && f.next_input < f.split.inputs.size()) {
    std::size_t i = f.next_input++;
    auto queued_at = clock::now();
    auto slot_ec = co_await f.svc.up.acquire_slot();
    auto queue_wait = clock::now() - queued_at;
    if (slot_ec) {
      if (!f.stopped) {
        record_input(f, metrics::input_outcome::proxy_error, {}, queue_wait, nullptr);
        f.fail({slot_ec, std::nullopt});
      }
      co_return;
    }
    slot_hold hold{f.svc};
    co_await call_input(f, w, i, queue_wait);
  }
}

// Runs the workers and waits for all of them.
awaitable<void> run_workers(fanout& f) {
  co_await net::this_coro::throw_if_cancelled(false);
  auto ex = co_await net::this_coro::executor;
  std::size_t workers = std::min(f.svc.cfg.max_fanout, f.split.inputs.size());
  f.signals = std::vector<net::cancellation_signal>(workers);
  f.active.assign(workers, nullptr);

  steady_timer all_done{ex, clock::time_point::max()};
  std::size_t running = workers;
  for (std::size_t w = 0; w < workers; ++w) {
    net::co_spawn(ex, run_worker(f, w),
                  net::bind_cancellation_slot(f.signals[w].slot(), [&](std::exception_ptr e) {
                    if (e) {
                      f.fail({make_error_code(errc::upstream_bad_response), std::nullopt});
                    }
                    if (--running == 0) {
                      all_done.cancel();
                    }
                  }));
  }
  // Workers use `f`, which lives in the caller's frame: never return before the last one ended,
  // even when this wait is cancelled (the client left or the proxy is stopping).
  while (running > 0) {
    auto [ec] = co_await all_done.async_wait(use_tuple);
    if (ec != net::error::operation_aborted || running > 0) {
      f.stop();
    }
  }
}

// Reads the whole request body within --request-body-limit.
awaitable<std::pair<error_code, std::string>>
read_whole_body(client_side& client, request_parser<http::empty_body>& header_parser,
                const config& cfg) {
  request_parser<http::string_body> parser{std::move(header_parser)};
  parser.body_limit(cfg.request_body_limit);
  if (auto length = parser.content_length()) {
    parser.get().body().reserve(*length + simdjson::SIMDJSON_PADDING);
  }
  while (!parser.is_done()) {
    client.stream.expires_after(cfg.idle_timeout);
    auto [ec, n] = co_await http::async_read_some(client.stream, client.buffer, parser, use_tuple);
    if (ec) {
      co_return std::pair{ec, std::string{}};
    }
  }
  co_return std::pair{error_code{}, std::move(parser.get().body())};
}

} // namespace

awaitable<request_outcome> handle_embed(client_side& client, services& svc,
                                        request_parser<http::empty_body>& parser) {
  const config& cfg = svc.cfg;
  http::request<http::empty_body> header = parser.get();
  unsigned version = header.version();
  bool keep_alive = keeps_alive(header);

  // Refuse an announced oversized body before reading any of it (and before 100 Continue).
  if (auto length = parser.content_length(); length && *length > cfg.request_body_limit) {
    co_return co_await write_error(client, version, false, errc::body_too_large, cfg);
  }
  if (auto ec = co_await continue_if_expected(client, header, cfg)) {
    co_return request_outcome{.client_gone = true};
  }
  auto [read_ec, body] = co_await read_whole_body(client, parser, cfg);
  if (read_ec == http::error::body_limit) {
    co_return co_await write_error(client, version, false, errc::body_too_large, cfg);
  }
  if (read_ec) {
    co_return request_outcome{.client_gone = true};
  }
  std::uint64_t bytes_in = body.size();

  reserve_padding(body);
  auto split = split_embed_request(body);
  // A batch above --max-split-inputs goes to Ollama whole: the reassembled reply would be held
  // in the proxy's memory, and its size grows with the number of inputs, not with the request.
  if (!split || split->inputs.size() > cfg.max_split_inputs) {
    auto out =
        co_await relay_buffered(client, svc, header, std::move(body), metrics::route::api_embed);
    out.bytes_in = bytes_in;
    co_return out;
  }

  auto started = clock::now();
  fanout f{client, svc, header, *split, split->model};
  disconnect_watch watch{client.stream.socket(), [&f] {
                           f.client_gone = true;
                           f.stop();
                         }};
  co_await run_workers(f);
  watch.stop();
  auto elapsed = clock::now() - started;
  std::size_t inputs = split->inputs.size();

  request_outcome out;
  if (f.client_gone) {
    out = request_outcome{.client_gone = true};
  } else if (f.failure && f.failure->upstream_reply) {
    auto& upstream_reply = *f.failure->upstream_reply;
    http::response<http::string_body> res;
    res.version(version);
    res.result(upstream_reply.result_int()); // the int: Beast has no enumerator for e.g. 418
    res.reason(upstream_reply.reason());
    copy_end_to_end_fields(upstream_reply, res);
    res.body() = std::move(upstream_reply.body());
    res.keep_alive(keep_alive);
    out = co_await write_response(client, std::move(res), cfg);
  } else if (f.failure) {
    out = co_await write_error(client, version, keep_alive, f.failure->proxy_error, cfg);
  } else if (f.stopped || !f.first_reply_header) {
    // Stopped without a failure: the connection is being closed under us (shutdown).
    out = request_outcome{.client_gone = true};
  } else {
    http::response<http::string_body> res{http::status::ok, version};
    copy_end_to_end_fields(*f.first_reply_header, res);
    res.erase(http::field::date);
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.body() =
        merge_embed_reply(f.results.front().part.model, f.results,
                          std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
    res.keep_alive(keep_alive);
    out = co_await write_response(client, std::move(res), cfg);
  }
  out.bytes_in = bytes_in;
  out.inputs = inputs;

  metrics::embed_request_event e;
  e.model = f.model;
  e.inputs = inputs;
  e.duration = elapsed;
  std::int64_t largest_load_ns = 0;
  for (const auto& r : f.results) {
    largest_load_ns = std::max(largest_load_ns, r.part.load_duration);
  }
  e.load_duration = std::chrono::duration<double>(static_cast<double>(largest_load_ns) / 1e9);
  e.ok = !f.failure && !f.client_gone;
  svc.rec.embed_request(e);
  co_return out;
}

} // namespace meter
