// prometheus_recorder: the metric families, the per-label child caches and the recording calls.
// Families are registered once; a child is created on its label values' first use and its
// handle kept, so the steady-state cost of a call is an atomic load plus the update itself.
#include "metrics/prometheus_recorder.hpp"

#include "metrics/catalogue.hpp"
#include "metrics/labels.hpp"
#include "metrics/model_labels.hpp"
#include "metrics/process_stats.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

namespace meter::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;

// Durations that are negative, NaN or infinite (only possible from odd upstream figures) count
// as 0 so that sums stay usable.
double to_seconds(seconds s) noexcept {
  const double v = s.count();
  return std::isfinite(v) && v > 0 ? v : 0;
}

double to_count(std::int64_t n) noexcept {
  return n > 0 ? static_cast<double>(n) : 0;
}

std::size_t route_index(route r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < route_count ? i : route_count - 1;
}

std::string route_text(route r) {
  return std::string(route_label(static_cast<route>(route_index(r))));
}

// A child created on first use. Family::Add returns the existing child for equal labels, so
// threads racing through the first use all get the same handle.
template <class T>
class lazy_child {
public:
  template <class Make>
  T& get(Make&& make) {
    if (T* child = child_.load(std::memory_order_acquire)) {
      return *child;
    }
    T& child = make();
    child_.store(&child, std::memory_order_release);
    return child;
  }

private:
  std::atomic<T*> child_{nullptr};
};

template <class T>
Family<T>& add_family(prometheus::detail::Builder<T> builder, prometheus::Registry& registry,
                      const catalogue::metric_info& info) {
  return builder.Name(std::string(info.name)).Help(std::string(info.help)).Register(registry);
}

// Every metric family of the catalogue, registered once.
struct families {
  explicit families(prometheus::Registry& r)
      : requests(add_family(prometheus::BuildCounter(), r, catalogue::requests)),
        request_duration(add_family(prometheus::BuildHistogram(), r, catalogue::request_duration)),
        requests_in_flight(add_family(prometheus::BuildGauge(), r, catalogue::requests_in_flight)),
        request_bytes(add_family(prometheus::BuildCounter(), r, catalogue::request_bytes)),
        response_bytes(add_family(prometheus::BuildCounter(), r, catalogue::response_bytes)),
        client_disconnects(
            add_family(prometheus::BuildCounter(), r, catalogue::client_disconnects)),
        upstream_errors(add_family(prometheus::BuildCounter(), r, catalogue::upstream_errors)),
        upstream_in_flight(add_family(prometheus::BuildGauge(), r, catalogue::upstream_in_flight)),
        upstream_up(add_family(prometheus::BuildGauge(), r, catalogue::upstream_up)),
        queue_length(add_family(prometheus::BuildGauge(), r, catalogue::queue_length)),
        embed_input_duration(
            add_family(prometheus::BuildHistogram(), r, catalogue::embed_input_duration)),
        embed_queue_wait(add_family(prometheus::BuildHistogram(), r, catalogue::embed_queue_wait)),
        embed_prompt_tokens(
            add_family(prometheus::BuildHistogram(), r, catalogue::embed_prompt_tokens)),
        embed_load_duration(
            add_family(prometheus::BuildHistogram(), r, catalogue::embed_load_duration)),
        embed_inputs(add_family(prometheus::BuildCounter(), r, catalogue::embed_inputs)),
        embed_request_inputs(
            add_family(prometheus::BuildHistogram(), r, catalogue::embed_request_inputs)),
        embed_request_duration(
            add_family(prometheus::BuildHistogram(), r, catalogue::embed_request_duration)),
        embed_requests(add_family(prometheus::BuildCounter(), r, catalogue::embed_requests)),
        generation_ttft(add_family(prometheus::BuildHistogram(), r, catalogue::generation_ttft)),
        generation_duration(
            add_family(prometheus::BuildHistogram(), r, catalogue::generation_duration)),
        generation_prompt_tokens(
            add_family(prometheus::BuildCounter(), r, catalogue::generation_prompt_tokens)),
        generation_output_tokens(
            add_family(prometheus::BuildCounter(), r, catalogue::generation_output_tokens)),
        generation_prompt_eval(
            add_family(prometheus::BuildCounter(), r, catalogue::generation_prompt_eval)),
        generation_eval(add_family(prometheus::BuildCounter(), r, catalogue::generation_eval)),
        generation_load_duration(
            add_family(prometheus::BuildHistogram(), r, catalogue::generation_load_duration)),
        cold_loads(add_family(prometheus::BuildCounter(), r, catalogue::cold_loads)),
        build_info(add_family(prometheus::BuildGauge(), r, catalogue::build_info)) {}

  Family<Counter>& requests;
  Family<Histogram>& request_duration;
  Family<Gauge>& requests_in_flight;
  Family<Counter>& request_bytes;
  Family<Counter>& response_bytes;
  Family<Counter>& client_disconnects;
  Family<Counter>& upstream_errors;
  Family<Gauge>& upstream_in_flight;
  Family<Gauge>& upstream_up;
  Family<Gauge>& queue_length;
  Family<Histogram>& embed_input_duration;
  Family<Histogram>& embed_queue_wait;
  Family<Histogram>& embed_prompt_tokens;
  Family<Histogram>& embed_load_duration;
  Family<Counter>& embed_inputs;
  Family<Histogram>& embed_request_inputs;
  Family<Histogram>& embed_request_duration;
  Family<Counter>& embed_requests;
  Family<Histogram>& generation_ttft;
  Family<Histogram>& generation_duration;
  Family<Counter>& generation_prompt_tokens;
  Family<Counter>& generation_output_tokens;
  Family<Counter>& generation_prompt_eval;
  Family<Counter>& generation_eval;
  Family<Histogram>& generation_load_duration;
  Family<Counter>& cold_loads;
  Family<Gauge>& build_info;
};

// The children of one `route` value.
struct route_children {
  lazy_child<Histogram> duration;
  lazy_child<Gauge> in_flight;
  lazy_child<Counter> request_bytes;
  lazy_child<Counter> response_bytes;
  lazy_child<Counter> disconnects;
};

// The embedding children of one `model` value, created together on its first embed event.
struct embed_children {
  Histogram& input_duration;
  Histogram& queue_wait;
  Histogram& prompt_tokens;
  Histogram& load_duration;
  std::array<Counter*, outcome_count> inputs;
  Counter& cold_loads;
  Histogram& request_inputs;
  Histogram& request_duration;
  Counter& requests_ok;
  Counter& requests_error;
};

// The generation children of one (`model`, `route`) pair.
struct generation_children {
  Histogram& time_to_first_token;
  Histogram& duration;
  Histogram& load_duration;
  Counter& prompt_tokens;
  Counter& output_tokens;
  Counter& prompt_eval_seconds;
  Counter& eval_seconds;
  Counter& cold_loads;
};

struct model_slot {
  std::string label;
  std::atomic<embed_children*> embed{nullptr};
  std::array<std::atomic<generation_children*>, route_count> generation{};
};

std::vector<double> buckets_or_default(const std::vector<double>& given,
                                       std::vector<double> (*fallback)(), const char* what) {
  if (given.empty()) {
    return fallback();
  }
  if (const auto why = check_buckets(given)) {
    throw std::invalid_argument(std::string(what) + ": " + *why);
  }
  return given;
}

} // namespace

struct prometheus_recorder::impl {
  explicit impl(const metrics_options& o)
      : duration_buckets(
            buckets_or_default(o.duration_buckets, default_duration_buckets, "duration buckets")),
        token_buckets(buckets_or_default(o.token_buckets, default_token_buckets, "token buckets")),
        input_buckets(request_input_buckets()), cold_load_threshold(o.cold_load_threshold.count()),
        f(registry), models(o.max_model_labels),
        slots(std::min(o.max_model_labels, max_model_labels_limit) + 1),
        upstream_in_flight(f.upstream_in_flight.Add({})), queue_length(f.queue_length.Add({})) {
    if (o.max_model_labels > max_model_labels_limit) {
      throw std::invalid_argument("max model labels must be at most " +
                                  std::to_string(max_model_labels_limit));
    }
    if (!std::isfinite(cold_load_threshold) || cold_load_threshold < 0) {
      throw std::invalid_argument("cold-load threshold must be a finite, non-negative duration");
    }
    for (std::size_t i = 0; i < failure_count; ++i) {
      const auto label = failure_label(static_cast<upstream_failure>(i));
      upstream_errors[i] = &f.upstream_errors.Add({{"kind", std::string(label)}});
    }
    f.build_info.Add({{"version", o.version.empty() ? "unknown" : o.version}}).Set(1);
  }

  // Creates a shared object once under the creation lock and publishes it through `slot`.
  template <class T, class Make>
  T& get_or_create(std::atomic<T*>& slot, Make&& make) {
    if (T* existing = slot.load(std::memory_order_acquire)) {
      return *existing;
    }
    std::lock_guard lock(creation_mutex);
    if (T* existing = slot.load(std::memory_order_relaxed)) {
      return *existing;
    }
    std::shared_ptr<T> created = make();
    owned.push_back(created);
    slot.store(created.get(), std::memory_order_release);
    return *created;
  }

  model_slot& slot_for(std::string_view model) {
    const std::size_t index = models.index_of(model);
    return get_or_create(slots[index], [&] {
      auto slot = std::make_shared<model_slot>();
      slot->label = models.label(index);
      return slot;
    });
  }

  embed_children& embed_for(std::string_view model) {
    model_slot& slot = slot_for(model);
    return get_or_create(slot.embed, [&] {
      const Labels m{{"model", slot.label}};
      std::array<Counter*, outcome_count> inputs{};
      for (std::size_t i = 0; i < outcome_count; ++i) {
        const auto outcome = std::string(outcome_label(static_cast<input_outcome>(i)));
        inputs[i] = &f.embed_inputs.Add({{"model", slot.label}, {"outcome", outcome}});
      }
      return std::shared_ptr<embed_children>(new embed_children{
          f.embed_input_duration.Add(m, duration_buckets),
          f.embed_queue_wait.Add(m, duration_buckets),
          f.embed_prompt_tokens.Add(m, token_buckets),
          f.embed_load_duration.Add(m, duration_buckets),
          inputs,
          f.cold_loads.Add({{"model", slot.label}, {"route", route_text(route::api_embed)}}),
          f.embed_request_inputs.Add(m, input_buckets),
          f.embed_request_duration.Add(m, duration_buckets),
          f.embed_requests.Add({{"model", slot.label}, {"outcome", "ok"}}),
          f.embed_requests.Add({{"model", slot.label}, {"outcome", "error"}}),
      });
    });
  }

  generation_children& generation_for(std::string_view model, route via) {
    model_slot& slot = slot_for(model);
    return get_or_create(slot.generation[route_index(via)], [&] {
      const Labels l{{"model", slot.label}, {"route", route_text(via)}};
      return std::shared_ptr<generation_children>(new generation_children{
          f.generation_ttft.Add(l, duration_buckets),
          f.generation_duration.Add(l, duration_buckets),
          f.generation_load_duration.Add(l, duration_buckets),
          f.generation_prompt_tokens.Add(l),
          f.generation_output_tokens.Add(l),
          f.generation_prompt_eval.Add(l),
          f.generation_eval.Add(l),
          f.cold_loads.Add(l),
      });
    });
  }

  Counter& requests_counter(route r, std::string_view method, unsigned status) {
    const std::size_t m = method_index(method);
    const unsigned code = status == 0 || (status >= 100 && status <= 999) ? status : 1000;
    const auto key = static_cast<std::uint32_t>((route_index(r) * method_count + m) * 1024 + code);
    {
      std::shared_lock lock(requests_mutex);
      if (const auto it = requests.find(key); it != requests.end()) {
        return *it->second;
      }
    }
    Counter& counter = f.requests.Add({{"route", route_text(r)},
                                       {"method", std::string(method_label(m))},
                                       {"code", status_label(status)}});
    std::unique_lock lock(requests_mutex);
    requests.emplace(key, &counter);
    return counter;
  }

  route_children& route_of(route r) { return routes[route_index(r)]; }

  Gauge& in_flight(route r) {
    return route_of(r).in_flight.get([&]() -> Gauge& {
      return f.requests_in_flight.Add({{"route", route_text(r)}});
    });
  }

  template <class T, class... Args>
  T& route_child(lazy_child<T>& child, Family<T>& family, route r, const Args&... args) {
    return child.get([&]() -> T& { return family.Add({{"route", route_text(r)}}, args...); });
  }

  prometheus::Registry registry;
  const std::vector<double> duration_buckets;
  const std::vector<double> token_buckets;
  const std::vector<double> input_buckets;
  const double cold_load_threshold;
  families f;
  model_label_table models;
  std::vector<std::atomic<model_slot*>> slots; // by model index; the last is `other`
  std::mutex creation_mutex;
  std::vector<std::shared_ptr<void>> owned; // what the slots point to
  std::array<route_children, route_count> routes;
  std::shared_mutex requests_mutex;
  std::unordered_map<std::uint32_t, Counter*> requests; // by (route, method, code)
  std::array<Counter*, failure_count> upstream_errors{};
  Gauge& upstream_in_flight;
  Gauge& queue_length;
  lazy_child<Gauge> upstream_up;
};

prometheus_recorder::prometheus_recorder(const metrics_options& options)
    : impl_(std::make_unique<impl>(options)) {}

prometheus_recorder::~prometheus_recorder() = default;

std::string prometheus_recorder::render() const {
  std::string text = prometheus::TextSerializer().Serialize(impl_->registry.Collect());
  text += render_process_metrics(read_process_sample());
  return text;
}

void prometheus_recorder::request_started(route r) {
  impl_->in_flight(r).Increment();
}

void prometheus_recorder::request_finished(const request_event& e) {
  impl_->in_flight(e.r).Decrement();
  impl_->requests_counter(e.r, e.method, e.status).Increment();
  route_children& c = impl_->route_of(e.r);
  impl_->route_child(c.duration, impl_->f.request_duration, e.r, impl_->duration_buckets)
      .Observe(to_seconds(e.duration));
  impl_->route_child(c.request_bytes, impl_->f.request_bytes, e.r)
      .Increment(static_cast<double>(e.bytes_in));
  impl_->route_child(c.response_bytes, impl_->f.response_bytes, e.r)
      .Increment(static_cast<double>(e.bytes_out));
}

void prometheus_recorder::client_disconnected(route r) {
  impl_->route_child(impl_->route_of(r).disconnects, impl_->f.client_disconnects, r).Increment();
}

void prometheus_recorder::upstream_call_started() {
  impl_->upstream_in_flight.Increment();
}

void prometheus_recorder::upstream_call_finished() {
  impl_->upstream_in_flight.Decrement();
}

void prometheus_recorder::upstream_failed(upstream_failure f) {
  const auto i = static_cast<std::size_t>(f);
  if (i < failure_count) {
    impl_->upstream_errors[i]->Increment();
  }
}

void prometheus_recorder::upstream_health(bool up) {
  impl_->upstream_up.get([&]() -> Gauge& { return impl_->f.upstream_up.Add({}); }).Set(up ? 1 : 0);
}

void prometheus_recorder::queue_length_changed(std::int64_t delta) {
  impl_->queue_length.Increment(static_cast<double>(delta));
}

void prometheus_recorder::embed_input(const embed_input_event& e) {
  embed_children& c = impl_->embed_for(e.model);
  const auto outcome = static_cast<std::size_t>(e.outcome);
  if (outcome < outcome_count) {
    c.inputs[outcome]->Increment();
  }
  // Only inputs that reached the upstream waited for a slot; a rejected one waited for nothing.
  if (e.outcome == input_outcome::ok || e.outcome == input_outcome::upstream_error) {
    c.queue_wait.Observe(to_seconds(e.queue_wait));
  }
  if (e.outcome != input_outcome::ok) {
    return;
  }
  c.input_duration.Observe(to_seconds(e.duration));
  c.prompt_tokens.Observe(to_count(e.prompt_tokens));
  const double load = to_seconds(e.load_duration);
  c.load_duration.Observe(load);
}

void prometheus_recorder::embed_request(const embed_request_event& e) {
  embed_children& c = impl_->embed_for(e.model);
  c.request_inputs.Observe(static_cast<double>(e.inputs));
  // Per request, not per sub-call: concurrent sub-calls all wait for the same load and all
  // report it.
  if (to_seconds(e.load_duration) >= impl_->cold_load_threshold) {
    c.cold_loads.Increment();
  }
  if (!e.ok) {
    c.requests_error.Increment();
    return;
  }
  c.requests_ok.Increment();
  c.request_duration.Observe(to_seconds(e.duration));
}

void prometheus_recorder::generation(const generation_event& e) {
  generation_children& c = impl_->generation_for(e.model, e.via);
  if (e.streamed) {
    c.time_to_first_token.Observe(to_seconds(e.time_to_first_token));
  }
  c.duration.Observe(to_seconds(e.duration));
  c.prompt_tokens.Increment(to_count(e.prompt_eval_count));
  c.output_tokens.Increment(to_count(e.eval_count));
  c.prompt_eval_seconds.Increment(to_seconds(e.prompt_eval_duration));
  c.eval_seconds.Increment(to_seconds(e.eval_duration));
  const double load = to_seconds(e.load_duration);
  c.load_duration.Observe(load);
  if (load >= impl_->cold_load_threshold) {
    c.cold_loads.Increment();
  }
}

} // namespace meter::metrics
