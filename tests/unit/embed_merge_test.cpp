// Unit tests of reading single-input embed replies and merging them into the batch reply.
#include "proxy/embed_merge.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "proxy/embed_split.hpp"

namespace {

using meter::embed_part;
using meter::embed_result;
using meter::merge_embed_reply;
using meter::parse_embed_part;

// A reply body with its parse; the views point into `body`, so this never moves.
struct part_of {
  std::string body;
  std::optional<embed_part> part;

  explicit part_of(std::string text) : body(std::move(text)) {
    meter::reserve_padding(body);
    part = parse_embed_part(body);
  }
  part_of(const part_of&) = delete;
  part_of& operator=(const part_of&) = delete;
};

bool parses(const std::string& body) {
  return part_of(body).part.has_value();
}

embed_result result(std::string_view vector, std::int64_t duration, std::int64_t count = 0,
                    std::int64_t load = 0) {
  embed_result r;
  r.part.model = R"("m")";
  r.part.vector = vector;
  r.part.prompt_eval_count = count;
  r.part.load_duration = load;
  r.duration_ns = duration;
  return r;
}

} // namespace

TEST_CASE("A single-input reply gives its model token, vector text and counts") {
  const part_of p(R"({"model":"nomic-embed-text","embeddings":[[0.1,-0.2,3]],)"
                  R"("total_duration":123,"load_duration":45,"prompt_eval_count":3})");
  REQUIRE(p.part);
  CHECK(p.part->model == R"("nomic-embed-text")");
  CHECK(p.part->vector == "[0.1,-0.2,3]");
  CHECK(p.part->load_duration == 45);
  CHECK(p.part->prompt_eval_count == 3);
}

TEST_CASE("Missing counts read as zero") {
  const part_of p(R"({"model":"m","embeddings":[[1]]})");
  REQUIRE(p.part);
  CHECK(p.part->model == R"("m")");
  CHECK(p.part->vector == "[1]");
  CHECK(p.part->load_duration == 0);
  CHECK(p.part->prompt_eval_count == 0);
}

TEST_CASE("Whitespace-padded replies are read, and a vector keeps its inner bytes") {
  const part_of p("\r\n{ \"model\" : \"m\" ,\n \"embeddings\" : [ [ 0.1 , -0.2 ]\t] ,"
                  " \"load_duration\" : 7 , \"prompt_eval_count\" : 2 }\n\n");
  REQUIRE(p.part);
  CHECK(p.part->model == R"("m")");
  CHECK(p.part->vector == "[ 0.1 , -0.2 ]");
  CHECK(p.part->load_duration == 7);
  CHECK(p.part->prompt_eval_count == 2);
}

TEST_CASE("Odd number text in a vector is kept byte for byte") {
  const std::string vector =
      "[1e-7,-0,3.4028235e+38,0,1,-1,123456790,9.999999e-7,1E+2,-7.227309e-33,1e-45,0.000001]";
  const part_of p(R"({"model":"m","embeddings":[)" + vector + "]}");
  REQUIRE(p.part);
  CHECK(p.part->vector == vector);
}

TEST_CASE("Unknown members and total_duration are ignored") {
  const part_of p(R"({"x_future":{"a":[1,true,null,"s"]},"model":"m","total_duration":99,)"
                  R"("embeddings":[[0.5]],"extra":"\u003c","Model":5})");
  REQUIRE(p.part);
  CHECK(p.part->model == R"("m")");
  CHECK(p.part->vector == "[0.5]");
  CHECK(p.part->load_duration == 0);
}

TEST_CASE("Replies that are not exactly one embedding are rejected") {
  const char* const bodies[] = {
      "",
      "null",
      "[]",
      R"([{"embeddings":[[1]]}])",
      R"({"model":"m"})",
      R"({"embeddings":[[1]]})",
      R"({"model":null,"embeddings":[[1]]})",
      R"({"Model":"m","embeddings":[[1]]})",
      R"({"model":"m","model":"n","embeddings":[[1]]})",
      R"({"model":"\q","embeddings":[[1]]})",
      R"({"model":"m","Embeddings":[[1]]})",
      R"({"model":"m","embeddings":[]})",
      R"({"model":"m","embeddings":[[1],[2]]})",
      R"({"model":"m","embeddings":[1,2]})",
      R"({"model":"m","embeddings":"x"})",
      R"({"model":"m","embeddings":null})",
      R"({"model":"m","embeddings":{"a":[1]}})",
      R"({"model":"m","embeddings":[["a"]]})",
      R"({"model":"m","embeddings":[[null]]})",
      R"({"model":"m","embeddings":[[NaN]]})",
      R"({"model":"m","embeddings":[[Infinity]]})",
      R"({"model":"m","embeddings":[[1,]]})",
      R"({"model":"m","embeddings":[[,1]]})",
      R"({"model":"m","embeddings":[[1 2]]})",
      R"({"model":"m","embeddings":[[1,,2]]})",
      R"({"model":"m","embeddings":[[01]]})",
      R"({"model":"m","embeddings":[[1.]]})",
      R"({"model":"m","embeddings":[[.5]]})",
      R"({"model":"m","embeddings":[[-]]})",
      R"({"model":"m","embeddings":[[1e]]})",
      R"({"model":"m","embeddings":[[+1]]})",
      R"({"model":"m","embeddings":[[1,[2]]]})",
      R"({"model":"m","embeddings":[[{}]]})",
      R"({"model":"m","embeddings":[[1]],})",
      R"({"model":"m","embeddings":[[1],]})",
      R"({"model":"m","embeddings":[[1]]} x)",
      R"({"model":"m","embeddings":[[1]]}{})",
      R"({"model":"m","embeddings":[[1]])",
      R"({"model":"m","embeddings":[[1])",
      R"({"model":"m","embeddings":[[1,2)",
      R"({"model":5,"embeddings":[[1]]})",
      R"({"model":"m":"n","embeddings":[[1]]})",
      R"({"model":"m","embeddings":[[1]],"embeddings":[[2]]})",
      R"({"model":"m","embeddings":[[1]],"load_duration":1.5})",
      R"({"model":"m","embeddings":[[1]],"load_duration":"1"})",
      R"({"model":"m","embeddings":[[1]],"prompt_eval_count":"3"})",
      R"({"model":"m","embeddings":[[1]],"prompt_eval_count":null})",
      R"({"model":"m","embeddings":[[1]],"prompt_eval_count":1,"prompt_eval_count":2})",
      R"({"model":"m","embeddings":[[1]],"total_duration":tru})",
      R"({"model":"m","embeddings":[[1]],"x":[1 2]})",
      R"({"error":"the input length exceeds the context length"})",
  };
  for (const char* body : bodies) {
    INFO(body);
    CHECK_FALSE(parses(body));
  }
}

TEST_CASE("The merged reply has Ollama's key order and the two added arrays") {
  const std::vector<embed_result> results = {result("[0.1,0.2]", 400, 3, 10),
                                             result("[-0.5,1e-7]", 300, 4, 25)};
  CHECK(merge_embed_reply(R"("m")", results, 1000) ==
        R"({"model":"m","embeddings":[[0.1,0.2],[-0.5,1e-7]],"total_duration":1000,)"
        R"("load_duration":25,"prompt_eval_count":7,"embedding_durations":[400,300],)"
        R"("embedding_prompt_eval_counts":[3,4]})");
}

TEST_CASE("Zero totals are omitted as Go's omitempty does") {
  const std::vector<embed_result> results = {result("[1]", 5)};
  CHECK(merge_embed_reply(R"("m")", results, 0) ==
        R"({"model":"m","embeddings":[[1]],"embedding_durations":[5],)"
        R"("embedding_prompt_eval_counts":[0]})");
  CHECK(merge_embed_reply(R"("m")", results, 9) ==
        R"({"model":"m","embeddings":[[1]],"total_duration":9,"embedding_durations":[5],)"
        R"("embedding_prompt_eval_counts":[0]})");
  const std::vector<embed_result> loaded = {result("[1]", 5, 0, 8)};
  CHECK(merge_embed_reply(R"("m")", loaded, 0) ==
        R"({"model":"m","embeddings":[[1]],"load_duration":8,"embedding_durations":[5],)"
        R"("embedding_prompt_eval_counts":[0]})");
}

TEST_CASE("No results give empty arrays") {
  CHECK(merge_embed_reply(R"("m")", {}, 0) ==
        R"({"model":"m","embeddings":[],"embedding_durations":[],)"
        R"("embedding_prompt_eval_counts":[]})");
  CHECK(merge_embed_reply(R"("m")", {}, 12) ==
        R"({"model":"m","embeddings":[],"total_duration":12,"embedding_durations":[],)"
        R"("embedding_prompt_eval_counts":[]})");
}

TEST_CASE("load_duration is the largest of the parts and prompt_eval_count their sum") {
  const std::vector<embed_result> results = {result("[1]", 1, 10, 7), result("[2]", 2, 20, 900),
                                             result("[3]", 3, 30, 5)};
  const auto merged = nlohmann::json::parse(merge_embed_reply(R"("m")", results, 50));
  CHECK(merged.at("load_duration") == 900);
  CHECK(merged.at("prompt_eval_count") == 60);
  CHECK(merged.at("embedding_prompt_eval_counts") == nlohmann::json{10, 20, 30});
  CHECK(merged.at("embedding_durations") == nlohmann::json{1, 2, 3});
}

TEST_CASE("prompt_eval_count sums past the int64 range wrap around as Go's int does") {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::vector<embed_result> results = {result("[1]", 1, max), result("[2]", 2, max),
                                             result("[3]", 3, 3)};
  const auto merged = nlohmann::json::parse(merge_embed_reply(R"("m")", results, 9));
  CHECK(merged.at("prompt_eval_count") == 1); // max + max + 3 modulo 2^64
  CHECK(merged.at("embedding_prompt_eval_counts") == nlohmann::json{max, max, 3});
}

TEST_CASE("Extreme integers are written in full") {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::vector<embed_result> results = {result("[1]", max, max), result("[2]", -1, -5)};
  CHECK(merge_embed_reply(R"("m")", results, max) ==
        R"({"model":"m","embeddings":[[1],[2]],"total_duration":9223372036854775807,)"
        R"("prompt_eval_count":9223372036854775802,)"
        R"("embedding_durations":[9223372036854775807,-1],)"
        R"("embedding_prompt_eval_counts":[9223372036854775807,-5]})");
}

TEST_CASE("The model token is echoed exactly as the client sent it (C09)") {
  for (const std::string model :
       {R"("NOMIC-EMBED-TEXT")", R"("nomic-embed-text")", R"("a\u003cb \"q\"")", R"("")"}) {
    const auto merged = merge_embed_reply(model, {result("[1]", 1)}, 0);
    CHECK(merged.rfind(R"({"model":)" + model + R"(,"embeddings":)", 0) == 0);
  }
}

TEST_CASE("Vectors from real replies are spliced unchanged, padding and odd numbers included") {
  const part_of a(R"({"model":"m","embeddings":[[1e-7,-0,3.4028235e+38]],"prompt_eval_count":2})");
  const part_of b("{ \"model\" : \"m\" , \"embeddings\" : [ [ 0.25 ,\n-1 ] ] }\n");
  REQUIRE(a.part);
  REQUIRE(b.part);
  const std::vector<embed_result> results = {{*a.part, 11}, {*b.part, 22}};
  const std::string merged = merge_embed_reply(R"("m")", results, 33);
  CHECK(merged == "{\"model\":\"m\",\"embeddings\":[[1e-7,-0,3.4028235e+38],[ 0.25 ,\n-1 ]],"
                  "\"total_duration\":33,\"prompt_eval_count\":2,\"embedding_durations\":[11,22],"
                  "\"embedding_prompt_eval_counts\":[2,0]}");
  const auto j = nlohmann::json::parse(merged);
  CHECK(j.at("embeddings").at(1) == nlohmann::json{0.25, -1});
}

TEST_CASE("A merge of 512 vectors of 1024 numbers equals the parts joined in order") {
  std::vector<std::string> bodies;
  for (int i = 0; i < 512; ++i) {
    std::string vector = "[";
    for (int d = 0; d < 1024; ++d) {
      vector += (d ? "," : "") + std::to_string((i * 1024 + d) % 977 - 488) + "e-5";
    }
    bodies.push_back(R"({"model":"m","embeddings":[)" + vector +
                     R"(]],"total_duration":1,"load_duration":2,"prompt_eval_count":3})");
    meter::reserve_padding(bodies.back());
  }
  std::vector<embed_result> results;
  std::string expected_embeddings = "[";
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const auto part = parse_embed_part(bodies[i]);
    REQUIRE(part);
    results.push_back({*part, static_cast<std::int64_t>(i)});
    expected_embeddings += (i ? "," : "") + std::string(part->vector);
  }
  const std::string merged = merge_embed_reply(R"("m")", results, 1);
  CHECK(merged.find(R"("embeddings":)" + expected_embeddings + "]") != std::string::npos);
  const auto j = nlohmann::json::parse(merged);
  CHECK(j.at("embeddings").size() == 512);
  CHECK(j.at("embeddings").at(511).size() == 1024);
  CHECK(j.at("prompt_eval_count") == 512 * 3);
  CHECK(j.at("load_duration") == 2);
}

TEST_CASE("Digit runs of every length are checked up to their last byte") {
  for (std::size_t length = 1; length <= 24; ++length) {
    const std::string digits(length, '7');
    INFO(length);
    const std::string good = "[" + digits + ",0." + digits + ",-1." + digits + "e-" + digits +
                             ",1E+" + digits + "," + digits + "]";
    const part_of p(R"({"model":"m","embeddings":[)" + good + "]}");
    REQUIRE(p.part);
    CHECK(p.part->vector == good);
    const part_of last(R"({"model":"m","embeddings":[[)" + digits + "]]}");
    REQUIRE(last.part);
    CHECK(last.part->vector == "[" + digits + "]");
    for (const std::string& bad :
         {digits + "x", "0." + digits + "a", digits + ".1.2", digits + "-1", "1e" + digits + "e1",
          digits + "\xC3\xA9", "0" + digits, digits + ":1", digits + "+", "-" + digits + "."}) {
      INFO(bad);
      CHECK_FALSE(parses(R"({"model":"m","embeddings":[[1,)" + bad + ",2]]}"));
      CHECK_FALSE(parses(R"({"model":"m","embeddings":[[)" + bad + "]]}"));
    }
  }
}
