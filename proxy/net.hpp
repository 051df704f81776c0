// The one home of the namespace aliases and the awaitable conventions used by the I/O shell.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace meter {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

template <typename T = void>
using awaitable = net::awaitable<T>;

// Completion token for operations whose failures are expected values, not exceptions.
inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

} // namespace meter
