// The simulator's I/O shell: the shared context, one request exchange on a connection, and the
// helpers its handlers use to wait (watching for the client going away) and to write answers.
#pragma once

#include "tests/sim/config.hpp"
#include "tests/sim/embed_logic.hpp"
#include "tests/sim/embedding.hpp"
#include "tests/sim/http_rules.hpp"
#include "tests/sim/models.hpp"
#include "tests/sim/reply.hpp"
#include "tests/sim/runner.hpp"
#include "tests/sim/sim_state.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>

namespace meter::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
template <typename T = void>
using awaitable = net::awaitable<T>;
inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

struct sim_context {
  explicit sim_context(sim_config config);

  sim_config cfg;
  model_catalog catalog;
  sim_state state;
  vector_text_cache cache;
  fault_dice dice;
  cors_policy cors;
  runner_pool runner;
  std::string hostname;
  std::vector<std::string> local_ips;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();

  std::mutex blobs_mutex;
  std::set<std::string> blobs; // digests uploaded so far
};

// One request on a connection, from its header to the end of its response.
struct exchange {
  exchange(sim_context& c, beast::tcp_stream& s, beast::flat_buffer& b,
           http::request_parser<http::empty_body>& p)
      : ctx(c), stream(s), buffer(b), parser(p) {}

  sim_context& ctx;
  beast::tcp_stream& stream;
  beast::flat_buffer& buffer;
  http::request_parser<http::empty_body>& parser; // header done; body not read yet
  std::string body;                               // filled by read_body()
  bool body_read = false;
  bool head_request = false;
  bool http11 = true;
  bool client_keep_alive = true;
  bool expect_continue = false;
  std::uint64_t seq = 0;
  std::chrono::steady_clock::time_point t_start;
  header_list extra_headers;     // CORS headers added to every answer
  bool is_embed = false;         // counted in embed_in_flight / embed_peak
  bool finished = false;         // recorded as complete in the stats and the log
  bool close_after = false;      // the connection must close after this exchange
  bool body_left_unread = false; // close only after draining what the client still sends
  bool closed_early = false;     // the client left before the response was complete
  unsigned status_sent = 0;
};

struct send_options {
  std::optional<std::uint32_t> chunks; // @chunked=N
  bool drop = false;                   // @drop or --drop-rate
};

// Records the exchange as complete (stats, log). Called just before the last bytes of a response
// are written, so a client that has read the whole response always finds it complete; later
// calls only record a client that left early.
void finish_exchange(exchange& ex);

// Reads the whole request body (sending 100 Continue first when asked); false if the client left.
awaitable<bool> read_body(exchange& ex);
// Writes `count` interim answers (102 Processing), as @interim asks; false if the client left.
awaitable<bool> send_interim(exchange& ex, std::uint32_t count);
// Writes a complete answer with Go's framing; honours @chunked and @drop.
awaitable<void> send_reply(exchange& ex, reply r, send_options options = {});
// Waits `delay` unless the client closes the connection first (then marks closed_early and
// returns false).
awaitable<bool> wait_watching(exchange& ex, std::chrono::nanoseconds delay);
awaitable<bool> wait_until_watching(exchange& ex, std::chrono::steady_clock::time_point at);
// Completes with true once the peer has closed; pipelined bytes make it wait until cancelled.
awaitable<bool> peer_closed(exchange& ex);

// An NDJSON (or other) stream: the head goes out with the first line, each line is its own chunk
// (HTTP/1.1) or raw bytes on a close-delimited body (HTTP/1.0).
class line_stream {
public:
  line_stream(exchange& ex, std::string content_type);
  awaitable<bool> write(std::string_view line);
  awaitable<bool> finish();
  void abort(); // close the connection now (@drop)

private:
  exchange& ex_;
  std::string content_type_;
  bool started_ = false;
};

awaitable<void> serve_embed(exchange& ex, embed_api api);
awaitable<void> serve_generation(exchange& ex, bool chat);
awaitable<void> serve_pull(exchange& ex);
awaitable<void> serve_blob(exchange& ex, const std::string& digest);

inline std::int64_t elapsed_ns(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              from)
      .count();
}

} // namespace meter::sim
