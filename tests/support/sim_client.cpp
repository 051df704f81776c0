// Reads ollama-sim's /_sim/ endpoints into plain structs.
#include "tests/support/sim_client.hpp"

#include "tests/support/json.hpp"

#include <stdexcept>

namespace meter::test {
namespace {

std::uint64_t count(const ordered_json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? 0 : it->get<std::uint64_t>();
}

} // namespace

std::optional<std::string> sim_log_entry::header(std::string_view name) const {
  http_response r;
  r.headers = headers;
  return r.header(name);
}

sim_counters sim_stats(const std::string& sim_authority) {
  auto r = request(sim_authority, "GET", "/_sim/stats", {}, {}, 10s);
  if (r.status != 200) {
    throw std::runtime_error("GET /_sim/stats answered " + std::to_string(r.status));
  }
  auto j = parse_json(r.body);
  sim_counters c;
  c.embed_calls = count(j, "embed_calls");
  c.embed_in_flight = count(j, "embed_in_flight");
  c.embed_peak = count(j, "embed_peak");
  c.embed_inputs = count(j, "embed_inputs");
  c.embed_not_single = count(j, "embed_not_single");
  c.requests = count(j, "requests");
  c.connections_open = count(j, "connections_open");
  c.connections_total = count(j, "connections_total");
  c.closed_early = count(j, "closed_early");
  c.runner_busy_peak = count(j, "runner_busy_peak");
  c.rejected_busy = count(j, "rejected_busy");
  c.faults_injected = count(j, "faults_injected");
  c.raw = r.body;
  return c;
}

std::vector<sim_log_entry> sim_log(const std::string& sim_authority, std::uint64_t since) {
  auto r = request(sim_authority, "GET", "/_sim/log?since=" + std::to_string(since), {}, {}, 10s);
  if (r.status != 200) {
    throw std::runtime_error("GET /_sim/log answered " + std::to_string(r.status));
  }
  std::vector<sim_log_entry> out;
  for (const auto& e : parse_json(r.body)) {
    sim_log_entry entry;
    entry.seq = e.at("seq").get<std::uint64_t>();
    entry.method = e.at("method").get<std::string>();
    entry.target = e.at("target").get<std::string>();
    entry.version = e.at("version").get<std::string>();
    for (const auto& h : e.at("headers")) {
      entry.headers.emplace_back(h.at(0).get<std::string>(), h.at(1).get<std::string>());
    }
    entry.body = e.at("body").get<std::string>();
    entry.body_size = e.at("body_size").get<std::uint64_t>();
    entry.t_start_ns = e.at("t_start_ns").get<std::int64_t>();
    entry.t_end_ns = e.at("t_end_ns").get<std::int64_t>();
    entry.status = e.at("status").get<unsigned>();
    entry.closed_early = e.at("closed_early").get<bool>();
    entry.complete = e.value("complete", false);
    out.push_back(std::move(entry));
  }
  return out;
}

void sim_reset(const std::string& sim_authority) {
  auto r = request(sim_authority, "POST", "/_sim/reset", {}, {}, 10s);
  if (r.status != 200 && r.status != 204) {
    throw std::runtime_error("POST /_sim/reset answered " + std::to_string(r.status));
  }
}

} // namespace meter::test
