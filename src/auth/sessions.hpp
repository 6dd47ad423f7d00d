// Login sessions: a random key in an HttpOnly cookie, only its hash in the database, plus
// Django's csrftoken cookie for the double-submit CSRF check.
#pragma once

#include <string>
#include <string_view>

#include "app/app.hpp"
#include "http/message.hpp"

namespace castera {

inline constexpr std::string_view kSessionCookie = "sessionid";
inline constexpr std::string_view kCsrfCookie = "csrftoken";

// What the store keeps for a session key: a SHA-256, so a leaked table opens no session.
std::string session_key_hash(std::string_view key);

// Starts a new session for `user` (ending the request's old one, so a session id planted
// before login is worthless) and adds the sessionid and csrftoken cookies to `res`.
Task<void> start_session(Loop& loop, const http::Request& req, const User& user, http::Response& res);

// Ends the request's session and expires its cookie.
Task<void> end_session(Loop& loop, const http::Request& req, http::Response& res);

}  // namespace castera
