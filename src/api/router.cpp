#include "api/router.hpp"

#include <array>
#include <charconv>

#include "api/handlers.hpp"
#include "http/responses.hpp"
#include "web/static_files.hpp"

namespace castera::api {
namespace {

using http::Method;
using http::Response;

struct Route {
    std::string_view pattern;  // segments; "{id}" is a positive integer, "{room}" any segment
    bool needs_auth;
    Handler get = nullptr;
    Handler post = nullptr;
    Handler put = nullptr;
    Handler patch = nullptr;
    Handler del = nullptr;
};

// Literal routes come before parameterised ones that could also match them.
const std::array kRoutes = {
    Route{"/healthz", false, healthz},
    Route{"/readyz", false, readyz},
    Route{"/api/", false, api_root},
    Route{"/api/auth/login/", false, nullptr, login},
    Route{"/api/auth/logout/", true, nullptr, logout},
    Route{"/api/auth/me/", true, me},
    Route{"/api/auth/tokens/", true, list_api_tokens, create_api_token},
    Route{"/api/auth/tokens/{id}/", true, nullptr, nullptr, nullptr, nullptr, delete_api_token},
    Route{"/api/dashboard/", true, dashboard},
    Route{"/api/join/{room}/", true, join_meeting},
    Route{"/api/meetings/", true, list_meetings, create_meeting},
    Route{"/api/meetings/upcoming/", true, upcoming_meetings},
    Route{"/api/meetings/previous/", true, previous_meetings},
    Route{"/api/meetings/{id}/", true, retrieve_meeting, nullptr, replace_meeting, patch_meeting, delete_meeting},
    Route{"/api/meetings/{id}/set-status/", true, nullptr, set_meeting_status},
    Route{"/api/meetings/{id}/messages/", true, list_messages, create_message},
    Route{"/api/meetings/{id}/recordings/", true, list_recordings, create_recording},
    Route{"/api/meetings/{id}/participants/", true, list_participants},
    Route{"/api/meetings/{id}/mute-audio/", true, nullptr, mute_audio},
    Route{"/api/meetings/{id}/unmute-audio/", true, nullptr, unmute_audio},
    Route{"/api/meetings/{id}/stop-video/", true, nullptr, stop_video},
    Route{"/api/meetings/{id}/start-video/", true, nullptr, start_video},
    Route{"/api/meetings/{id}/stop-call/", true, nullptr, stop_call},
    Route{"/api/meetings/{id}/join-call/", true, nullptr, join_call},
    Route{"/api/meetings/{id}/raise-hand/", true, nullptr, raise_hand},
    Route{"/api/meetings/{id}/lower-hand/", true, nullptr, lower_hand},
    Route{"/api/meetings/{id}/start-screen-share/", true, nullptr, start_screen_share},
    Route{"/api/meetings/{id}/stop-screen-share/", true, nullptr, stop_screen_share},
};

struct Match {
    const Route* route = nullptr;
    Id id = 0;
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
    // Segment splitting cannot see a trailing slash, so compare it first.
    if (path.empty() || (pattern.back() == '/') != (path.back() == '/')) return false;
    while (true) {
        bool pattern_done = pattern.empty();
        bool path_done = path.empty();
        if (pattern_done || path_done) return pattern_done && path_done;
        std::string_view want = next_segment(pattern);
        std::string_view got = next_segment(path);
        if (want == "{id}") {
            if (!parse_id(got, out.id)) return false;
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

// A route under one meeting: its handlers begin by reading that meeting (find_path_meeting).
bool is_meeting_route(const Route& route) { return route.pattern.starts_with("/api/meetings/{id}/"); }

Handler handler_for(const Route& route, Method method) {
    switch (method) {
        case Method::get:
        case Method::head: return route.get;
        case Method::post: return route.post;
        case Method::put: return route.put;
        case Method::patch: return route.patch;
        case Method::del: return route.del;
        default: return nullptr;
    }
}

std::string allowed_methods(const Route& route) {
    std::string out;
    auto add = [&](Handler h, std::string_view names) {
        if (!h) return;
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

// The request's Origin when it is one of CASTERA_ALLOWED_ORIGINS, else empty: only those
// origins get CORS headers, with credentials; every other site gets none, so browsers keep
// their pages from reading our answers.
std::string_view cors_origin(const http::Request& req, const Config& config) {
    std::string_view origin = req.header("Origin");
    if (origin.empty()) return {};
    for (const auto& allowed : config.allowed_origins)
        if (origin == allowed) return origin;
    return {};
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

Task<Response> route_request(const http::Request& req, Loop& loop);

}  // namespace

Task<Response> handle_request(const http::Request& req, Loop& loop) {
    std::string_view origin = cors_origin(req, loop.app.config);
    Response res = co_await route_request(req, loop);
    if (!origin.empty() && res.status != 204) add_cors_headers(res, origin);
    co_return res;
}

namespace {

Task<Response> route_request(const http::Request& req, Loop& loop) {
    auto found = find_route(req.path);
    if (!found) {
        // The browser client's pages ("/", "/app/..."): GET and HEAD only, before the 404.
        if (req.method == Method::get || req.method == Method::head)
            if (auto page = web::serve_static(req)) co_return std::move(*page);
        if (auto redirect = trailing_slash_response(req)) co_return std::move(*redirect);
        co_return http::error_response(404, http::kNotFound);
    }
    const Route& route = *found->route;
    if (req.method == Method::options && !req.header("Access-Control-Request-Method").empty())
        co_return preflight_response(route, cors_origin(req, loop.app.config));
    RequestContext ctx{req, loop, std::nullopt, AuthMethod::none, found->id, found->room};
    if (route.needs_auth) {
        // As DRF: authentication and permission come before the method check.
        MeetingReadAhead read_ahead;
        if (is_meeting_route(route)) read_ahead.meeting_id = found->id;
        Authentication auth = co_await authenticate(req, loop, {}, &read_ahead);
        if (auth.failure) co_return std::move(*auth.failure);
        if (!auth.user) co_return http::error_response(403, http::kNoCredentials);
        ctx.user = std::move(auth.user);
        ctx.auth = auth.method;
        ctx.meeting_read_ahead = std::move(read_ahead.meeting);
        if (auto wait = loop.app.request_limiter.take(ctx.user->id)) co_return http::throttled_response(wait->count());
    }
    if (req.method == Method::options) co_return options_response(route);
    Handler handler = handler_for(route, req.method);
    if (!handler) co_return method_not_allowed(route, req.method_name);
    if (ctx.auth == AuthMethod::session && req.is_unsafe())
        if (auto refused = check_csrf(req, loop.app.config)) co_return std::move(*refused);
    co_return co_await handler(ctx);
}

}  // namespace

}  // namespace castera::api
