// Who is making a request: DRF's authentication classes, in the old server's order (session,
// then HTTP Basic). A failed credential is a 403 error, never an anonymous pass.
#pragma once

#include <optional>
#include <string_view>

#include "app/app.hpp"
#include "http/message.hpp"

namespace castera {

enum class AuthMethod { none, session, basic, bearer, token };

struct Authentication {
    std::optional<User> user;
    AuthMethod method = AuthMethod::none;
    std::optional<http::Response> failure;  // set when credentials were given but are bad
};

// The meeting a request is about, read together with its session when the session has to be
// looked up in the database: one round trip instead of two on PostgreSQL.
struct MeetingReadAhead {
    Id meeting_id = 0;                              // which meeting; 0: none
    std::optional<std::optional<Meeting>> meeting;  // set once read (inner: nothing, no such meeting)
};

// `access_token` is a WebSocket's ?access_token= (a Clerk JWT or an API token), used when
// there is no Authorization header. `read_ahead`, when given, may come back with its meeting.
Task<Authentication> authenticate(const http::Request& req, Loop& loop, std::string_view access_token = {},
                                  MeetingReadAhead* read_ahead = nullptr);

// What the store keeps of an API token's key.
std::string api_token_hash(std::string_view key);

// Django's CSRF check for an unsafe request authenticated by session. `form_token` is the
// csrfmiddlewaretoken field of a form post, if any. Returns the 403 to send, or nothing.
std::optional<http::Response> check_csrf(const http::Request& req, const Config& config,
                                         std::string_view form_token = {});

// True when the request has no Origin (not a browser) or one naming this server itself or an
// allowed origin (CASTERA_ALLOWED_ORIGINS).
bool origin_is_trusted(const http::Request& req, const Config& config);

// Refuses a login posted from a page of another site (Origin not this host nor allowed).
std::optional<http::Response> check_login_origin(const http::Request& req, const Config& config);

// Verifies a password off the event loop (PBKDF2 is deliberately slow).
Task<bool> check_password_off_loop(Loop& loop, std::string raw, std::string encoded);

}  // namespace castera
