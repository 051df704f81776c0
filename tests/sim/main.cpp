// ollama-sim's entry point: parse flags, bind, print the ready line, run until SIGINT/SIGTERM.
#include "tests/sim/server.hpp"

#include <csignal>
#include <cstdio>
#include <malloc.h>
#include <thread>

int main(int argc, char** argv) {
  using namespace meter::sim;
  auto parsed = parse_sim_args(argc, argv);
  if (auto* done = std::get_if<sim_exit>(&parsed)) {
    std::fputs(done->output.c_str(), done->to_stderr ? stderr : stdout);
    return done->status;
  }
  std::signal(SIGPIPE, SIG_IGN);
  // Response bodies of a few hundred KiB are built per request: keep them on the heap instead
  // of mapping and faulting in fresh pages for each one.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  sim_context ctx(std::get<sim_config>(parsed));
  const sim_config& cfg = ctx.cfg;

  net::io_context ioc(static_cast<int>(cfg.threads));
  tcp::acceptor acceptor(ioc);
  tcp::endpoint endpoint;
  try {
    error_code ec;
    auto address = net::ip::make_address(cfg.listen_host, ec);
    if (ec) {
      tcp::resolver resolver(ioc);
      endpoint = *resolver.resolve(cfg.listen_host, std::to_string(cfg.listen_port)).begin();
    } else {
      endpoint = tcp::endpoint(address, cfg.listen_port);
    }
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ollama-sim: cannot listen on %s:%u: %s\n", cfg.listen_host.c_str(),
                 static_cast<unsigned>(cfg.listen_port), e.what());
    return 1;
  }
  tcp::endpoint bound = acceptor.local_endpoint();
  std::string host = bound.address().to_string();
  if (bound.address().is_v6()) {
    host = "[" + host + "]";
  }
  std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(bound.port()));
  std::fflush(stdout);
  std::fprintf(stderr, "ollama-sim: runner %s (%u slot%s), models %zu, dims %u, context %lld\n",
               cfg.runner == runner_mode::serial ? "serial" : "parallel", cfg.effective_slots(),
               cfg.effective_slots() == 1 ? "" : "s", cfg.models.size(), cfg.dims,
               static_cast<long long>(cfg.context));

  net::co_spawn(ioc, serve_connections(acceptor, ctx), net::detached);
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const error_code&, int) { ioc.stop(); });

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < cfg.threads; ++i) {
    workers.emplace_back([&] { ioc.run(); });
  }
  ioc.run();
  for (auto& w : workers) {
    w.join();
  }
  std::fflush(stderr);
  // Pending connections hold coroutine frames; skip their teardown for a prompt exit.
  std::_Exit(0);
}
