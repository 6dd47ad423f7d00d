// What a handler gets: the request, its loop (and so the store), and who is asking.
#pragma once

#include <optional>
#include <string_view>

#include "app/app.hpp"
#include "auth/authenticate.hpp"
#include "http/message.hpp"

namespace castera::api {

struct RequestContext {
    const http::Request& req;
    Loop& loop;
    std::optional<User> user;         // set on routes that need authentication
    AuthMethod auth = AuthMethod::none;
    Id id = 0;                        // the {id} path parameter, when the route has one
    std::string_view room;            // the {room} path parameter, when the route has one
    // The {id} path's meeting, when authentication read it already (see MeetingReadAhead).
    std::optional<std::optional<Meeting>> meeting_read_ahead;

    Store& store() { return *loop.store; }
    App& app() { return loop.app; }
    const Config& config() { return loop.app.config; }
    const User& caller() { return *user; }
};

using Handler = Task<http::Response> (*)(RequestContext&);

}  // namespace castera::api
