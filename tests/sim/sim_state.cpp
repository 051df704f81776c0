// Counters, the request log and the fault dice.
#include "tests/sim/sim_state.hpp"

#include "tests/sim/go_format.hpp"

#include <ctime>

namespace meter::sim {

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sim_state::connection_opened() {
  std::lock_guard lock(mutex_);
  ++connections_open_;
  ++connections_total_;
}

void sim_state::connection_closed() {
  std::lock_guard lock(mutex_);
  --connections_open_;
}

std::uint64_t sim_state::begin_request(std::string method, std::string target, std::string version,
                                       header_list headers, bool is_embed) {
  log_entry e;
  e.method = std::move(method);
  e.target = std::move(target);
  e.version = std::move(version);
  e.headers = std::move(headers);
  e.t_start_ns = monotonic_ns();
  std::lock_guard lock(mutex_);
  ++requests_;
  if (is_embed) {
    ++embed_calls_;
    ++embed_in_flight_;
    embed_peak_ = std::max(embed_peak_, embed_in_flight_);
  }
  e.seq = next_seq_++;
  log_.push_back(std::move(e));
  while (log_.size() > log_capacity) {
    log_.pop_front();
  }
  return log_.back().seq;
}

log_entry* sim_state::find(std::uint64_t seq) {
  if (log_.empty() || seq < log_.front().seq || seq > log_.back().seq) {
    return nullptr;
  }
  log_entry& e = log_[seq - log_.front().seq];
  return e.seq == seq ? &e : nullptr;
}

void sim_state::set_body(std::uint64_t seq, std::string_view head_bytes, std::uint64_t size) {
  std::lock_guard lock(mutex_);
  if (log_entry* e = find(seq)) {
    e->body.assign(head_bytes.substr(0, log_body_bytes));
    e->body_size = size;
  }
}

void sim_state::note_embed_inputs(std::size_t inputs, bool single_string_array) {
  std::lock_guard lock(mutex_);
  embed_inputs_ += inputs;
  if (!single_string_array) {
    ++embed_not_single_;
  }
}

void sim_state::set_status(std::uint64_t seq, unsigned status) {
  std::lock_guard lock(mutex_);
  if (log_entry* e = find(seq)) {
    e->status = status;
  }
}

void sim_state::end_request(std::uint64_t seq, bool is_embed, bool closed_early) {
  std::lock_guard lock(mutex_);
  if (is_embed && embed_in_flight_ > 0) {
    --embed_in_flight_;
  }
  if (closed_early) {
    ++closed_early_;
  }
  if (log_entry* e = find(seq)) {
    e->t_end_ns = monotonic_ns();
    e->closed_early = closed_early;
    e->complete = true;
  }
}

void sim_state::mark_closed_early(std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  ++closed_early_;
  if (log_entry* e = find(seq)) {
    e->closed_early = true;
  }
}

void sim_state::runner_busy(std::size_t busy) {
  std::lock_guard lock(mutex_);
  runner_busy_ = busy;
  runner_busy_peak_ = std::max<std::uint64_t>(runner_busy_peak_, busy);
}

void sim_state::rejected_busy() {
  std::lock_guard lock(mutex_);
  ++rejected_busy_;
}

void sim_state::fault_injected() {
  std::lock_guard lock(mutex_);
  ++faults_injected_;
}

std::string sim_state::stats_json() const {
  std::lock_guard lock(mutex_);
  std::string out = "{";
  auto field = [&](const char* name, std::uint64_t value) {
    if (out.size() > 1) {
      out.push_back(',');
    }
    out.append("\"").append(name).append("\":").append(std::to_string(value));
  };
  field("embed_calls", embed_calls_);
  field("embed_in_flight", embed_in_flight_);
  field("embed_peak", embed_peak_);
  field("embed_inputs", embed_inputs_);
  field("embed_not_single", embed_not_single_);
  field("requests", requests_);
  field("connections_open", connections_open_);
  field("connections_total", connections_total_);
  field("closed_early", closed_early_);
  field("runner_busy", runner_busy_);
  field("runner_busy_peak", runner_busy_peak_);
  field("rejected_busy", rejected_busy_);
  field("faults_injected", faults_injected_);
  field("log_entries", log_.size());
  out.push_back('}');
  return out;
}

std::string sim_state::log_json(std::uint64_t since) const {
  std::lock_guard lock(mutex_);
  std::string out = "[";
  bool first = true;
  for (const auto& e : log_) {
    if (e.seq <= since) {
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.append("{\"seq\":").append(std::to_string(e.seq));
    out.append(",\"method\":");
    append_go_string(out, e.method);
    out.append(",\"target\":");
    append_go_string(out, e.target);
    out.append(",\"version\":");
    append_go_string(out, e.version);
    out.append(",\"headers\":[");
    for (std::size_t i = 0; i < e.headers.size(); ++i) {
      out.append(i == 0 ? "[" : ",[");
      append_go_string(out, e.headers[i].first);
      out.push_back(',');
      append_go_string(out, e.headers[i].second);
      out.push_back(']');
    }
    out.append("],\"body\":");
    append_go_string(out, e.body);
    out.append(",\"body_size\":").append(std::to_string(e.body_size));
    out.append(",\"t_start_ns\":").append(std::to_string(e.t_start_ns));
    out.append(",\"t_end_ns\":").append(std::to_string(e.t_end_ns));
    out.append(",\"status\":").append(std::to_string(e.status));
    out.append(",\"closed_early\":").append(e.closed_early ? "true" : "false");
    out.append(",\"complete\":").append(e.complete ? "true" : "false");
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

void sim_state::reset() {
  std::lock_guard lock(mutex_);
  log_.clear();
  requests_ = 0;
  embed_calls_ = 0;
  embed_peak_ = embed_in_flight_;
  embed_inputs_ = 0;
  embed_not_single_ = 0;
  connections_total_ = connections_open_;
  closed_early_ = 0;
  runner_busy_peak_ = runner_busy_;
  rejected_busy_ = 0;
  faults_injected_ = 0;
}

bool fault_dice::roll(double probability, std::string_view kind, std::string_view body) {
  if (probability <= 0) {
    return false;
  }
  std::uint64_t h = 0xcbf29ce484222325ull ^ seed_;
  for (std::string_view part : {kind, std::string_view("\x1f"), body}) {
    for (char c : part) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ull;
    }
  }
  std::uint64_t occurrence = 0;
  {
    std::lock_guard lock(mutex_);
    if (seen_.size() > 1'000'000) {
      seen_.clear();
    }
    occurrence = seen_[h]++;
  }
  std::uint64_t x = h ^ (occurrence * 0x9e3779b97f4a7c15ull) ^ seed_;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  double u = static_cast<double>(x >> 11) / 9007199254740992.0;
  return u < probability;
}

} // namespace meter::sim
