// What a handler gets: the request, the services of its loop, who is asking, and the path's
// parameters (with the meeting the route is about, read by the router before the handler).
#pragma once

#include <optional>
#include <string_view>

#include "auth/authenticate.hpp"
#include "auth/origin_policy.hpp"
#include "auth/sessions.hpp"
#include "auth/throttle.hpp"
#include "bus/room_bus.hpp"
#include "http/message.hpp"
#include "observe/counters.hpp"
#include "observe/metrics_source.hpp"
#include "realtime/room_roster.hpp"
#include "services/services.hpp"

namespace castera::api {

// The parts of castera the REST API uses, for one event loop.
struct ApiDeps {
    services::Services& services;
    Authenticator& authenticator;
    const OriginPolicy& origins;
    RequestRateLimiter& rate_limiter;
    const CookieSettings& cookies;
    const RoomBus& bus;  // its state, for /readyz
    LoopCounters& counters;
    const MetricsSource& metrics;
    const Config::Ice& ice;  // for GET /api/ice-servers/
    realtime::RoomRoster& roster;  // who is in a room now (the admin console's meeting pages)
    bool webhooks_enabled = false;  // CASTERA_WEBHOOK_URLS set: /readyz reports the outbox
};

struct RequestContext {
    const http::Request& req;
    ApiDeps& deps;
    std::optional<User> user;         // set on routes that need authentication
    AuthMethod auth = AuthMethod::none;
    Id id = 0;                        // the {id} path parameter, when the route has one
    std::string_view room;            // the {room} path parameter, when the route has one
    Id path_user = 0;                 // the {user} path parameter, when the route has one
    std::optional<Meeting> meeting;   // the route's meeting, on meeting-scoped routes

    services::Services& services() { return deps.services; }
    const User& caller() const { return *user; }
    // The meeting a meeting-scoped route is about (the router made sure it exists).
    const Meeting& path_meeting() const { return *meeting; }
};

using Handler = Task<http::Response> (*)(RequestContext&);

}  // namespace castera::api
