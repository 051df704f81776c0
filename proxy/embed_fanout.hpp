// POST /api/embed: read the body whole (bounded), split a plain batch into single-input upstream
// calls run concurrently within --max-fanout and --upstream-concurrency, time each from writing
// its request to reading its whole reply, and answer with the batch reassembled in input order.
// A body that is not in plain form is forwarded unchanged, so the client gets Ollama's answer.
#pragma once

#include "proxy/net.hpp"
#include "proxy/parsers.hpp"
#include "proxy/session.hpp"

namespace meter {

awaitable<request_outcome> handle_embed(client_side& client, services& svc,
                                        request_parser<http::empty_body>& parser);

} // namespace meter
