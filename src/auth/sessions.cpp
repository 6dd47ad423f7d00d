#include "auth/sessions.hpp"

#include <ctime>

#include "auth/csrf.hpp"
#include "util/encoding.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

constexpr std::chrono::seconds kCsrfCookieAge{31449600};  // one year, as Django

// An HTTP date for a cookie's Expires attribute.
std::string http_date(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string cookie(std::string_view name, std::string_view value, std::chrono::seconds age,
                   bool http_only, bool secure) {
    std::string out(name);
    out += '=';
    out += value;
    out += "; expires=" + http_date(std::chrono::system_clock::now() + age);
    out += "; Max-Age=" + std::to_string(age.count());
    if (http_only) out += "; HttpOnly";
    out += "; Path=/; SameSite=Lax";
    if (secure) out += "; Secure";
    return out;
}

}  // namespace

std::string session_key_hash(std::string_view key) { return sha256_hex(key); }

Task<void> start_session(Loop& loop, const http::Request& req, const User& user, http::Response& res) {
    const Config& config = loop.app.config;
    std::string_view old_key = req.cookie(kSessionCookie);
    if (!old_key.empty()) co_await loop.store->delete_session(session_key_hash(old_key));

    std::string key = random_token(32);
    Session session{session_key_hash(key), user.id, now_utc() + config.session_age};
    co_await loop.store->create_session(std::move(session));
    res.add_header("Set-Cookie", cookie(kSessionCookie, key, config.session_age, true, config.secure_cookies));
    // A new CSRF secret with the new session, as Django rotates it on login.
    res.add_header("Set-Cookie", cookie(kCsrfCookie, new_csrf_secret(), kCsrfCookieAge, false,
                                        config.secure_cookies));
}

Task<void> end_session(Loop& loop, const http::Request& req, http::Response& res) {
    std::string_view key = req.cookie(kSessionCookie);
    if (!key.empty()) co_await loop.store->delete_session(session_key_hash(key));
    res.add_header("Set-Cookie", std::string(kSessionCookie) +
                                     "=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax");
}

}  // namespace castera
