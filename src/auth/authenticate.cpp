#include "auth/authenticate.hpp"

#include <algorithm>

#include "auth/clerk.hpp"
#include "auth/credential_cache.hpp"
#include "auth/jwt.hpp"
#include "auth/sessions.hpp"
#include "http/responses.hpp"
#include "util/encoding.hpp"
#include "util/time.hpp"
#include "util/validate.hpp"

namespace castera {
namespace {

using http::error_response;

Authentication failed(std::string_view detail) {
    Authentication result;
    result.failure = error_response(403, detail);
    return result;
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

bool starts_with_word(std::string_view header, std::string_view word) {
    if (header.size() < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != word[i]) return false;
    return header.size() == word.size() || header[word.size()] == ' ';
}

// "last used" is written at most once a minute per token, so that a busy script does not turn
// every read into a write.
constexpr std::chrono::seconds kTokenTouchInterval{60};

}  // namespace

// The session cookie's user, or nothing (an unknown or expired session is simply anonymous,
// as in Django, so that Basic credentials can still be tried). Answered from the loop's cache
// while the database has not changed since; else read with the meeting asked for, if any.
Task<std::optional<User>> Authenticator::user_from_session(const http::Request& req, MeetingReadAhead* read_ahead) {
    std::string_view key = req.cookie(kSessionCookie);
    if (key.empty() || key.size() > 128) co_return std::nullopt;
    TimePoint now = now_utc();
    std::uint64_t stamp = deps_.store.change_stamp();
    if (const User* known = deps_.cache.session_user(key, stamp, now)) co_return *known;
    std::optional<SessionUser> found;
    if (read_ahead && read_ahead->meeting_id > 0) {
        auto both = co_await deps_.store.find_session_user_and_meeting(services::session_key_hash(key),
                                                                      read_ahead->meeting_id);
        if (both.found) read_ahead->meeting = std::move(both.meeting);
        found = std::move(both.found);
    } else {
        found = co_await deps_.store.find_session_user(services::session_key_hash(key));
    }
    if (!found || found->session.expires <= now || !found->user.is_active) co_return std::nullopt;
    deps_.cache.remember_session(key, *found, stamp);
    co_return std::move(found->user);
}

// A user by id, from the loop's cache while the database has not changed since.
Task<std::optional<User>> Authenticator::user_by_id(Id id) {
    std::uint64_t stamp = deps_.store.change_stamp();
    if (const User* known = deps_.cache.user(id, stamp)) co_return *known;
    auto user = co_await deps_.store.find_user(id);
    if (user) deps_.cache.remember_user(*user, stamp);
    co_return user;
}

// DRF's BasicAuthentication, with verified credentials remembered in the credential cache.
Task<Authentication> Authenticator::authenticate_basic(std::string_view header, std::string_view remote_address) {
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

    if (auto cached = deps_.credentials.find(header)) {
        auto user = co_await user_by_id(cached->user_id);
        // The cached check stands only while the user still has the hash it was made against.
        if (user && user->password == cached->password_hash && user->email == email) {
            if (!user->is_active) co_return failed("User inactive or deleted.");
            co_return Authentication{std::move(user), AuthMethod::basic, std::nullopt};
        }
    }
    auto signed_in = co_await deps_.accounts.sign_in_with_password(email, std::move(password), remote_address);
    if (!signed_in) {
        const services::Refusal& refusal = signed_in.refusal();
        if (refusal.kind == services::Refusal::Kind::throttled)
            co_return Authentication{std::nullopt, AuthMethod::none, http::throttled_response(refusal.retry_after)};
        if (refusal.kind == services::Refusal::Kind::inactive) co_return failed("User inactive or deleted.");
        co_return failed("Invalid username/password.");
    }
    User& user = signed_in.value();
    deps_.credentials.remember(header, user.id, user.password, deps_.credential_ttl);
    co_return Authentication{std::move(user), AuthMethod::basic, std::nullopt};
}

Task<Authentication> Authenticator::authenticate_bearer(std::string_view token) {
    ClerkKeys& clerk = deps_.clerk;
    if (!clerk.enabled()) co_return failed("Invalid token.");
    auto parsed = jwt::parse(token);
    if (!parsed) co_return failed("Invalid token.");
    auto key = clerk.find(jwt::key_id(*parsed));
    if (!key) co_return failed("Invalid token.");
    jwt::Verified verified = jwt::verify(*parsed, *key, clerk.policy(), now_utc());
    if (!verified.claims) co_return failed(verified.error);
    auto identity = identity_from_claims(*verified.claims, deps_.clerk_config);
    if (!identity) co_return failed("Invalid token: it names no valid email address.");
    services::ExternalIdentity external{std::move(identity->email), std::move(identity->full_name),
                                        std::move(identity->image), identity->admin};
    User user = co_await deps_.accounts.user_for_identity(std::move(external));
    if (!user.is_active) co_return failed("User inactive or deleted.");
    co_return Authentication{std::move(user), AuthMethod::bearer, std::nullopt};
}

Task<Authentication> Authenticator::authenticate_api_token(std::string_view key) {
    if (key.size() > 128) co_return failed("Invalid token.");
    auto token = co_await deps_.store.find_api_token(services::api_token_hash(key));
    TimePoint now = now_utc();
    if (!token || (token->expires_at && *token->expires_at <= now)) co_return failed("Invalid token.");
    auto user = co_await user_by_id(token->user_id);
    if (!user || !user->is_active) co_return failed("User inactive or deleted.");
    if (!token->last_used_at || *token->last_used_at + kTokenTouchInterval <= now)
        co_await deps_.store.touch_api_token(token->id, now);
    co_return Authentication{std::move(user), AuthMethod::token, std::nullopt};
}

Task<Authentication> Authenticator::authenticate(const http::Request& req, std::string_view access_token,
                                                 MeetingReadAhead* read_ahead) {
    if (auto user = co_await user_from_session(req, read_ahead))
        co_return Authentication{std::move(user), AuthMethod::session, std::nullopt};
    std::string_view header = req.header("Authorization");
    if (header.empty() && !access_token.empty()) {
        // A WebSocket's ?access_token=: a JWT has two dots, an API token none.
        if (std::count(access_token.begin(), access_token.end(), '.') == 2)
            co_return co_await authenticate_bearer(access_token);
        co_return co_await authenticate_api_token(access_token);
    }
    if (header.empty()) co_return Authentication{};
    if (starts_with_word(header, "basic")) co_return co_await authenticate_basic(header, req.remote_address);
    std::string problem;
    if (starts_with_word(header, "bearer")) {
        auto token = scheme_credential(header, "bearer", problem);
        if (!token) co_return failed(problem);
        co_return co_await authenticate_bearer(*token);
    }
    if (starts_with_word(header, "token")) {
        auto token = scheme_credential(header, "token", problem);
        if (!token) co_return failed(problem);
        co_return co_await authenticate_api_token(*token);
    }
    // An unknown scheme is no credential at all, as in DRF (which then says none were given).
    co_return Authentication{};
}

}  // namespace castera
