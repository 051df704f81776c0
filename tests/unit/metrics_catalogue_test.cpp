// The metric catalogue against the rendered exposition: every metric is exported with the
// catalogue's type, help and label names, and names follow Prometheus conventions.
#include "metrics/catalogue.hpp"
#include "metrics/prometheus_recorder.hpp"
#include "tests/unit/metrics_exposition.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace meter::metrics;

namespace {

std::set<std::string> split_labels(std::string_view list) {
  std::set<std::string> names;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (name.starts_with(' ')) {
      name.remove_prefix(1);
    }
    names.emplace(name);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return names;
}

std::string type_name(catalogue::metric_type t) {
  switch (t) {
  case catalogue::metric_type::counter:
    return "counter";
  case catalogue::metric_type::gauge:
    return "gauge";
  case catalogue::metric_type::histogram:
    return "histogram";
  }
  return "?";
}

// A recorder that has seen every kind of event, so every family has a child.
std::string render_after_every_event() {
  prometheus_recorder rec(metrics_options{.version = "1.2.3"});
  rec.request_started(route::api_embed);
  rec.request_finished({route::api_embed, "POST", 200, seconds(0.1), 1, 2});
  rec.client_disconnected(route::api_chat);
  rec.upstream_call_started();
  rec.upstream_failed(upstream_failure::connect);
  rec.upstream_health(true);
  rec.queue_length_changed(1);
  rec.embed_input({"m", input_outcome::ok, seconds(0.01), seconds(0.001), 3, seconds(0.001)});
  rec.embed_request({.model = "m", .inputs = 1, .duration = seconds(0.01), .ok = true});
  rec.generation({"g", route::api_generate, true, seconds(0.1), seconds(1), 1, 2, seconds(0.1),
                  seconds(0.2), seconds(0)});
  return rec.render();
}

} // namespace

TEST_CASE("every catalogued metric is exported with its type, help text and labels") {
  const std::string text = render_after_every_event();
  for (const auto& m : catalogue::all) {
    const std::string name(m.name);
    INFO(name);
    CHECK(text.find("# TYPE " + name + " " + type_name(m.type) + "\n") != std::string::npos);
    CHECK(text.find("# HELP " + name + " " + std::string(m.help) + "\n") != std::string::npos);
    std::set<std::string> expected = split_labels(m.labels);
    std::size_t samples = 0;
    for (const auto& s : meter::test::parse_samples(text)) {
      const bool bucket = s.name == name + "_bucket";
      if (s.name != name && !bucket && s.name != name + "_sum" && s.name != name + "_count") {
        continue;
      }
      ++samples;
      std::set<std::string> names;
      for (const auto& [label, value] : s.labels) {
        if (!(bucket && label == "le")) {
          names.insert(label);
        }
      }
      CHECK(names == expected);
    }
    CHECK(samples > 0);
  }
}

TEST_CASE("every exported ollama_meter_ metric is in the catalogue") {
  std::set<std::string> known;
  for (const auto& m : catalogue::all) {
    known.emplace(m.name);
  }
  CHECK(known.size() == catalogue::all.size());
  const std::string text = render_after_every_event();
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# TYPE ollama_meter_")) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      CHECK(known.count(name) == 1);
    }
  }
}

TEST_CASE("metric names follow Prometheus conventions") {
  for (const auto& m : catalogue::all) {
    INFO(m.name);
    CHECK(m.name.starts_with("ollama_meter_"));
    CHECK_FALSE(m.help.empty());
    const bool total = m.name.ends_with("_total");
    CHECK(total == (m.type == catalogue::metric_type::counter));
    const bool timed = m.name.find("duration") != std::string_view::npos ||
                       m.name.find("wait") != std::string_view::npos ||
                       m.name.find("time_to") != std::string_view::npos;
    if (timed) {
      CHECK(m.name.ends_with("_seconds"));
    }
    CHECK(m.name.find("milliseconds") == std::string_view::npos);
  }
}
