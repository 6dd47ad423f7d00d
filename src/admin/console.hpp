// The admin console at /admin/: Django admin's pages and URLs (index, login, logout, and per
// model the changelist, add, change, delete, history, and a user's password), and the webhook
// deliveries (/admin/webhooks/), served as HTML by the same binary over the same services,
// store and sessions as the API. Every write goes through services::Console, Meetings or
// Accounts with Actor::console, so the rooms hear the same events and Django's admin log gets
// its row in the same transaction.
#pragma once

#include <string_view>

#include "auth/authenticate.hpp"
#include "auth/origin_policy.hpp"
#include "auth/sessions.hpp"
#include "http/message.hpp"
#include "realtime/room_roster.hpp"
#include "services/services.hpp"

namespace castera::admin {

// What the console needs, for one event loop.
struct Deps {
    services::Services& services;
    Authenticator& authenticator;
    const OriginPolicy& origins;
    const CookieSettings& cookies;
    realtime::RoomRoster& roster;
    bool webhooks_enabled = false;  // CASTERA_WEBHOOK_URLS set (the deliveries page says when not)
};

// True for the paths the console answers: /admin and everything under /admin/.
inline bool owns(std::string_view path) { return path == "/admin" || path.starts_with("/admin/"); }

// Answers one request under /admin/: a page, a redirect, or an HTML error page; never JSON.
Task<http::Response> handle(const http::Request& req, Deps& deps);

}  // namespace castera::admin
