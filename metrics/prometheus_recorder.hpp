// The recorder that feeds Prometheus: every metric is registered once at construction, children
// are created on a label value's first use and cached, and render() produces the /metrics body.
// No Prometheus type appears here; prometheus-cpp stays inside metrics/*.cpp.
#pragma once

#include "metrics/buckets.hpp"
#include "metrics/recorder.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace meter::metrics {

// The largest accepted max_model_labels: each model label value costs a few hundred series.
inline constexpr std::size_t max_model_labels_limit = 100'000;

struct metrics_options {
  std::size_t max_model_labels = 100;     // distinct `model` values; later models become `other`
  std::vector<double> duration_buckets{}; // seconds; empty: default_duration_buckets()
  std::vector<double> token_buckets{};    // empty: default_token_buckets()
  std::string version{};                  // the `version` label of ollama_meter_build_info
  seconds cold_load_threshold{0.5};       // an upstream load_duration at least this is a cold load
};

// Thread-safe: every member may be called concurrently from any thread. Recording calls do not
// allocate once a label value has been seen; render() allocates and reads /proc.
class prometheus_recorder final : public recorder {
public:
  // Throws std::invalid_argument when a bucket list fails check_buckets(), max_model_labels is
  // above max_model_labels_limit, or the cold-load threshold is negative or not finite.
  explicit prometheus_recorder(const metrics_options& options);
  ~prometheus_recorder() override;
  prometheus_recorder(const prometheus_recorder&) = delete;
  prometheus_recorder& operator=(const prometheus_recorder&) = delete;

  // The text exposition of every metric, with the process_* metrics sampled now.
  std::string render() const;
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

  void request_started(route r) override;
  void request_finished(const request_event& e) override;
  void client_disconnected(route r) override;
  void upstream_call_started() override;
  void upstream_call_finished() override;
  void upstream_failed(upstream_failure f) override;
  void upstream_health(bool up) override;
  void queue_length_changed(std::int64_t delta) override;
  void embed_input(const embed_input_event& e) override;
  void embed_request(const embed_request_event& e) override;
  void generation(const generation_event& e) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace meter::metrics
