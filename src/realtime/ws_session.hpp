// A WebSocket connection to a meeting room, after the router let the upgrade through: the
// room's own limits and controls (lock, lobby), the handshake, a resume, then the session
// until the connection ends, and the resume window after a drop.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

#include "realtime/room_session.hpp"

namespace castera::realtime {

// The room's controls as the upgrade read them (RoomEntry), for this user.
struct RoomDoor {
    bool locked = false;
    bool lobby = false;
    bool admitted = false;
};

// How a session went, for the access log: 101 once accepted (429 when refused for the room's
// limits, 403 for its lock or lobby, 400 when the handshake failed), and the bytes each way.
struct SessionSummary {
    unsigned status = 101;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
};

// `user` may join `meeting`'s room (the router decided: not banned). Answers 429 when the room
// or the user has too many connections, 403 when the room is locked or (compatible clients)
// has a lobby the user was not admitted past, otherwise accepts and serves the room until
// the connection ends. `stream` and `req` stay the caller's, who awaits this to the end:
// taken by value, moved-from copies of them would sit in coroutine frames for the whole
// session of every connection. `request_id` goes back in the answer (X-Request-ID).
Task<SessionSummary> serve_websocket(boost::beast::tcp_stream&& stream,
                                     boost::beast::http::request<boost::beast::http::string_body>&& req, User user,
                                     Meeting meeting, RoomDoor door, RoomDeps& deps, std::string_view request_id);

}  // namespace castera::realtime
