#include "auth/sessions.hpp"

#include <ctime>

#include "auth/csrf.hpp"

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

Task<void> start_session(services::Accounts& accounts, const CookieSettings& cookies, const http::Request& req,
                         const User& user, http::Response& res) {
    std::string key = co_await accounts.open_session(user, req.cookie(kSessionCookie), cookies.session_age);
    res.add_header("Set-Cookie", cookie(kSessionCookie, key, cookies.session_age, true, cookies.secure));
    // A new CSRF secret with the new session, as Django rotates it on login.
    res.add_header("Set-Cookie", cookie(kCsrfCookie, new_csrf_secret(), kCsrfCookieAge, false, cookies.secure));
}

Task<void> end_session(services::Accounts& accounts, const http::Request& req, http::Response& res) {
    co_await accounts.close_session(req.cookie(kSessionCookie));
    res.add_header("Set-Cookie", std::string(kSessionCookie) +
                                     "=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax");
}

}  // namespace castera
