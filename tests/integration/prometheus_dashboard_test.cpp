// The shipped Grafana dashboard and Prometheus config against a real Prometheus: it scrapes
// ollama-meter (in front of ollama-sim) while traffic flows, then every PromQL query of the
// dashboard must parse and return data. promtool checks a live scrape and the configs.
#include "tests/integration/prometheus_harness.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/metrics_exposition.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace meter::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* job = "ollama-meter";

// Every model's first call waits this long in ollama-sim and reports it as load_duration, above
// the recorder's 0.5 s cold-load threshold.
const std::vector<std::string> sim_args{"--cold-load-ms", "600"};

// Requests covering every panel: embed batches (one with a failing input), generation and chat
// streamed and not, plain passthrough, an unknown route, the health probe, and an abandoned
// request. Checks the statuses so a broken stack fails here rather than as missing data.
void drive_traffic(const std::string& meter) {
  CHECK(request(meter, "POST", "/api/embed",
                R"({"model":"all-minilm","input":["alpha","beta","gamma","delta"]})")
            .status == 200);
  CHECK(request(meter, "POST", "/api/embed", R"({"model":"nomic-embed-text","input":["one"]})")
            .status == 200);
  CHECK(request(meter, "POST", "/api/embed",
                R"({"model":"all-minilm","input":["fine","@status=500;boom"]})")
            .status == 500);
  CHECK(request(meter, "POST", "/api/generate", R"({"model":"llama3.2","prompt":"hi"})").status ==
        200);
  CHECK(request(meter, "POST", "/api/generate",
                R"({"model":"llama3.2","prompt":"hi","stream":false})")
            .status == 200);
  CHECK(request(meter, "POST", "/api/chat",
                R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})")
            .status == 200);
  CHECK(
      request(meter, "POST", "/api/chat",
              R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false})")
          .status == 200);
  CHECK(request(meter, "GET", "/api/tags").status == 200);
  CHECK(request(meter, "GET", "/no/such/route").status == 404);
  CHECK(request(meter, "GET", "/healthz").status == 200);
  // A client that leaves while its embed input is still upstream.
  keepalive_connection abandoned(meter);
  abandoned.send_raw(build_request(meter, "POST", "/api/embed",
                                   R"({"model":"all-minilm","input":["@sleep=300;late"]})", {}));
  abandoned.close();
}

// Sum of a counter over all series except those of `excluded_route`, from a scrape's text.
double sum_except_route(const std::string& text, std::string_view name,
                        std::string_view excluded_route) {
  double sum = 0;
  for (const auto& s : parse_samples(text)) {
    if (s.name == name && s.labels.count("route") == 1 && s.labels.at("route") != excluded_route) {
      sum += s.value;
    }
  }
  return sum;
}

double scalar_value(const nlohmann::json& result) {
  if (!result.is_array() || result.empty()) {
    return -1;
  }
  return std::stod(result[0]["value"][1].get<std::string>());
}

} // namespace

TEST_CASE("the dashboard selects its datasource, instance and model through template variables") {
  const auto dashboard = load_json_file(dashboard_path());
  CHECK(dashboard.value("uid", "") == "ollama-meter");
  std::set<std::string> variables;
  for (const auto& v : dashboard["templating"]["list"]) {
    variables.insert(v.value("name", ""));
    if (v.value("name", "") == "datasource") {
      CHECK(v.value("type", "") == "datasource");
      CHECK(v.value("query", "") == "prometheus");
    } else {
      CHECK(v.value("type", "") == "query");
      CHECK(v["datasource"].value("uid", "") == "${datasource}");
      CHECK(v.value("includeAll", false));
      CHECK(v.value("allValue", "") == ".*");
    }
  }
  CHECK(variables == std::set<std::string>{"datasource", "instance", "model"});

  std::set<int> ids;
  std::size_t targets = 0;
  for (const auto& panel : dashboard["panels"]) {
    INFO("panel " << panel.value("title", ""));
    CHECK(ids.insert(panel.value("id", -1)).second);
    if (panel.value("type", "") == "row") {
      continue;
    }
    CHECK(panel["datasource"].value("uid", "") == "${datasource}");
    CHECK_FALSE(panel.value("description", "").empty());
    for (const auto& target : panel["targets"]) {
      ++targets;
      CHECK(target["datasource"].value("uid", "") == "${datasource}");
      const std::string expr = target.value("expr", "");
      CHECK(expr.find("instance=~\"$instance\"") != std::string::npos);
    }
  }
  CHECK(targets >= 40);
}

TEST_CASE("every dashboard query is plain PromQL once Grafana's variables are substituted") {
  const auto queries = dashboard_queries(load_json_file(dashboard_path()));
  REQUIRE(queries.size() >= 42);
  std::size_t from_variables = 0;
  for (const auto& q : queries) {
    INFO(q.where << ": " << q.expr);
    CHECK_FALSE(q.expr.empty());
    CHECK(substitute_grafana_variables(q.expr, "1m", "5m").find('$') == std::string::npos);
    from_variables += q.where.starts_with("variable ") ? 1 : 0;
  }
  CHECK(from_variables == 2);
  CHECK(substitute_grafana_variables("rate(x{model=~\"$model\"}[$__rate_interval])", "1m", "5m") ==
        "rate(x{model=~\".*\"}[1m])");
}

TEST_CASE("the shipped Prometheus config and the test's generated one pass promtool") {
  auto shipped = run_promtool({"check", "config", prometheus_config_path().string()});
  INFO(shipped.out << shipped.err);
  CHECK(shipped.status == 0);

  temp_dir dir;
  write_file(dir.path() / "p.yml", prometheus_scrape_config(job, "127.0.0.1:1", "1s"));
  auto generated = run_promtool({"check", "config", (dir.path() / "p.yml").string()});
  INFO(generated.out << generated.err);
  CHECK(generated.status == 0);
}

TEST_CASE("per-input metrics carry the durations and token counts the client receives") {
  auto sim = start_sim(sim_args);
  auto meter = start_meter(sim.authority());
  const auto response =
      request(meter.authority(), "POST", "/api/embed",
              R"({"model":"bge-m3","input":["one","two words","three more words"]})");
  REQUIRE(response.status == 200);
  const auto body = nlohmann::json::parse(response.body);
  double durations = 0;
  for (const auto& ns : body.at("embedding_durations")) {
    durations += ns.get<double>() / 1e9;
  }
  // The request is recorded as it ends, which may be just after the client has its answer.
  const label_set embed_ok{{"route", "/api/embed"}, {"method", "POST"}, {"code", "200"}};
  std::string text;
  CHECK(poll_until(std::chrono::steady_clock::now() + 10s, [&] {
    text = request(meter.authority(), "GET", "/metrics").body;
    return sample_value(text, "ollama_meter_requests_total", embed_ok) == 1;
  }));
  const label_set model{{"model", "bge-m3"}};
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_count", model) == 3);
  CHECK(sample_value(text, "ollama_meter_embed_input_duration_seconds_sum", model).value_or(-1) ==
        Approx(durations).epsilon(1e-6));
  CHECK(sample_value(text, "ollama_meter_embed_input_prompt_tokens_sum", model) ==
        body.at("prompt_eval_count").get<double>());
  CHECK(sample_value(text, "ollama_meter_embed_request_inputs_sum", model) == 3);
  CHECK(sample_value(text, "ollama_meter_embed_inputs_total",
                     {{"model", "bge-m3"}, {"outcome", "ok"}}) == 3);
  CHECK(sample_value(text, "ollama_meter_embed_requests_total",
                     {{"model", "bge-m3"}, {"outcome", "ok"}}) == 1);
  // The model was cold: the simulator reported its 600 ms load in load_duration.
  CHECK(sample_value(text, "ollama_meter_cold_loads_total",
                     {{"model", "bge-m3"}, {"route", "/api/embed"}})
            .value_or(0) >= 1);
}

TEST_CASE("a live scrape of ollama-meter passes promtool check metrics") {
  auto sim = start_sim(sim_args);
  auto meter = start_meter(sim.authority());
  drive_traffic(meter.authority());
  const auto scrape = request(meter.authority(), "GET", "/metrics");
  REQUIRE(scrape.status == 200);
  CHECK(scrape.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(scrape.body.find("ollama_meter_embed_input_duration_seconds_bucket") != std::string::npos);

  temp_dir dir;
  write_file(dir.path() / "scrape.txt", scrape.body);
  const auto checked = run_promtool({"check", "metrics"}, dir.path() / "scrape.txt");
  INFO(checked.out << checked.err << "\n" << scrape.body);
  CHECK(checked.status == 0);
}

TEST_CASE(
    "metrics: --metrics-listen serves /metrics and /healthz on their own port, not the API port") {
  auto sim = start_sim(sim_args);
  auto meter = start_meter(sim.authority(), {"--metrics-listen", "127.0.0.1:0"});
  const std::string marker = "metrics on http://";
  REQUIRE(meter.wait_stderr(marker, 10s));
  const std::string log = meter.stderr_text();
  const std::size_t start = log.find(marker) + marker.size();
  const std::string metrics = log.substr(start, log.find_first_of(" ,\n", start) - start);
  INFO("metrics listener " << metrics << "\n" << log);

  CHECK(request(meter.authority(), "POST", "/api/embed", R"({"model":"bge-m3","input":["a"]})")
            .status == 200);
  const auto scrape = request(metrics, "GET", "/metrics");
  CHECK(scrape.status == 200);
  CHECK(sample_value(scrape.body, "ollama_meter_build_info", {{"version", METER_VERSION}}) == 1);
  CHECK(request(metrics, "GET", "/healthz").status == 200);
  // On the API port /metrics is an ordinary path, passed to Ollama (which has no such route).
  const auto api = request(meter.authority(), "GET", "/metrics");
  CHECK(api.status == 404);
  CHECK(api.body.find("ollama_meter_") == std::string::npos);
}

TEST_CASE(
    "every query of the dashboard returns data from a real Prometheus scraping ollama-meter") {
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  auto sim = start_sim(sim_args);
  auto meter = start_meter(sim.authority());
  prometheus_server prometheus(job, meter.authority(), "1s", deadline);
  const auto logs = [&] {
    return "prometheus log:\n" + prometheus.log() + "\nollama-meter log:\n" + meter.stderr_text();
  };

  const auto checked = run_promtool({"check", "config", prometheus.config_path().string()});
  CHECK(checked.status == 0);

  const std::string up = "up{job=\"" + std::string(job) + "\"} == 1";
  if (!poll_until(deadline, [&] { return !prometheus.query_result(up).empty(); })) {
    FAIL("prometheus never scraped ollama-meter successfully\n" << logs());
  }

  // Every request the meter has answered so far is in a sample Prometheus has stored.
  const std::string served_query = "sum(ollama_meter_requests_total{route!=\"/metrics\"})";
  const auto scraped_all = [&](const std::string& scrape) {
    const double served = sum_except_route(scrape, "ollama_meter_requests_total", "/metrics");
    return poll_until(
        deadline, [&] { return scalar_value(prometheus.query_result(served_query)) >= served; });
  };

  // Traffic before and after the series' first scrape, so rate() sees every one of them grow:
  // the second round starts only once a scrape has seen all of the first.
  drive_traffic(meter.authority());
  if (!scraped_all(request(meter.authority(), "GET", "/metrics").body)) {
    FAIL("prometheus never scraped the first round of traffic\n" << logs());
  }
  drive_traffic(meter.authority());
  // Wait for the abandoned request to be accounted for, then for a scrape that saw everything.
  std::string scrape;
  if (!poll_until(deadline, [&] {
        scrape = request(meter.authority(), "GET", "/metrics").body;
        return sample_count(scrape, "ollama_meter_client_disconnects_total") > 0 &&
               sum_except_route(scrape, "ollama_meter_requests_in_flight", "/metrics") == 0;
      })) {
    FAIL("the abandoned request was never counted as a client disconnect\n" << scrape << logs());
  }
  if (!scraped_all(scrape)) {
    FAIL("prometheus never scraped the second round of traffic\n" << logs());
  }

  // Evaluate every query until each has data or the deadline passes, then report each.
  const auto queries = dashboard_queries(load_json_file(dashboard_path()));
  REQUIRE_FALSE(queries.empty());
  std::vector<nlohmann::json> answers(queries.size(), nlohmann::json::object());
  poll_until(
      deadline,
      [&] {
        bool all = true;
        for (std::size_t i = 0; i < queries.size(); ++i) {
          const std::string status = answers[i].value("status", "");
          if (status == "error" ||
              (status == "success" && has_numeric_sample(answers[i]["data"]["result"]))) {
            all = all && status == "success";
            continue; // final: a parse error does not go away, data does not either
          }
          answers[i] = prometheus.query(substitute_grafana_variables(queries[i].expr, "1m", "5m"));
          all = all && answers[i].value("status", "") == "success" &&
                has_numeric_sample(answers[i]["data"]["result"]);
        }
        return all;
      },
      500ms);
  std::size_t failed = 0;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    INFO(queries[i].where << "\n" << queries[i].expr << "\nanswer: " << answers[i].dump());
    const bool parsed = answers[i].value("status", "") == "success";
    const bool has_data = parsed && has_numeric_sample(answers[i]["data"]["result"]);
    CHECK(parsed);
    CHECK(has_data);
    failed += has_data ? 0 : 1;
  }
  if (failed > 0) {
    WARN(logs());
  }
}
