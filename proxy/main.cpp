// ollama-meter: a reverse proxy for Ollama that times every input of an /api/embed batch and
// exports Prometheus metrics. Routes:
//   POST /api/embed   split into single-input upstream calls, answered in input order with
//                     embedding_durations and embedding_prompt_eval_counts added
//   GET  /metrics     Prometheus text exposition (on --metrics-listen instead, when given)
//   GET  /healthz     the proxy runs; reports whether the upstream answers
//   everything else   relayed to Ollama unchanged, streaming both ways
// Wiring only: configuration, metrics, upstream, server, signals, threads.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "metrics/prometheus_recorder.hpp"
#include "proxy/config.hpp"
#include "proxy/io_threads.hpp"
#include "proxy/log.hpp"
#include "proxy/own_routes.hpp"
#include "proxy/server.hpp"
#include "proxy/upstream.hpp"

namespace {

using namespace meter;

std::string url_of(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  return address.is_v6() ? fmt::format("http://[{}]:{}", address.to_string(), endpoint.port())
                         : fmt::format("http://{}:{}", address.to_string(), endpoint.port());
}

int run(const config& cfg) {
  std::optional<metrics::prometheus_recorder> recorder;
  try {
    recorder.emplace(metrics::metrics_options{.max_model_labels = cfg.max_model_labels,
                                              .duration_buckets = cfg.duration_buckets,
                                              .token_buckets = cfg.token_buckets,
                                              .version = METER_VERSION,
                                              .cold_load_threshold = cfg.cold_load_threshold});
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "ollama-meter: %s\n", e.what());
    return 2;
  }

  unsigned threads =
      cfg.threads != 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  io_threads io{threads};
  std::atomic<bool> stopping{false};
  upstream up{io, cfg, *recorder};
  services svc{cfg, up, *recorder, [&] { return recorder->render(); }, stopping};
  server srv{io, svc};
  if (auto error = srv.bind()) {
    std::fprintf(stderr, "ollama-meter: %s\n", error->c_str());
    return 1;
  }

  std::printf("listening on %s\n", url_of(srv.api_endpoint()).c_str());
  std::fflush(stdout);
  log::info(fmt::format("ollama-meter {} listening on {}, upstream http://{}{}", METER_VERSION,
                        url_of(srv.api_endpoint()), up.authority(),
                        srv.metrics_endpoint()
                            ? fmt::format(", metrics on {}", url_of(*srv.metrics_endpoint()))
                            : std::string{}));
  srv.start();
  // The probe, the signals and the stop run on the main I/O context's thread.
  net::cancellation_signal stop_probing;
  net::co_spawn(io.main(), probe_upstream_periodically(svc),
                net::bind_cancellation_slot(stop_probing.slot(), net::detached));

  net::signal_set signals{io.main(), SIGINT, SIGTERM};
  signals.async_wait([&](error_code ec, int signal) {
    if (ec) {
      return;
    }
    log::info(fmt::format("signal {}: finishing in-flight requests", signal));
    stop_probing.emit(net::cancellation_type::terminal);
    srv.stop([&] {
      up.close_idle();
      io.stop();
    });
  });

  io.run();
  if (auto busy = srv.active_sessions(); busy > 0) {
    // A request stuck where closing its client connection does not reach (say, a write to an
    // upstream that stopped reading) has its coroutine still suspended. Destroying it would
    // reach objects torn down before it: leave without unwinding anything.
    log::warn(fmt::format("stopped with {} request(s) unfinished", busy));
    std::fflush(nullptr);
    std::_Exit(0);
  }
  log::info("stopped");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  auto parsed = meter::parse_config(
      argc, argv, [](const char* name) -> const char* { return std::getenv(name); });
  if (auto* exit = std::get_if<meter::exit_with>(&parsed)) {
    std::fputs(exit->output.c_str(), exit->to_stderr ? stderr : stdout);
    if (!exit->output.empty() && exit->output.back() != '\n') {
      std::fputc('\n', exit->to_stderr ? stderr : stdout);
    }
    return exit->status;
  }
  const auto& cfg = std::get<meter::run_with>(parsed).cfg;
  meter::log::init(cfg.access_log);
  try {
    return run(cfg);
  } catch (const std::exception& e) {
    meter::log::error(fmt::format("fatal: {}", e.what()));
    return 1;
  }
}
