// Who is making a request: DRF's authentication classes, in the old server's order (session,
// then HTTP Basic), then Clerk bearer tokens and API tokens. A failed credential is a 403
// error, never an anonymous pass. One Authenticator per event loop, built from what it needs.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "auth/auth_cache.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "services/services.hpp"
#include "store/store.hpp"

namespace castera {

class ClerkKeys;
class CredentialCache;

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

class Authenticator {
public:
    struct Deps {
        Store& store;                       // this loop's: sessions, users, tokens
        AuthCache& cache;                   // this loop's
        CredentialCache& credentials;       // the process's verified Basic credentials
        ClerkKeys& clerk;
        const Config::Clerk& clerk_config;
        std::chrono::seconds credential_ttl;
        services::Accounts& accounts;       // the throttled password check, external identities
    };

    explicit Authenticator(Deps deps) : deps_(deps) {}

    // `access_token` is a WebSocket's ?access_token= (a Clerk JWT or an API token), used when
    // there is no Authorization header. `read_ahead`, when given, may come back with its meeting.
    Task<Authentication> authenticate(const http::Request& req, std::string_view access_token = {},
                                      MeetingReadAhead* read_ahead = nullptr);

private:
    Task<std::optional<User>> user_from_session(const http::Request& req, MeetingReadAhead* read_ahead);
    Task<std::optional<User>> user_by_id(Id id);
    Task<Authentication> authenticate_basic(std::string_view header, std::string_view remote_address);
    Task<Authentication> authenticate_bearer(std::string_view token);
    Task<Authentication> authenticate_api_token(std::string_view key);

    Deps deps_;
};

}  // namespace castera
