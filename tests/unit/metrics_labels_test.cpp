// The closed label sets (method, code, outcome, kind) and the capped `model` label table.
#include "metrics/labels.hpp"
#include "metrics/model_labels.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace meter::metrics;

TEST_CASE("known methods keep their name and anything else is other") {
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    CHECK(method_label(method_index(m)) == m);
  }
  CHECK(method_label(method_index("get")) == "other");
  CHECK(method_label(method_index("PROPFIND")) == "other");
  CHECK(method_label(method_index("")) == "other");
  CHECK(method_label(method_count + 5) == "other");
}

TEST_CASE("the code label is the numeric status, 0 for none, other when it is no HTTP status") {
  CHECK(status_label(200) == "200");
  CHECK(status_label(499) == "499");
  CHECK(status_label(0) == "0");
  CHECK(status_label(99) == "other");
  CHECK(status_label(1000) == "other");
}

TEST_CASE("outcome and failure kinds have fixed label values") {
  CHECK(outcome_label(input_outcome::ok) == "ok");
  CHECK(outcome_label(input_outcome::upstream_error) == "upstream_error");
  CHECK(outcome_label(input_outcome::proxy_error) == "proxy_error");
  CHECK(outcome_label(input_outcome::cancelled) == "cancelled");
  CHECK(failure_label(upstream_failure::connect) == "connect");
  CHECK(failure_label(upstream_failure::timeout) == "timeout");
  CHECK(failure_label(upstream_failure::reset) == "reset");
  CHECK(failure_label(upstream_failure::status_5xx) == "5xx");
}

TEST_CASE("a model name is a label value only when it is printable UTF-8 of bounded length") {
  CHECK(is_admissible_model_name("nomic-embed-text:latest"));
  CHECK(is_admissible_model_name("registry.example.com:5000/team/bge-m3:q8_0"));
  CHECK(is_admissible_model_name("mod\xc3\xa8le-\xe6\xa8\xa1\xe5\x9e\x8b"));
  CHECK_FALSE(is_admissible_model_name(""));
  CHECK_FALSE(is_admissible_model_name("other"));
  CHECK_FALSE(is_admissible_model_name("a\nb"));
  CHECK_FALSE(is_admissible_model_name(std::string("a\0b", 3)));
  CHECK_FALSE(is_admissible_model_name("a\x7f"));
  CHECK_FALSE(is_admissible_model_name("bad\xff"));
  CHECK_FALSE(is_admissible_model_name("trunc\xe6\xa8"));
  CHECK_FALSE(is_admissible_model_name("overlong\xc0\xaf"));
  CHECK_FALSE(is_admissible_model_name("surrogate\xed\xa0\x80"));
  CHECK(is_admissible_model_name(std::string(max_model_name_bytes, 'm')));
  CHECK_FALSE(is_admissible_model_name(std::string(max_model_name_bytes + 1, 'm')));
}

TEST_CASE("the first N distinct models get their own index and later ones share other") {
  model_label_table table(3);
  CHECK(table.index_of("a") == 0);
  CHECK(table.index_of("b") == 1);
  CHECK(table.index_of("a") == 0);
  CHECK(table.index_of("c") == 2);
  CHECK(table.index_of("d") == table.other_index());
  CHECK(table.index_of("b") == 1);
  CHECK(table.label(1) == "b");
  CHECK(table.label(table.other_index()) == "other");
}

TEST_CASE("names unfit for a label go to other without using up a slot") {
  model_label_table table(1);
  CHECK(table.index_of("") == table.other_index());
  CHECK(table.index_of("x\ny") == table.other_index());
  CHECK(table.index_of("other") == table.other_index());
  CHECK(table.index_of("m") == 0);
}

TEST_CASE("a zero capacity puts every model in other") {
  model_label_table table(0);
  CHECK(table.index_of("m") == table.other_index());
  CHECK(table.label(table.other_index()) == "other");
}

TEST_CASE("concurrent lookups agree on indices and never exceed the capacity") {
  constexpr std::size_t capacity = 50;
  model_label_table table(capacity);
  constexpr int threads = 4;
  std::vector<std::vector<std::size_t>> seen(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        seen[t].push_back(table.index_of("model-" + std::to_string(i)));
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  std::set<std::size_t> distinct;
  for (int i = 0; i < 200; ++i) {
    for (int t = 1; t < threads; ++t) {
      REQUIRE(seen[t][i] == seen[0][i]);
    }
    distinct.insert(seen[0][i]);
  }
  CHECK(distinct.size() == capacity + 1); // every slot plus `other`
  for (std::size_t i = 0; i < capacity; ++i) {
    CHECK(table.label(i).starts_with("model-"));
  }
}
