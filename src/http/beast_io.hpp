// The seam between Beast and our own request/response types, for the server and the
// WebSocket upgrade.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/message.hpp"
#include "store/store.hpp"

namespace castera::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// A view of `req`; valid while `req` and `remote` live.
Request make_request_view(const BeastRequest& req, std::string_view remote);

// Writes `res` (headers only for HEAD); errors are left to the next read to notice.
Task<void> write_response(boost::beast::tcp_stream& stream, Response res, unsigned version,
                          bool keep_alive, bool head = false);

}  // namespace castera::http
