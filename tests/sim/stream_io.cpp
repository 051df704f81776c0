// Serving the streaming routes (/api/generate, /api/chat, /api/pull) line by line at the
// configured pace, and blob uploads read in constant memory.
#include "tests/sim/io.hpp"

#include "tests/sim/gen_logic.hpp"
#include "tests/sim/go_format.hpp"

#include <vector>

namespace meter::sim {
namespace {

constexpr std::string_view ndjson = "application/x-ndjson";
constexpr std::size_t blob_chunk_bytes = 256 * 1024; // upload read size; memory stays constant
constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

std::chrono::nanoseconds ms(double value) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(value * 1e6));
}

// stream:false: the pull handler sets its own Content-Type (no charset).
reply pull_success() {
  return reply{200, {{"Content-Type", "application/json"}}, "{\"status\":\"success\"}"};
}

reply blob_head_reply(bool exists, std::string_view digest) {
  if (exists) {
    return empty_reply(200);
  }
  return json_error(404, "blob " + go_strconv_quote(digest) + " not found");
}

std::string created_now() {
  return rfc3339_nano(std::chrono::system_clock::now());
}

bool valid_digest(std::string_view digest) {
  if (digest.size() != 71 || digest.substr(0, 6) != "sha256" ||
      (digest[6] != ':' && digest[6] != '-')) {
    return false;
  }
  for (char c : digest.substr(7)) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) {
      return false;
    }
  }
  return true;
}

std::string normal_digest(std::string_view digest) {
  std::string out = "sha256:";
  for (char c : digest.substr(7)) {
    out.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c + 32) : c);
  }
  return out;
}

awaitable<bool> wait_header_delay(exchange& ex, const controls& ctl) {
  if (ctl.hdrdelay_ms.value_or(0) == 0) {
    co_return true;
  }
  co_return co_await wait_until_watching(ex,
                                         ex.t_start + std::chrono::milliseconds(*ctl.hdrdelay_ms));
}

awaitable<bool> wait_cold_load(exchange& ex, const std::string& model_key) {
  auto cold = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(ex.ctx.cfg.cold_load_ms));
  auto ready = ex.ctx.catalog.use(model_key, cold, std::chrono::steady_clock::now());
  co_return co_await wait_until_watching(ex, ready);
}

} // namespace

awaitable<void> serve_generation(exchange& ex, bool chat) {
  sim_context& ctx = ex.ctx;
  if (!co_await read_body(ex)) {
    co_return;
  }
  auto planned = plan_generation(chat, ex.body, ctx.catalog, ctx.cfg);
  if (auto* early = std::get_if<reply>(&planned)) {
    co_await send_reply(ex, std::move(*early));
    co_return;
  }
  generation_plan& plan = std::get<generation_plan>(planned);
  if (!co_await send_interim(ex, plan.ctl.interim.value_or(0))) {
    co_return;
  }
  send_options options{plan.ctl.chunks, plan.ctl.drop};
  if (ctx.dice.roll(ctx.cfg.error_rate, "error", ex.body)) {
    ctx.state.fault_injected();
    co_await send_reply(
        ex, json_error(ctx.cfg.error_status, "simulated runner failure (--error-rate)"), options);
    co_return;
  }
  if (ctx.dice.roll(ctx.cfg.drop_rate, "drop", ex.body)) {
    ctx.state.fault_injected();
    options.drop = true;
  }
  if (!co_await wait_cold_load(ex, plan.model_key)) {
    co_return;
  }
  generation_metrics metrics;
  metrics.load_ns = elapsed_ns(ex.t_start);
  if (!co_await wait_watching(ex, std::chrono::milliseconds(plan.ctl.sleep_ms.value_or(0)))) {
    co_return;
  }
  if (plan.ctl.status) {
    if (co_await wait_header_delay(ex, plan.ctl)) {
      co_await send_reply(ex, json_error(*plan.ctl.status, plan.ctl.status_message), options);
    }
    co_return;
  }
  if (plan.load_only) {
    if (co_await wait_header_delay(ex, plan.ctl)) {
      co_await send_reply(ex, json_reply(200, generation_load_reply(plan, created_now())), options);
    }
    co_return;
  }
  auto prompt_start = std::chrono::steady_clock::now();
  if (!co_await wait_watching(ex, ms(ctx.cfg.call_cost_ms))) {
    co_return;
  }
  metrics.prompt_eval_ns = std::max<std::int64_t>(1, elapsed_ns(prompt_start));
  auto gap = plan.ctl.gap_ms ? std::chrono::nanoseconds(std::chrono::milliseconds(*plan.ctl.gap_ms))
                             : ms(ctx.cfg.token_ms);
  auto eval_start = std::chrono::steady_clock::now();

  if (!plan.stream) {
    if (!co_await wait_watching(ex, gap * static_cast<std::int64_t>(plan.tokens.size())) ||
        !co_await wait_header_delay(ex, plan.ctl)) {
      co_return;
    }
    metrics.eval_ns = std::max<std::int64_t>(1, elapsed_ns(eval_start));
    metrics.total_ns = elapsed_ns(ex.t_start);
    co_await send_reply(ex, json_reply(200, generation_single(plan, created_now(), metrics)),
                        options);
    co_return;
  }

  if (!co_await wait_header_delay(ex, plan.ctl)) {
    co_return;
  }
  line_stream out(ex, std::string(ndjson));
  for (std::size_t i = 0; i < plan.tokens.size(); ++i) {
    if (i > 0 && !co_await wait_watching(ex, gap)) {
      co_return;
    }
    if (!co_await out.write(generation_line(plan, i, created_now()))) {
      co_return;
    }
    if (i == 0 && options.drop) {
      out.abort();
      co_return;
    }
    if (i == 0 && plan.ctl.stream_error) {
      if (co_await out.write(error_line(*plan.ctl.stream_error))) {
        co_await out.finish();
      }
      co_return;
    }
  }
  if (!plan.tokens.empty() && !co_await wait_watching(ex, gap)) {
    co_return;
  }
  metrics.eval_ns = std::max<std::int64_t>(1, elapsed_ns(eval_start));
  metrics.total_ns = elapsed_ns(ex.t_start);
  if (co_await out.write(generation_final_line(plan, created_now(), metrics))) {
    co_await out.finish();
  }
}

awaitable<void> serve_pull(exchange& ex) {
  sim_context& ctx = ex.ctx;
  if (!co_await read_body(ex)) {
    co_return;
  }
  auto planned = plan_pull(ex.body);
  if (auto* early = std::get_if<reply>(&planned)) {
    co_await send_reply(ex, std::move(*early));
    co_return;
  }
  pull_plan& plan = std::get<pull_plan>(planned);
  send_options options{plan.ctl.chunks, plan.ctl.drop};
  if (!co_await wait_watching(ex, std::chrono::milliseconds(plan.ctl.sleep_ms.value_or(0)))) {
    co_return;
  }
  if (plan.ctl.status) {
    if (co_await wait_header_delay(ex, plan.ctl)) {
      co_await send_reply(ex, json_error(*plan.ctl.status, plan.ctl.status_message), options);
    }
    co_return;
  }
  auto pace = ms(ctx.cfg.token_ms);
  if (!plan.stream) {
    if (!co_await wait_watching(ex, pace * static_cast<std::int64_t>(plan.lines.size())) ||
        !co_await wait_header_delay(ex, plan.ctl)) {
      co_return;
    }
    ctx.catalog.add(plan.model_key);
    co_await send_reply(ex, pull_success(), options);
    co_return;
  }
  if (!co_await wait_header_delay(ex, plan.ctl)) {
    co_return;
  }
  line_stream out(ex, std::string(ndjson));
  if (!co_await out.write(plan.lines.front())) {
    co_return;
  }
  if (options.drop) {
    out.abort();
    co_return;
  }
  if (plan.ctl.stream_error) {
    if (co_await out.write(error_line(*plan.ctl.stream_error))) {
      co_await out.finish();
    }
    co_return;
  }
  for (std::size_t i = 1; i < plan.lines.size(); ++i) {
    if (!co_await wait_watching(ex, pace) || !co_await out.write(plan.lines[i])) {
      co_return;
    }
    if (i == 1 && plan.ctl.gap_ms &&
        !co_await wait_watching(ex, std::chrono::milliseconds(*plan.ctl.gap_ms))) {
      co_return;
    }
  }
  if (co_await out.finish()) {
    ctx.catalog.add(plan.model_key);
  }
}

awaitable<void> serve_blob(exchange& ex, const std::string& digest) {
  sim_context& ctx = ex.ctx;
  bool valid = valid_digest(digest);
  bool exists = false;
  if (valid) {
    std::lock_guard lock(ctx.blobs_mutex);
    exists = ctx.blobs.count(normal_digest(digest)) > 0;
  }
  if (ex.head_request) {
    // Built outside the co_await: g++ 12 mis-destroys temporaries of a ?: inside co_await.
    reply answer = blob_head_reply(exists, digest);
    co_await send_reply(ex, std::move(answer));
    co_return;
  }
  if (!valid) {
    co_await send_reply(ex, json_error(400, "invalid digest format"));
    co_return;
  }
  if (exists) {
    co_await send_reply(ex, empty_reply(200));
    co_return;
  }
  std::uint64_t total = 0;
  ex.body_read = true;
  if (!ex.parser.is_done()) {
    if (ex.expect_continue) {
      auto [ec, n] =
          co_await net::async_write(ex.stream.socket(), net::buffer(continue_line), use_tuple);
      if (ec) {
        ex.closed_early = true;
        ex.close_after = true;
        co_return;
      }
    }
    http::request_parser<http::buffer_body> parser{std::move(ex.parser)};
    parser.body_limit(boost::none);
    std::vector<char> chunk(blob_chunk_bytes);
    if (ex.buffer.capacity() < blob_chunk_bytes) {
      ex.buffer.reserve(blob_chunk_bytes); // beast reads at most the free capacity per call
    }
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      ex.stream.expires_after(std::chrono::milliseconds(ctx.cfg.idle_timeout_ms));
      auto [ec, n] = co_await http::async_read(ex.stream, ex.buffer, parser, use_tuple);
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      total += chunk.size() - parser.get().body().size;
      if (ec) {
        ex.stream.expires_never();
        ctx.state.set_body(ex.seq, {}, total);
        ex.closed_early = true;
        ex.close_after = true;
        co_return;
      }
    }
    ex.stream.expires_never();
  }
  ctx.state.set_body(ex.seq, {}, total);
  {
    std::lock_guard lock(ctx.blobs_mutex);
    ctx.blobs.insert(normal_digest(digest));
  }
  co_await send_reply(ex, empty_reply(201));
}

} // namespace meter::sim
