// Serving the embedding endpoints: admission, cold load, per-input sleeps and runner slots, all
// watched for the client leaving; then the all-or-nothing answer.
#include "tests/sim/io.hpp"

#include <boost/asio/experimental/parallel_group.hpp>
#include <limits>

namespace meter::sim {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

struct input_done {
  bool failed = false;
  bool cancelled = false;
  input_error error;
  std::int64_t at_ns = 0;
};

std::chrono::nanoseconds compute_cost(const sim_config& cfg, std::size_t tokens) {
  double ns = cfg.call_cost_ms * 1e6 + cfg.token_cost_us * 1e3 * static_cast<double>(tokens);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

bool needs_waiting(const sim_config& cfg, const input_plan& in) {
  return in.ctl.sleep_ms.value_or(0) > 0 || (!in.error && compute_cost(cfg, in.tokens).count() > 0);
}

// One input: its @sleep (no slot held), then its failure, or its compute time in a runner slot.
awaitable<input_done> run_input(sim_context& ctx, const input_plan& in) {
  auto executor = co_await net::this_coro::executor;
  input_done done;
  if (in.ctl.sleep_ms.value_or(0) > 0) {
    net::steady_timer timer(executor, std::chrono::milliseconds(*in.ctl.sleep_ms));
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) {
      done.cancelled = true;
      co_return done;
    }
  }
  if (in.error) {
    done.failed = true;
    done.error = *in.error;
    done.at_ns = monotonic_ns();
    co_return done;
  }
  auto cost = compute_cost(ctx.cfg, in.tokens);
  if (cost.count() > 0) {
    auto slot = co_await ctx.runner.acquire();
    if (!slot) {
      done.cancelled = true;
      co_return done;
    }
    net::steady_timer timer(executor, cost);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) {
      done.cancelled = true;
      co_return done;
    }
  }
  done.at_ns = monotonic_ns();
  co_return done;
}

awaitable<std::vector<input_done>> run_all(sim_context& ctx, const embed_plan& plan,
                                           const std::vector<std::size_t>& indices) {
  auto executor = co_await net::this_coro::executor;
  using operation =
      decltype(net::co_spawn(executor, run_input(ctx, plan.inputs.front()), net::deferred));
  std::vector<operation> operations;
  operations.reserve(indices.size());
  for (std::size_t i : indices) {
    operations.push_back(net::co_spawn(executor, run_input(ctx, plan.inputs[i]), net::deferred));
  }
  auto [order, exceptions, results] =
      co_await net::experimental::make_parallel_group(std::move(operations))
          .async_wait(net::experimental::wait_for_all(), net::use_awaitable);
  co_return std::move(results);
}

class admission {
public:
  explicit admission(runner_pool& pool) : pool_(&pool) {}
  admission(const admission&) = delete;
  admission& operator=(const admission&) = delete;
  ~admission() { leave(); }
  void leave() {
    if (pool_ != nullptr) {
      pool_->leave();
      pool_ = nullptr;
    }
  }

private:
  runner_pool* pool_;
};

} // namespace

awaitable<void> serve_embed(exchange& ex, embed_api api) {
  sim_context& ctx = ex.ctx;
  if (!co_await read_body(ex)) {
    co_return;
  }
  auto planned = plan_embed(api, ex.body, ctx.catalog, ctx.cfg);
  if (auto* early = std::get_if<reply>(&planned)) {
    co_await send_reply(ex, std::move(*early));
    co_return;
  }
  embed_plan& plan = std::get<embed_plan>(planned);
  if (api == embed_api::native) {
    ctx.state.note_embed_inputs(plan.inputs.size(), plan.single_string_array);
  }
  send_options options{plan.chunks, plan.drop};
  if (ctx.dice.roll(ctx.cfg.error_rate, "error", ex.body)) {
    ctx.state.fault_injected();
    co_await send_reply(
        ex,
        embed_request_failure(api, ctx.cfg.error_status, "simulated runner failure (--error-rate)"),
        options);
    co_return;
  }
  if (ctx.dice.roll(ctx.cfg.drop_rate, "drop", ex.body)) {
    ctx.state.fault_injected();
    options.drop = true;
  }
  if (!ctx.runner.try_admit()) {
    ctx.state.rejected_busy();
    co_await send_reply(
        ex, embed_request_failure(
                api, 503, "server busy, please try again.  maximum pending requests exceeded"));
    co_return;
  }
  admission admitted(ctx.runner);
  if (!co_await send_interim(ex, plan.interim)) {
    co_return;
  }

  auto cold = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(ctx.cfg.cold_load_ms));
  auto ready = ctx.catalog.use(plan.model_key, cold, std::chrono::steady_clock::now());
  if (!co_await wait_until_watching(ex, ready)) {
    co_return;
  }
  embed_timing timing;
  timing.load_ns = elapsed_ns(ex.t_start);

  std::optional<input_error> failure;
  std::int64_t failure_at = std::numeric_limits<std::int64_t>::max();
  std::vector<std::size_t> waiting;
  std::int64_t now_ns = monotonic_ns();
  for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
    const input_plan& in = plan.inputs[i];
    if (needs_waiting(ctx.cfg, in)) {
      waiting.push_back(i);
    } else if (in.error && !failure) {
      failure = in.error;
      failure_at = now_ns;
    }
  }
  if (!waiting.empty()) {
    auto result = co_await (run_all(ctx, plan, waiting) || peer_closed(ex));
    if (result.index() == 1) {
      ex.closed_early = true;
      ex.close_after = true;
      co_return;
    }
    for (const input_done& done : std::get<0>(result)) {
      if (done.failed && done.at_ns < failure_at) {
        failure = done.error;
        failure_at = done.at_ns;
      }
    }
  }
  admitted.leave();

  if (plan.hdrdelay_ms > 0 &&
      !co_await wait_until_watching(ex, ex.t_start + std::chrono::milliseconds(plan.hdrdelay_ms))) {
    co_return;
  }
  if (failure) {
    co_await send_reply(ex, embed_input_failure(plan, *failure), options);
    co_return;
  }
  timing.total_ns = elapsed_ns(ex.t_start);
  co_await send_reply(ex, embed_success(plan, ctx.cfg, ctx.cache, timing), options);
}

} // namespace meter::sim
