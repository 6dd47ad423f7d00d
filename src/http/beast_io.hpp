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

// The answer to a request that could not be read (413, 431 or 400); the connection closes after it.
Response read_error_response(boost::beast::error_code ec);

// RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host field, and no request has
// two; anything else is a 400 (two Hosts could route one way and authenticate another).
bool has_valid_host(const BeastRequest::header_type& header);

// RFC 9112 section 6.1: castera reads one transfer coding, chunked, and only on HTTP/1.1. With
// any other Transfer-Encoding the body's length is unknown: Beast would read no body and take
// its bytes for the next request, a request smuggled past a proxy that reads them otherwise.
// False for such a request: it gets a 400 and the connection closes.
bool has_readable_framing(const BeastRequest::header_type& header);

// The status line and header block of `res` as write_response sends them.
std::string response_head(const Response& res, unsigned version, bool keep_alive);

// Writes `res` (headers only for HEAD); errors are left to the next read to notice.
Task<void> write_response(boost::beast::tcp_stream& stream, Response res, unsigned version,
                          bool keep_alive, bool head = false);

}  // namespace castera::http
