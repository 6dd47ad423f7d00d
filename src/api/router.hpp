// The route table and request dispatch. Every route, REST and WebSocket upgrade alike, is one
// row: its path pattern and, per method, the handler and who may call it (Access). The router
// matches the path (trailing-slash redirects), authenticates, checks the method (405), CSRF,
// then the declared access (reading the route's meeting), and only then runs the handler:
// no handler checks permissions by hand.
#pragma once

#include <optional>
#include <variant>

#include "api/context.hpp"
#include "http/message.hpp"

namespace castera::api {

// Who may call an endpoint.
enum class Access {
    anyone,                  // no credentials needed
    user,                    // any signed-in, active user
    staff,                   // is_staff users
    meeting_member,          // any user who may take part in the route's meeting (it must exist)
    meeting_owner_or_admin,  // the route's meeting's owner, or an admin
};

// Handles a request that is not a WebSocket upgrade.
Task<http::Response> handle_request(const http::Request& req, ApiDeps& deps);

// A WebSocket upgrade the router let through: who asked, and the meeting whose room it joins.
struct UpgradeGrant {
    User user;
    AuthMethod auth = AuthMethod::none;
    Meeting meeting;
};

// Decides a WebSocket upgrade request: the refusal to answer (403, 404, ...), or the grant.
Task<std::variant<http::Response, UpgradeGrant>> admit_upgrade(const http::Request& req, ApiDeps& deps);

}  // namespace castera::api
