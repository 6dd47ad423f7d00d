// Login sessions: a random key in an HttpOnly cookie, only its hash in the database, plus
// Django's csrftoken cookie for the double-submit CSRF check.
#pragma once

#include <string>
#include <string_view>

#include <chrono>

#include "http/message.hpp"
#include "services/services.hpp"

namespace castera {

inline constexpr std::string_view kSessionCookie = "sessionid";
inline constexpr std::string_view kCsrfCookie = "csrftoken";

// How session cookies are made.
struct CookieSettings {
    std::chrono::seconds session_age{1209600};
    bool secure = true;
};

// Signs `user` in: a new session (the request's old one ended, so a session id planted before
// login is worthless) and the sessionid and csrftoken cookies on `res`.
Task<void> start_session(services::Accounts& accounts, const CookieSettings& cookies, const http::Request& req,
                         const User& user, http::Response& res);

// Ends the request's session and expires its cookie.
Task<void> end_session(services::Accounts& accounts, const http::Request& req, http::Response& res);

}  // namespace castera
