#include "api/router.hpp"

#include <array>
#include <charconv>
#include <chrono>

#include "admin/console.hpp"
#include "api/handlers.hpp"
#include "observe/log.hpp"
#include "http/responses.hpp"
#include "util/random.hpp"
#include "web/static_files.hpp"

namespace castera::api {
namespace {

using http::Method;
using http::Response;

struct Endpoint {
    Handler handler = nullptr;
    Access access = Access::user;
    std::string_view refusal = {};  // the 403's text when it is not DRF's usual one
};

struct Route {
    std::string_view pattern;  // segments; "{id}" is a positive integer, "{room}" any segment
    Endpoint get, post, put, patch, del;
    // A WebSocket route: who may open it (its trailing slash is optional, as the old server's).
    std::optional<Access> upgrade = std::nullopt;
};

using enum Access;

// Literal routes come before parameterised ones that could also match them.
const std::array kRoutes = {
    Route{.pattern = "/healthz", .get = {healthz, anyone}},
    Route{.pattern = "/readyz", .get = {readyz, anyone}},
    Route{.pattern = "/metrics", .get = {metrics, anyone}},  // its own bearer token, when set
    Route{.pattern = "/api/", .get = {api_root, anyone}},
    Route{.pattern = "/api/schema/", .get = {api_schema, anyone}},
    Route{.pattern = "/api/auth/login/", .post = {login, anyone}},
    Route{.pattern = "/api/auth/logout/", .post = {logout, user}},
    Route{.pattern = "/api/auth/me/", .get = {me, user}},
    Route{.pattern = "/api/auth/tokens/", .get = {list_api_tokens, user}, .post = {create_api_token, user}},
    Route{.pattern = "/api/auth/tokens/{id}/", .del = {delete_api_token, user}},
    Route{.pattern = "/api/dashboard/", .get = {dashboard, user}},
    Route{.pattern = "/api/ice-servers/", .get = {ice_servers, user}},
    Route{.pattern = "/api/join/{room}/", .get = {join_meeting, user}},
    Route{.pattern = "/api/meetings/", .get = {list_meetings, user}, .post = {create_meeting, user}},
    Route{.pattern = "/api/meetings/upcoming/", .get = {upcoming_meetings, user}},
    Route{.pattern = "/api/meetings/previous/", .get = {previous_meetings, user}},
    Route{.pattern = "/api/meetings/{id}/",
          .get = {retrieve_meeting, meeting_member},
          .put = {replace_meeting, meeting_owner_or_admin},
          .patch = {patch_meeting, meeting_owner_or_admin},
          .del = {delete_meeting, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/set-status/", .post = {set_meeting_status, meeting_owner_or_admin}},
    // The old server's own wording for this refusal, kept for its clients.
    Route{.pattern = "/api/meetings/{id}/messages/",
          .get = {list_messages, meeting_owner_or_admin, "You are not allowed to view messages for this meeting."},
          .post = {create_message, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/recordings/",
          .get = {list_recordings, meeting_owner_or_admin},
          .post = {create_recording, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/", .get = {list_participants, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/mute-audio/", .post = {mute_audio, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/unmute-audio/", .post = {unmute_audio, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/stop-video/", .post = {stop_video, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/start-video/", .post = {start_video, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/stop-call/", .post = {stop_call, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/join-call/", .post = {join_call, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/raise-hand/", .post = {raise_hand, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/lower-hand/", .post = {lower_hand, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/start-screen-share/", .post = {start_screen_share, meeting_member}},
    Route{.pattern = "/api/meetings/{id}/stop-screen-share/", .post = {stop_screen_share, meeting_member}},
    // The room's controls and its moderation (docs/PROTOCOL.md, "Moderation").
    Route{.pattern = "/api/meetings/{id}/room/",
          .get = {room_settings, meeting_member},
          .patch = {patch_room_settings, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/mute-audio/",
          .post = {moderate_mute_audio, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/stop-video/",
          .post = {moderate_stop_video, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/stop-screen-share/",
          .post = {moderate_stop_screen_share, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/lower-hand/",
          .post = {moderate_lower_hand, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/kick/", .post = {moderate_kick, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/unban/", .post = {moderate_unban, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/admit/", .post = {moderate_admit, meeting_owner_or_admin}},
    Route{.pattern = "/api/meetings/{id}/participants/{user}/deny/", .post = {moderate_deny, meeting_owner_or_admin}},
    Route{.pattern = "/api/webhooks/events/", .get = {list_webhook_events, staff}},
    Route{.pattern = "/api/webhooks/events/{id}/retry/", .post = {retry_webhook_event, staff}},
    // The meeting's room: castera.v2 or the old protocol (realtime/ws_session).
    Route{.pattern = "/ws/meetings/{room}/", .upgrade = meeting_member},
};

struct Match {
    const Route* route = nullptr;
    Id id = 0;
    Id user = 0;  // a second id in the path ("{user}")
    std::string_view room;
};

std::string_view next_segment(std::string_view& s) {
    std::size_t slash = s.find('/');
    std::string_view seg = s.substr(0, slash);
    s = slash == std::string_view::npos ? std::string_view{} : s.substr(slash + 1);
    return seg;
}

bool parse_id(std::string_view text, Id& id) {
    if (text.empty() || text.size() > 18) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    return ec == std::errc{} && end == text.data() + text.size() && id > 0;
}

// Matches `path` against one pattern segment by segment, capturing parameters.
bool match(const Route& route, std::string_view path, Match& out) {
    std::string_view pattern = route.pattern;
    if (path.empty()) return false;
    // Segment splitting cannot see a trailing slash, so compare it first; a WebSocket route
    // takes its path with or without one.
    bool pattern_slash = pattern.back() == '/', path_slash = path.back() == '/';
    if (pattern_slash != path_slash) {
        if (!route.upgrade || !pattern_slash) return false;
        pattern.remove_suffix(1);
    }
    while (true) {
        bool pattern_done = pattern.empty();
        bool path_done = path.empty();
        if (pattern_done || path_done) return pattern_done && path_done;
        std::string_view want = next_segment(pattern);
        std::string_view got = next_segment(path);
        if (want == "{id}") {
            if (!parse_id(got, out.id)) return false;
        } else if (want == "{user}") {
            if (!parse_id(got, out.user)) return false;
        } else if (want == "{room}") {
            if (got.empty()) return false;
            out.room = got;
        } else if (want != got) {
            return false;
        }
    }
}

std::optional<Match> find_route(std::string_view path) {
    Match m;
    for (const Route& route : kRoutes)
        if (match(route, path, m)) {
            m.route = &route;
            return m;
        }
    return std::nullopt;
}

const Endpoint* endpoint_for(const Route& route, Method method) {
    const Endpoint* e = nullptr;
    switch (method) {
        case Method::get:
        case Method::head: e = &route.get; break;
        case Method::post: e = &route.post; break;
        case Method::put: e = &route.put; break;
        case Method::patch: e = &route.patch; break;
        case Method::del: e = &route.del; break;
        default: return nullptr;
    }
    return e->handler ? e : nullptr;
}

// As DRF: a route whose endpoints need a user authenticates before the method check (an
// anonymous DELETE on a list is 403, not 405).
bool needs_user(const Route& route) {
    for (const Endpoint* e : {&route.get, &route.post, &route.put, &route.patch, &route.del})
        if (e->handler && e->access != Access::anyone) return true;
    return false;
}

std::string allowed_methods(const Route& route) {
    std::string out;
    auto add = [&](const Endpoint& e, std::string_view names) {
        if (!e.handler) return;
        if (!out.empty()) out += ", ";
        out += names;
    };
    add(route.get, "GET, HEAD");
    add(route.post, "POST");
    add(route.put, "PUT");
    add(route.patch, "PATCH");
    add(route.del, "DELETE");
    if (!out.empty()) out += ", ";
    return out + "OPTIONS";
}

// A path that lacks only its trailing slash: GET and HEAD are redirected (as Django's
// APPEND_SLASH), other methods get 404 (a redirect would lose their body).
std::optional<Response> trailing_slash_response(const http::Request& req) {
    if (req.path.empty() || req.path.back() == '/') return std::nullopt;
    std::string with_slash = std::string(req.path) + "/";
    if (!find_route(with_slash)) return std::nullopt;
    if (req.method != Method::get && req.method != Method::head) return http::error_response(404, http::kNotFound);
    Response res;
    res.status = 301;
    res.content_type = "text/html; charset=utf-8";
    if (!req.query.empty()) with_slash.append("?").append(req.query);
    res.add_header("Location", with_slash);
    return res;
}

Response options_response(const Route& route) {
    Response res = http::json_response(200, "{\"name\":\"Castera\",\"renders\":[\"application/json\"],"
                                            "\"parses\":[\"application/json\",\"application/x-www-form-urlencoded\","
                                            "\"multipart/form-data\"]}");
    res.add_header("Allow", allowed_methods(route));
    return res;
}

Response method_not_allowed(const Route& route, std::string_view method) {
    Response res = http::error_response(405, "Method \"" + std::string(method) + "\" not allowed.");
    res.add_header("Allow", allowed_methods(route));
    return res;
}

void add_cors_headers(Response& res, std::string_view origin) {
    res.add_header("Access-Control-Allow-Origin", std::string(origin));
    res.add_header("Access-Control-Allow-Credentials", "true");
    res.add_header("Vary", "Origin");
}

// A browser's preflight (OPTIONS with Access-Control-Request-Method) carries no credentials,
// so it is answered before authentication.
Response preflight_response(const Route& route, std::string_view origin) {
    Response res;
    res.status = 204;
    res.add_header("Allow", allowed_methods(route));
    if (origin.empty()) return res;
    add_cors_headers(res, origin);
    res.add_header("Access-Control-Allow-Methods", allowed_methods(route));
    res.add_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-CSRFToken");
    res.add_header("Access-Control-Max-Age", "600");
    return res;
}

// Checks the declared access once the caller is known; for a meeting-scoped endpoint, reads the
// meeting first (404 when there is none). The refusal to send, or nothing.
Task<std::optional<Response>> check_access(RequestContext& ctx, Access access, std::string_view refusal,
                                          std::optional<std::optional<Meeting>> read_ahead) {
    if (access == Access::anyone || access == Access::user) co_return std::nullopt;
    const User& caller = ctx.caller();
    if (access == Access::staff) {
        if (services::is_staff(caller)) co_return std::nullopt;
        co_return http::error_response(403, http::kNoPermission);
    }
    if (read_ahead) ctx.meeting = std::move(*read_ahead);
    else if (!ctx.room.empty()) ctx.meeting = co_await ctx.services().meetings.find_by_room(ctx.room);
    else ctx.meeting = co_await ctx.services().meetings.find(ctx.id);
    if (!ctx.meeting)
        co_return http::error_response(404, ctx.room.empty() ? http::kNotFound : std::string_view("Meeting not found"));
    bool allowed = access == Access::meeting_member ? services::may_see(caller, *ctx.meeting)
                                                   : services::may_manage(caller, *ctx.meeting);
    if (allowed) co_return std::nullopt;
    co_return http::error_response(403, refusal.empty() ? http::kNoPermission : refusal);
}

// A route under one meeting's id: its meeting is read along with the session.
bool is_meeting_route(const Route& route) { return route.pattern.starts_with("/api/meetings/{id}/"); }

// Authenticates; the refusal to send, or nothing (ctx then has the user). On a meeting route
// the meeting may come back read with the session (MeetingReadAhead). Requests count against
// the per-user rate; WebSocket upgrades (`rate_limited` false) have limits of their own.
Task<std::optional<Response>> sign_in(RequestContext& ctx, const Route& route, std::string_view access_token,
                                     std::optional<std::optional<Meeting>>& read_ahead, bool rate_limited) {
    MeetingReadAhead ahead;
    if (is_meeting_route(route)) ahead.meeting_id = ctx.id;
    Authentication auth = co_await ctx.deps.authenticator.authenticate(ctx.req, access_token, &ahead);
    if (auth.failure) co_return std::move(auth.failure);
    if (!auth.user) co_return http::error_response(403, http::kNoCredentials);
    ctx.user = std::move(auth.user);
    ctx.auth = auth.method;
    read_ahead = std::move(ahead.meeting);
    if (!rate_limited) co_return std::nullopt;
    if (auto wait = ctx.deps.rate_limiter.take(ctx.user->id)) co_return http::throttled_response(wait->count());
    co_return std::nullopt;
}

std::size_t index_of(const Route& route) { return static_cast<std::size_t>(&route - kRoutes.data()); }

// What answering a request learned on the way, for the metrics and the access log.
struct RequestTrace {
    std::optional<std::size_t> route;  // the table's row, or HttpMetrics' admin or web pages
    Id user = 0;
};

Task<Response> route_request(const http::Request& req, ApiDeps& deps, RequestTrace& trace) {
    auto found = find_route(req.path);
    if (found) trace.route = index_of(*found->route);
    if (!found && (req.method == Method::get || req.method == Method::head)) {
        // The browser client's pages ("/", "/app/..."), before the 404.
        if (auto page = web::serve_static(req)) {
            trace.route = HttpMetrics::kWebPages;
            co_return std::move(*page);
        }
    }
    if (!found || found->route->upgrade) {
        if (auto redirect = trailing_slash_response(req)) co_return std::move(*redirect);
        co_return http::error_response(404, http::kNotFound);
    }
    const Route& route = *found->route;
    if (req.method == Method::options && !req.header("Access-Control-Request-Method").empty())
        co_return preflight_response(route, deps.origins.cors_origin(req));
    RequestContext ctx{req, deps, std::nullopt, AuthMethod::none, found->id, found->room};
    ctx.path_user = found->user;
    std::optional<std::optional<Meeting>> read_ahead;
    if (needs_user(route)) {
        auto refused = co_await sign_in(ctx, route, {}, read_ahead, true);
        if (ctx.user) trace.user = ctx.user->id;
        if (refused) co_return std::move(*refused);
    }
    if (req.method == Method::options) co_return options_response(route);
    const Endpoint* endpoint = endpoint_for(route, req.method);
    if (!endpoint) co_return method_not_allowed(route, req.method_name);
    if (ctx.auth == AuthMethod::session && req.is_unsafe())
        if (auto refused = deps.origins.check_csrf(req)) co_return std::move(*refused);
    if (auto refused = co_await check_access(ctx, endpoint->access, endpoint->refusal, std::move(read_ahead)))
        co_return std::move(*refused);
    co_return co_await endpoint->handler(ctx);
}

Response database_unavailable() { return http::error_response(503, "The database is unavailable; try again shortly."); }

// Runs the request, turning an escaped failure into a JSON error (503 when the database is
// away, else 500) instead of a crash, logged once with its context.
Task<Response> answer(const http::Request& req, ApiDeps& deps, RequestTrace& trace) {
    try {
        // The admin console's pages: HTML, its own redirects and refusals (admin/console.hpp).
        if (admin::owns(req.path)) {
            trace.route = HttpMetrics::kAdminPages;
            admin::Deps console{deps.services, deps.authenticator, deps.origins, deps.cookies, deps.roster,
                                deps.webhooks_enabled};
            co_return co_await admin::handle(req, console);
        }
        co_return co_await route_request(req, deps, trace);
    } catch (const StoreFull& e) {
        deps.counters.db_errors.add();
        log::error("http", "the database's disk is full", {{"method", req.method_name}, {"path", req.path}, {"error", e.what()}});
        co_return http::error_response(503, "The database's disk is full: changes cannot be stored until space is freed.");
    } catch (const StoreUnavailable& e) {
        deps.counters.db_errors.add();
        log::warning("http", "database unavailable", {{"method", req.method_name}, {"path", req.path}, {"error", e.what()}});
        co_return database_unavailable();
    } catch (const std::exception& e) {
        deps.counters.errors_logged.add();
        log::error("http", "unexpected error", {{"method", req.method_name}, {"path", req.path}, {"error", e.what()}});
        co_return http::error_response(500, "Internal server error.");
    }
}

}  // namespace

static_assert(kRoutes.size() < HttpMetrics::kAdminPages, "HttpMetrics::kMaxRoutes must exceed the route count");

std::size_t route_count() { return kRoutes.size(); }
std::string_view route_template(std::size_t index) { return kRoutes.at(index).pattern; }

std::string_view route_label(std::optional<std::size_t> index) {
    if (!index) return "unmatched";
    if (*index < kRoutes.size()) return kRoutes[*index].pattern;
    if (*index == HttpMetrics::kAdminPages) return "/admin/{page}";
    return *index == HttpMetrics::kWebPages ? "/app/{page}" : "unmatched";
}

std::vector<std::string_view> route_methods(std::size_t index) {
    const Route& route = kRoutes.at(index);
    std::vector<std::string_view> methods;
    if (route.get.handler || route.upgrade) methods.push_back("GET");
    if (route.post.handler) methods.push_back("POST");
    if (route.put.handler) methods.push_back("PUT");
    if (route.patch.handler) methods.push_back("PATCH");
    if (route.del.handler) methods.push_back("DELETE");
    return methods;
}

Task<Response> handle_request(const http::Request& req, ApiDeps& deps) {
    auto started = std::chrono::steady_clock::now();
    // The admin console's pages are same-origin HTML: no CORS.
    std::string_view origin = admin::owns(req.path) ? std::string_view() : deps.origins.cors_origin(req);
    RequestTrace trace;
    Response res = co_await answer(req, deps, trace);
    if (!origin.empty() && res.status != 204) add_cors_headers(res, origin);
    deps.counters.http.record(trace.route, req.method_name, res.status, std::chrono::steady_clock::now() - started);
    res.route = route_label(trace.route);
    res.user_id = trace.user;
    co_return res;
}

namespace {

Task<std::variant<Response, UpgradeGrant>> decide_upgrade(const http::Request& req, ApiDeps& deps,
                                                          RequestTrace& trace) {
    auto found = find_route(req.path);
    if (found) trace.route = index_of(*found->route);
    if (!found || !found->route->upgrade) co_return http::error_response(404, http::kNotFound);
    const Route& route = *found->route;
    const Access access = *route.upgrade;
    // A malformed handshake is refused before anyone is looked up.
    if (auto refused = http::websocket_handshake_refusal(req)) co_return std::move(*refused);
    // A room id that is not even a UUID names nothing, whoever asks.
    std::string room_id;
    if (!found->room.empty() && !parse_uuid(found->room, room_id)) co_return http::error_response(404, http::kNotFound);
    RequestContext ctx{req, deps, std::nullopt, AuthMethod::none, found->id, found->room};
    std::optional<std::optional<Meeting>> read_ahead;
    if (access != Access::anyone) {
        // Browsers cannot set headers on a WebSocket: a token may come as ?access_token=.
        std::string access_token;
        http::query_param(req.query, "access_token", access_token);
        auto refused = co_await sign_in(ctx, route, access_token, read_ahead, false);
        if (ctx.user) trace.user = ctx.user->id;
        if (refused) co_return std::move(*refused);
        // A page of another site must not open a socket with the visitor's cookies.
        if (ctx.auth == AuthMethod::session && !deps.origins.request_trusted(req))
            co_return http::error_response(403, "Origin not allowed.");
    }
    // The meeting with the room's controls for this user, in one statement: the read that
    // check_access would otherwise make.
    RoomEntry entry;
    if (ctx.user && !ctx.room.empty()) {
        entry = co_await deps.services.rooms.entry(ctx.room, ctx.user->id);
        read_ahead = std::move(entry.meeting);
    }
    if (auto refused = co_await check_access(ctx, access, {}, std::move(read_ahead))) co_return std::move(*refused);
    if (auto closed = services::room_closed_to(ctx.caller(), *ctx.meeting))
        co_return http::error_response(403, *closed);
    if (auto removed = services::room_refuses(ctx.caller(), *ctx.meeting, entry.banned))
        co_return http::error_response(403, *removed);
    co_return UpgradeGrant{std::move(*ctx.user), ctx.auth,   std::move(*ctx.meeting), route.pattern,
                           entry.locked,         entry.lobby, entry.admitted};
}

}  // namespace

Task<std::variant<Response, UpgradeGrant>> admit_upgrade(const http::Request& req, ApiDeps& deps) {
    auto started = std::chrono::steady_clock::now();
    RequestTrace trace;
    std::variant<Response, UpgradeGrant> decision;
    try {
        decision = co_await decide_upgrade(req, deps, trace);
    } catch (const StoreFull& e) {
        deps.counters.db_errors.add();
        log::error("http", "the database's disk is full", {{"method", req.method_name}, {"path", req.path}, {"error", e.what()}});
        co_return http::error_response(503, "The database's disk is full: changes cannot be stored until space is freed.");
    } catch (const StoreUnavailable& e) {
        deps.counters.db_errors.add();
        log::warning("http", "database unavailable", {{"path", req.path}, {"error", e.what()}});
        decision = database_unavailable();
    } catch (const std::exception& e) {
        deps.counters.errors_logged.add();
        log::error("http", "unexpected error at an upgrade", {{"path", req.path}, {"error", e.what()}});
        decision = http::error_response(500, "Internal server error.");
    }
    auto* refusal = std::get_if<Response>(&decision);
    deps.counters.http.record(trace.route, req.method_name, refusal ? refusal->status : 101,
                              std::chrono::steady_clock::now() - started);
    if (refusal) {
        refusal->route = route_label(trace.route);
        refusal->user_id = trace.user;
    }
    co_return decision;
}

}  // namespace castera::api
