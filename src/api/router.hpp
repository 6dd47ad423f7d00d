// The route table and request dispatch. Every route, REST and WebSocket upgrade alike, is one
// row: its path pattern and, per method, the handler and who may call it (Access). The router
// matches the path (trailing-slash redirects), authenticates, checks the method (405), CSRF,
// then the declared access (reading the route's meeting), and only then runs the handler:
// no handler checks permissions by hand.
#pragma once

#include <optional>
#include <variant>
#include <vector>

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

// The route table's rows, for the metrics' route labels (the path pattern, "{id}" and all).
std::size_t route_count();
std::string_view route_template(std::size_t index);
// The label of a request's route for the metrics and the access log: its template, the admin
// console's or the web client's pages, or "unmatched".
std::string_view route_label(std::optional<std::size_t> index);
// The row's methods ("GET", "POST", ...; "GET" for a WebSocket route's upgrade), for the test
// that holds the OpenAPI document to the table.
std::vector<std::string_view> route_methods(std::size_t index);

// Handles a request that is not a WebSocket upgrade. Never throws: a failure escaping a
// handler is a 503 (database) or 500, logged. Counted in the loop's HttpMetrics.
Task<http::Response> handle_request(const http::Request& req, ApiDeps& deps);

// A WebSocket upgrade the router let through: who asked, and the meeting whose room it joins.
struct UpgradeGrant {
    User user;
    AuthMethod auth = AuthMethod::none;
    Meeting meeting;
    std::string_view route;  // the route's template, for the access log
    // The room's controls, as they apply to this user (read with the meeting).
    bool locked = false;
    bool lobby = false;
    bool admitted = false;
};

// Decides a WebSocket upgrade request: the refusal to answer (403, 404, 503, ...), or the
// grant. Counted in the loop's HttpMetrics (101 for a grant).
Task<std::variant<http::Response, UpgradeGrant>> admit_upgrade(const http::Request& req, ApiDeps& deps);

}  // namespace castera::api
