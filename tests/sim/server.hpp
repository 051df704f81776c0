// The accept loop of ollama-sim.
#pragma once

#include "tests/sim/io.hpp"

namespace meter::sim {

// Accepts connections until the acceptor is closed; each one is served on its own strand.
awaitable<void> serve_connections(tcp::acceptor& acceptor, sim_context& ctx);

} // namespace meter::sim
