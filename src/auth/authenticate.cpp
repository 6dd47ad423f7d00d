#include "auth/authenticate.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "auth/csrf.hpp"
#include "auth/password.hpp"
#include "auth/sessions.hpp"
#include "http/responses.hpp"
#include "util/encoding.hpp"
#include "util/time.hpp"
#include "util/offload.hpp"
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
// as in Django, so that Basic credentials can still be tried).
Task<std::optional<User>> user_from_session(const http::Request& req, Loop& loop) {
    std::string_view key = req.cookie(kSessionCookie);
    if (key.empty() || key.size() > 128) co_return std::nullopt;
    auto session = co_await loop.store->find_session(session_key_hash(key));
    if (!session || session->expires <= now_utc()) co_return std::nullopt;
    auto user = co_await loop.store->find_user(session->user_id);
    if (!user || !user->is_active) co_return std::nullopt;
    co_return user;
}

// DRF's BasicAuthentication, with verified credentials remembered in the credential cache.
Task<Authentication> authenticate_basic(std::string_view header, Loop& loop) {
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
        auto user = co_await loop.store->find_user(cached->user_id);
        // The cached check stands only while the user still has the hash it was made against.
        if (user && user->password == cached->password_hash && user->email == email) {
            if (!user->is_active) co_return failed("User inactive or deleted.");
            co_return Authentication{std::move(user), AuthMethod::basic, std::nullopt};
        }
    }
    auto user = co_await loop.store->find_user_by_email(email);
    bool valid = false;
    if (user) valid = co_await check_password_off_loop(loop, std::move(password), user->password);
    if (!valid) co_return failed("Invalid username/password.");
    if (!user->is_active) co_return failed("User inactive or deleted.");
    app.credentials.remember(header, user->id, user->password, app.config.credential_cache_ttl);
    co_return Authentication{std::move(user), AuthMethod::basic, std::nullopt};
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
    return offload(loop.app.hashing, [raw = std::move(raw), encoded = std::move(encoded)] {
        return is_usable_password(encoded) && check_password(raw, encoded);
    });
}

Task<Authentication> authenticate(const http::Request& req, Loop& loop) {
    if (auto user = co_await user_from_session(req, loop))
        co_return Authentication{std::move(user), AuthMethod::session, std::nullopt};
    std::string_view header = req.header("Authorization");
    if (starts_with_word(header, "basic")) co_return co_await authenticate_basic(header, loop);
    co_return Authentication{};
}

std::optional<http::Response> check_login_origin(const http::Request& req, const Config& config) {
    if (origin_is_trusted(req, config)) return std::nullopt;
    return error_response(403, "CSRF Failed: Origin checking failed - " + std::string(req.header("Origin")) +
                                   " does not match any trusted origins.");
}

std::optional<http::Response> check_csrf(const http::Request& req, const Config& config,
                                         std::string_view form_token) {
    if (auto refused = check_login_origin(req, config)) return refused;
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
