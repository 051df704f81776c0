// The one home of the namespace aliases and the awaitable conventions used by the I/O shell.
#pragma once

#include <chrono>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace meter {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// Every I/O object lives on one io_context (see io_threads.hpp). Naming that context's executor
// type, instead of the type-erased any_io_executor, spares a virtual copy and destruction of the
// executor in every handler.
using executor = net::io_context::executor_type;
using tcp_socket = net::basic_stream_socket<tcp, executor>;
using tcp_acceptor = net::basic_socket_acceptor<tcp, executor>;
using tcp_resolver = net::ip::basic_resolver<tcp, executor>;
using tcp_stream = beast::basic_stream<tcp, executor>;
using steady_timer =
    net::basic_waitable_timer<std::chrono::steady_clock,
                              net::wait_traits<std::chrono::steady_clock>, executor>;

template <typename T = void>
using awaitable = net::awaitable<T, executor>;

// Completion token for operations whose failures are expected values, not exceptions.
inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<executor>{});

} // namespace meter
