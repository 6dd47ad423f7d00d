// A WebSocket connection to a meeting room: authorisation at the upgrade, then the chat.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

#include "app/app.hpp"

namespace castera::realtime {

// Takes over a connection whose request asked for a WebSocket upgrade: answers 403/404 when
// the caller may not join, otherwise accepts and serves the room until the connection ends.
// `stream` and `req` stay the caller's, who awaits this to the end: taken by value, moved-from
// copies of them would sit in coroutine frames for the whole session of every connection.
Task<void> serve_websocket(boost::beast::tcp_stream&& stream,
                           boost::beast::http::request<boost::beast::http::string_body>&& req,
                           std::string remote, Loop& loop);

}  // namespace castera::realtime
