#include "auth/authenticate.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "auth/csrf.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "auth/sessions.hpp"
#include "http/responses.hpp"
#include "util/encoding.hpp"
#include "util/time.hpp"
#include "util/async_reply.hpp"
#include "util/validate.hpp"

namespace castera {
namespace {

using http::error_response;

Authentication failed(std::string_view detail) {
    Authentication result;
    result.failure = error_response(403, detail);
    return result;
}

// The session cookie's user, or nothing (an unknown or expired session is simply anonymous,
// as in Django, so that Basic credentials can still be tried). Answered from the loop's cache
// while the database has not changed since; else read with the meeting asked for, if any.
Task<std::optional<User>> user_from_session(const http::Request& req, Loop& loop, MeetingReadAhead* read_ahead) {
    std::string_view key = req.cookie(kSessionCookie);
    if (key.empty() || key.size() > 128) co_return std::nullopt;
    TimePoint now = now_utc();
    std::uint64_t stamp = loop.store->change_stamp();
    if (const User* known = loop.auth_cache.session_user(key, stamp, now)) co_return *known;
    std::optional<SessionUser> found;
    if (read_ahead && read_ahead->meeting_id > 0) {
        auto both = co_await loop.store->find_session_user_and_meeting(session_key_hash(key), read_ahead->meeting_id);
        if (both.found) read_ahead->meeting = std::move(both.meeting);
        found = std::move(both.found);
    } else {
        found = co_await loop.store->find_session_user(session_key_hash(key));
    }
    if (!found || found->session.expires <= now || !found->user.is_active) co_return std::nullopt;
    loop.auth_cache.remember_session(key, *found, stamp);
    co_return std::move(found->user);
}

// A user by id, from the loop's cache while the database has not changed since.
Task<std::optional<User>> user_by_id(Loop& loop, Id id) {
    std::uint64_t stamp = loop.store->change_stamp();
    if (const User* known = loop.auth_cache.user(id, stamp)) co_return *known;
    auto user = co_await loop.store->find_user(id);
    if (user) loop.auth_cache.remember_user(*user, stamp);
    co_return user;
}

// DRF's BasicAuthentication, with verified credentials remembered in the credential cache.
Task<Authentication> authenticate_basic(std::string_view header, std::string_view remote_address, Loop& loop) {
    std::string_view rest = header.substr(5);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    if (rest.empty()) co_return failed("Invalid basic header. No credentials provided.");
    if (rest.find(' ') != std::string_view::npos)
        co_return failed("Invalid basic header. Credentials string should not contain spaces.");
    auto decoded = base64_decode(rest);
    if (!decoded || !is_valid_utf8(*decoded))
        co_return failed("Invalid basic header. Credentials not correctly base64 encoded.");
    std::size_t colon = decoded->find(':');
    std::string email = decoded->substr(0, colon);
    std::string password = colon == std::string::npos ? std::string() : decoded->substr(colon + 1);

    App& app = loop.app;
    if (auto cached = app.credentials.find(header)) {
        auto user = co_await user_by_id(loop, cached->user_id);
        // The cached check stands only while the user still has the hash it was made against.
        if (user && user->password == cached->password_hash && user->email == email) {
            if (!user->is_active) co_return failed("User inactive or deleted.");
            co_return Authentication{std::move(user), AuthMethod::basic, std::nullopt};
        }
    }
    if (auto wait = app.login_throttle.wait_time(email, remote_address))
        co_return Authentication{std::nullopt, AuthMethod::none, http::throttled_response(wait->count())};
    auto user = co_await loop.store->find_user_by_email(email);
    bool valid = false;
    if (user) valid = co_await check_password_off_loop(loop, std::move(password), user->password);
    if (!valid) {
        app.login_throttle.record_failure(email, remote_address);
        co_return failed("Invalid username/password.");
    }
    app.login_throttle.record_success(email);
    if (!user->is_active) co_return failed("User inactive or deleted.");
    app.credentials.remember(header, user->id, user->password, app.config.credential_cache_ttl);
    co_return Authentication{std::move(user), AuthMethod::basic, std::nullopt};
}

// The credential after a scheme word ("Token abc"), with DRF's messages for malformed ones.
std::optional<std::string_view> scheme_credential(std::string_view header, std::string_view scheme,
                                                  std::string& problem) {
    std::string_view rest = header.substr(scheme.size());
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    if (rest.empty()) problem = "Invalid token header. No credentials provided.";
    else if (rest.find(' ') != std::string_view::npos)
        problem = "Invalid token header. Token string should not contain spaces.";
    else return rest;
    return std::nullopt;
}

// The user a verified Clerk token names: found by email, created on first sight with an
// unusable password, and kept up to date with the token's name and picture.
Task<User> user_for_identity(Loop& loop, ClerkIdentity identity) {
    Store& store = *loop.store;
    auto user = co_await store.find_user_by_email(identity.email);
    if (!user) {
        NewUser fresh;
        fresh.email = identity.email;
        fresh.password = make_unusable_password();
        fresh.full_name = identity.full_name;
        fresh.image = identity.image;
        fresh.role = identity.admin ? "admin" : "user";
        try {
            co_return co_await store.create_user(std::move(fresh));
        } catch (const StoreConflict&) {
            // Another request created it a moment ago.
        }
        user = co_await store.find_user_by_email(identity.email);
        if (!user) throw StoreUnavailable("a user created by a token vanished");
        co_return std::move(*user);
    }
    bool changed = false;
    if (identity.full_name && identity.full_name != user->full_name) user->full_name = identity.full_name, changed = true;
    if (identity.image && identity.image != user->image) user->image = identity.image, changed = true;
    if (changed) co_await store.update_user(*user);
    co_return std::move(*user);
}

Task<Authentication> authenticate_bearer(std::string_view token, Loop& loop) {
    App& app = loop.app;
    if (!app.clerk.enabled()) co_return failed("Invalid token.");
    auto parsed = jwt::parse(token);
    if (!parsed) co_return failed("Invalid token.");
    auto key = app.clerk.find(jwt::key_id(*parsed));
    if (!key) co_return failed("Invalid token.");
    jwt::Verified verified = jwt::verify(*parsed, *key, app.clerk.policy(), now_utc());
    if (!verified.claims) co_return failed(verified.error);
    auto identity = identity_from_claims(*verified.claims, app.config.clerk);
    if (!identity) co_return failed("Invalid token: it names no valid email address.");
    User user = co_await user_for_identity(loop, std::move(*identity));
    if (!user.is_active) co_return failed("User inactive or deleted.");
    co_return Authentication{std::move(user), AuthMethod::bearer, std::nullopt};
}

// "last used" is written at most once a minute per token, so that a busy script does not turn
// every read into a write.
constexpr std::chrono::seconds kTokenTouchInterval{60};

Task<Authentication> authenticate_api_token(std::string_view key, Loop& loop) {
    if (key.size() > 128) co_return failed("Invalid token.");
    auto token = co_await loop.store->find_api_token(api_token_hash(key));
    TimePoint now = now_utc();
    if (!token || (token->expires_at && *token->expires_at <= now)) co_return failed("Invalid token.");
    auto user = co_await user_by_id(loop, token->user_id);
    if (!user || !user->is_active) co_return failed("User inactive or deleted.");
    if (!token->last_used_at || *token->last_used_at + kTokenTouchInterval <= now)
        co_await loop.store->touch_api_token(token->id, now);
    co_return Authentication{std::move(user), AuthMethod::token, std::nullopt};
}

bool starts_with_word(std::string_view header, std::string_view word) {
    if (header.size() < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != word[i]) return false;
    return header.size() == word.size() || header[word.size()] == ' ';
}

}  // namespace

bool origin_is_trusted(const http::Request& req, const Config& config) {
    std::string_view origin = req.header("Origin");
    if (origin.empty()) return true;
    std::string_view host = req.header("Host");
    if (origin == "http://" + std::string(host) || origin == "https://" + std::string(host)) return true;
    for (const auto& allowed : config.allowed_origins)
        if (origin == allowed) return true;
    return false;
}

// Not a coroutine on purpose: the strings move straight into the job, never through a frame.
Task<bool> check_password_off_loop(Loop& loop, std::string raw, std::string encoded) {
    return run_elsewhere(loop.app.hashing, [raw = std::move(raw), encoded = std::move(encoded)] {
        return is_usable_password(encoded) && check_password(raw, encoded);
    });
}

std::string api_token_hash(std::string_view key) { return sha256_hex(key); }

Task<Authentication> authenticate(const http::Request& req, Loop& loop, std::string_view access_token,
                                  MeetingReadAhead* read_ahead) {
    if (auto user = co_await user_from_session(req, loop, read_ahead))
        co_return Authentication{std::move(user), AuthMethod::session, std::nullopt};
    std::string_view header = req.header("Authorization");
    if (header.empty() && !access_token.empty()) {
        // A WebSocket's ?access_token=: a JWT has two dots, an API token none.
        if (std::count(access_token.begin(), access_token.end(), '.') == 2)
            co_return co_await authenticate_bearer(access_token, loop);
        co_return co_await authenticate_api_token(access_token, loop);
    }
    if (header.empty()) co_return Authentication{};
    if (starts_with_word(header, "basic")) co_return co_await authenticate_basic(header, req.remote_address, loop);
    std::string problem;
    if (starts_with_word(header, "bearer")) {
        auto token = scheme_credential(header, "bearer", problem);
        if (!token) co_return failed(problem);
        co_return co_await authenticate_bearer(*token, loop);
    }
    if (starts_with_word(header, "token")) {
        auto token = scheme_credential(header, "token", problem);
        if (!token) co_return failed(problem);
        co_return co_await authenticate_api_token(*token, loop);
    }
    // An unknown scheme is no credential at all, as in DRF (which then says none were given).
    co_return Authentication{};
}

std::optional<http::Response> check_login_origin(const http::Request& req, const Config& config) {
    if (origin_is_trusted(req, config)) return std::nullopt;
    return error_response(403, "CSRF Failed: Origin checking failed - " + std::string(req.header("Origin")) +
                                   " does not match any trusted origins.");
}

namespace {

bool is_secure_request(const http::Request& req, const Config& config) {
    return config.trust_forwarded_proto && req.header("X-Forwarded-Proto") == "https";
}

// Django's referer check for HTTPS requests without an Origin header: a man in the middle
// of plain HTTP can plant a cookie, so the request must come from one of our own pages.
std::optional<http::Response> check_referer(const http::Request& req, const Config& config) {
    std::string_view referer = req.header("Referer");
    if (referer.empty()) return error_response(403, "CSRF Failed: Referer checking failed - no Referer.");
    if (!referer.starts_with("https://")) {
        if (!referer.starts_with("http://"))
            return error_response(403, "CSRF Failed: Referer checking failed - Referer is malformed.");
        return error_response(403, "CSRF Failed: Referer checking failed - Referer is insecure while host is secure.");
    }
    std::string_view rest = referer.substr(8);
    std::string origin = "https://" + std::string(rest.substr(0, rest.find_first_of("/?#")));
    bool trusted = origin == "https://" + std::string(req.header("Host"));
    for (const auto& allowed : config.allowed_origins) trusted = trusted || origin == allowed;
    if (trusted) return std::nullopt;
    return error_response(403, "CSRF Failed: Referer checking failed - " + std::string(referer) +
                                   " does not match any trusted origins.");
}

}  // namespace

std::optional<http::Response> check_csrf(const http::Request& req, const Config& config,
                                         std::string_view form_token) {
    if (auto refused = check_login_origin(req, config)) return refused;
    if (req.header("Origin").empty() && is_secure_request(req, config))
        if (auto refused = check_referer(req, config)) return refused;
    std::string_view cookie = req.cookie(kCsrfCookie);
    auto secret = unmask_csrf_token(cookie);
    if (cookie.empty() || !secret) return error_response(403, "CSRF Failed: CSRF cookie not set.");
    std::string_view token = req.header("X-CSRFToken");
    if (token.empty()) token = form_token;
    if (token.empty()) return error_response(403, "CSRF Failed: CSRF token missing.");
    if (!csrf_tokens_match(token, *secret)) return error_response(403, "CSRF Failed: CSRF token incorrect.");
    return std::nullopt;
}

}  // namespace castera
