// The small non-inference routes: /, /api/version, /api/status, /api/tags, /api/ps, /api/show,
// /api/delete, /api/copy, /v1/models and the routes the simulator does not implement.
#pragma once

#include "tests/sim/config.hpp"
#include "tests/sim/http_rules.hpp"
#include "tests/sim/models.hpp"
#include "tests/sim/reply.hpp"

#include <chrono>
#include <string_view>

namespace meter::sim {

struct info_context {
  const sim_config& cfg;
  model_catalog& catalog;
  std::chrono::system_clock::time_point started; // models' modified_at
};

// Answers a route that needs no waiting. `param` is the route parameter (/v1/models/:model).
reply info_reply(route_id id, std::string_view param, std::string_view body,
                 const info_context& ctx);

} // namespace meter::sim
