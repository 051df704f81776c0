// ollama-sim as a process: the serial/parallel runner, the queue limit, cold loads, clients that
// leave, the stats and log endpoints, and seeded random faults.
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_client.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace meter::test;
using clock_type = std::chrono::steady_clock;

namespace {

struct timed {
  http_response response;
  clock_type::duration took;
};

std::future<timed> embed_async(const child_process& sim, std::string body) {
  return std::async(std::launch::async, [authority = sim.authority(), body] {
    auto start = clock_type::now();
    auto r = request(authority, "POST", "/api/embed", body, {}, 10s);
    return timed{r, clock_type::now() - start};
  });
}

// Polls the sim's counters until `done` holds (bounded); returns the last snapshot.
template <typename Predicate>
sim_counters wait_for_stats(const child_process& sim, Predicate done,
                            std::chrono::milliseconds timeout = 5s) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto s = sim_stats(sim.authority());
    if (done(s) || clock_type::now() > deadline) {
      return s;
    }
    std::this_thread::sleep_for(2ms);
  }
}

std::string model_input(const std::string& input) {
  return R"({"model":"all-minilm","input":[")" + input + R"("]})";
}

} // namespace

TEST_CASE("sim: the serial runner computes one call at a time, so two take twice as long",
          "[sim]") {
  auto sim = start_sim({"--dims", "4", "--call-cost-ms", "150"});
  auto single = embed_async(sim, model_input("solo")).get();
  CHECK(single.response.status == 200);
  CHECK(single.took >= 150ms);
  CHECK(single.took < 280ms);

  auto a = embed_async(sim, model_input("a"));
  auto b = embed_async(sim, model_input("b"));
  auto ra = a.get();
  auto rb = b.get();
  CHECK(ra.response.status == 200);
  CHECK(rb.response.status == 200);
  auto slower = std::max(ra.took, rb.took);
  CHECK(slower >= 290ms);
  CHECK(slower < 450ms);
  auto stats = sim_stats(sim.authority());
  CHECK(stats.runner_busy_peak == 1);
  CHECK(stats.embed_peak == 2);
  CHECK(stats.embed_in_flight == 0);

  // Inside one request the inputs queue on the same runner too.
  auto batch = embed_async(sim, R"({"model":"all-minilm","input":["x","y"]})").get();
  CHECK(batch.took >= 290ms);
}

TEST_CASE("sim: parallel mode runs as many calls at once as it has slots", "[sim]") {
  auto sim =
      start_sim({"--dims", "4", "--runner", "parallel", "--slots", "2", "--call-cost-ms", "150"});
  auto a = embed_async(sim, model_input("a"));
  auto b = embed_async(sim, model_input("b"));
  auto c = embed_async(sim, model_input("c"));
  std::vector<clock_type::duration> took{a.get().took, b.get().took, c.get().took};
  std::sort(took.begin(), took.end());
  CHECK(took[1] < 280ms);
  CHECK(took[2] >= 290ms);
  CHECK(sim_stats(sim.authority()).runner_busy_peak == 2);
}

TEST_CASE("sim: a full queue answers 503 with Ollama's exact text", "[sim]") {
  auto sim = start_sim({"--dims", "4", "--call-cost-ms", "400", "--max-queue", "1"});
  auto a = embed_async(sim, model_input("a"));
  auto b = embed_async(sim, model_input("b"));
  auto stats = wait_for_stats(sim, [](const sim_counters& s) { return s.embed_in_flight == 2; });
  REQUIRE(stats.embed_in_flight == 2);
  auto start = clock_type::now();
  auto rejected = request(sim.authority(), "POST", "/api/embed", model_input("c"), {}, 10s);
  CHECK(clock_type::now() - start < 200ms);
  CHECK(rejected.status == 503);
  CHECK(rejected.header("Content-Type") == "application/json; charset=utf-8");
  CHECK(rejected.body ==
        R"({"error":"server busy, please try again.  maximum pending requests exceeded"})");
  CHECK(a.get().response.status == 200);
  CHECK(b.get().response.status == 200);
  CHECK(sim_stats(sim.authority()).rejected_busy == 1);
}

TEST_CASE("sim: @sleep waits outside the runner slot, so sleeps overlap in serial mode", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  auto start = clock_type::now();
  auto r = request(
      sim.authority(), "POST", "/api/embed",
      R"({"model":"all-minilm","input":["@sleep=300;alpha","@sleep=200;bravo","@sleep=100;charlie"]})",
      {}, 10s);
  auto took = clock_type::now() - start;
  CHECK(r.status == 200);
  CHECK(took >= 300ms);
  CHECK(took < 550ms);
  auto a = embed_async(sim, model_input("@sleep=250;x"));
  auto b = embed_async(sim, model_input("@sleep=250;y"));
  CHECK(a.get().took < 450ms);
  CHECK(b.get().took < 450ms);
  CHECK(sim_stats(sim.authority()).embed_peak >= 2);
}

TEST_CASE("sim: a cold load delays the first call for each model only", "[sim]") {
  auto sim = start_sim({"--dims", "4", "--cold-load-ms", "250"});
  auto first = embed_async(sim, model_input("a")).get();
  CHECK(first.took >= 250ms);
  CHECK(parse_json(first.response.body)["load_duration"].get<long long>() >= 250'000'000);
  auto second = embed_async(sim, model_input("b")).get();
  CHECK(second.took < 200ms);
  CHECK(parse_json(second.response.body)["load_duration"].get<long long>() < 100'000'000);
  auto other_model =
      request(sim.authority(), "POST", "/api/embed", R"({"model":"bge-m3","input":"x"})", {}, 10s);
  CHECK(parse_json(other_model.body)["load_duration"].get<long long>() >= 250'000'000);
}

TEST_CASE("sim: a client leaving while the sim waits counts as closed early and frees its slot",
          "[sim]") {
  // 20 ms per token: the abandoned input (152 tokens) would hold the runner for about 3 s.
  auto sim = start_sim({"--dims", "4", "--token-cost-us", "20000"});
  std::string words;
  for (int i = 0; i < 150; ++i) {
    words += "w ";
  }
  int fd = connect_to(sim.authority());
  std::string body = model_input(words);
  std::string bytes =
      "POST /api/embed HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
  auto busy = wait_for_stats(sim, [](const sim_counters& s) { return s.embed_in_flight == 1; });
  REQUIRE(busy.embed_in_flight == 1);
  ::close(fd);
  auto after = wait_for_stats(sim, [](const sim_counters& s) { return s.closed_early == 1; });
  CHECK(after.closed_early == 1);
  CHECK(after.embed_in_flight == 0);
  // The runner slot was released: a new call is not stuck behind the abandoned one.
  auto next = embed_async(sim, model_input("next")).get();
  CHECK(next.response.status == 200);
  CHECK(next.took < 1000ms);
  auto log = sim_log(sim.authority());
  REQUIRE(log.size() == 2);
  CHECK(log[0].closed_early);
  CHECK(log[0].complete);
  CHECK_FALSE(log[1].closed_early);
}

TEST_CASE("sim: stats and the request log report calls, headers, bodies and times", "[sim]") {
  auto sim = start_sim({"--dims", "4"});
  auto before = clock_type::now().time_since_epoch().count();
  auto r = request(sim.authority(), "POST", "/api/embed?trace=1", model_input("logged"),
                   {{"X-Test", "one"}, {"Content-Type", "application/json"}}, 10s);
  CHECK(r.status == 200);
  request(sim.authority(), "GET", "/api/tags");
  auto stats = sim_stats(sim.authority());
  CHECK(stats.embed_calls == 1);
  CHECK(stats.requests == 2);
  CHECK(stats.embed_inputs == 1);
  CHECK(stats.embed_not_single == 0);
  CHECK(stats.connections_total >= 3);
  auto log = sim_log(sim.authority());
  REQUIRE(log.size() == 2);
  const auto& e = log[0];
  CHECK(e.method == "POST");
  CHECK(e.target == "/api/embed?trace=1");
  CHECK(e.version == "1.1");
  CHECK(e.header("x-test") == "one");
  CHECK(e.body == model_input("logged"));
  CHECK(e.body_size == model_input("logged").size());
  CHECK(e.status == 200);
  CHECK(e.t_start_ns >= before);
  CHECK(e.t_end_ns >= e.t_start_ns);
  CHECK(sim_log(sim.authority(), e.seq).size() == 1);

  request(sim.authority(), "POST", "/api/embed", R"({"model":"all-minilm","input":"bare"})");
  CHECK(sim_stats(sim.authority()).embed_not_single == 1);
  auto bad_utf8 = request(sim.authority(), "POST", "/api/embed", "{\"model\":\"\xff\"}");
  CHECK(bad_utf8.status == 400);
  CHECK(sim_log(sim.authority()).back().body == "{\"model\":\"\xEF\xBF\xBD\"}");

  sim_reset(sim.authority());
  auto cleared = sim_stats(sim.authority());
  CHECK(cleared.embed_calls == 0);
  CHECK(cleared.requests == 0);
  CHECK(sim_log(sim.authority()).empty());
}

TEST_CASE("sim: random faults follow the seed and the request bodies", "[sim]") {
  auto run = [](const std::string& seed) {
    auto sim = start_sim({"--dims", "4", "--error-rate", "0.5", "--seed", seed});
    std::string pattern;
    for (int i = 0; i < 24; ++i) {
      auto r =
          request(sim.authority(), "POST", "/api/embed", model_input("f" + std::to_string(i % 12)));
      pattern += r.status == 200 ? '.' : 'E';
      if (r.status != 200) {
        CHECK(r.status == 500);
        CHECK(parse_json(r.body)["error"] == "simulated runner failure (--error-rate)");
      }
    }
    CHECK(sim_stats(sim.authority()).faults_injected ==
          static_cast<std::uint64_t>(std::count(pattern.begin(), pattern.end(), 'E')));
    return pattern;
  };
  auto first = run("7");
  CHECK(first == run("7"));
  CHECK(first != run("8"));
  CHECK(first.find('E') != std::string::npos);
  CHECK(first.find('.') != std::string::npos);

  auto dropper = start_sim({"--dims", "4", "--drop-rate", "1"});
  CHECK_THROWS(request(dropper.authority(), "POST", "/api/embed", model_input("d")));
}
