// Who a request is, on an in-memory store: sessions (and what the loop remembers of them),
// HTTP Basic, API tokens, a WebSocket's access_token, and DRF's words for each refusal.
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>

#include <cctype>
#include <map>

#include "auth/authenticate.hpp"
#include "auth/clerk.hpp"
#include "auth/credential_cache.hpp"
#include "auth/password.hpp"
#include "auth/sessions.hpp"
#include "auth/throttle.hpp"
#include "memory_store.hpp"
#include "run_task.hpp"
#include "util/encoding.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using testing::run_task;
using namespace std::chrono;

// A request with the given header fields (names in any case).
class FakeRequest {
public:
    FakeRequest& header(std::string name, std::string value) {
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        fields_[std::move(name)] = std::move(value);
        return *this;
    }
    http::Request get() const {
        http::Request req;
        req.path = "/api/auth/me/";
        req.target = req.path;
        req.remote_address = "10.0.0.7";
        req.headers = http::HeaderView(&fields_, [](const void* fields, std::string_view name) -> std::string_view {
            const auto& map = *static_cast<const Fields*>(fields);
            std::string lower(name);
            for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            auto it = map.find(lower);
            return it == map.end() ? std::string_view{} : std::string_view(it->second);
        });
        return req;
    }

private:
    using Fields = std::map<std::string, std::string>;
    Fields fields_;
};

std::string detail(const Authentication& auth) {
    if (!auth.failure) return "";
    return std::string(boost::json::parse(auth.failure->body).as_object().at("detail").as_string());
}

class AuthenticateTest : public ::testing::Test {
protected:
    static constexpr int kIterations = 2;

    User add_user(const std::string& email, const std::string& password) {
        return run_task(store.create_user(NewUser{.email = email, .password = make_password(password, kIterations)}));
    }
    Authentication authenticate(const FakeRequest& req, std::string_view access_token = {},
                                MeetingReadAhead* read_ahead = nullptr) {
        http::Request r = req.get();
        return run_task(authenticator.authenticate(r, access_token, read_ahead));
    }
    static std::string basic(const std::string& email, const std::string& password) {
        return "Basic " + base64_encode(email + ":" + password);
    }
    std::string session_for(const User& user) { return run_task(svc.accounts.open_session(user, "", hours(1))); }

    testing::MemoryStore store;
    class NoEvents final : public events::EventSink {
        void publish(const events::Event&) override {}
    } events;
    boost::asio::thread_pool pool{1};
    services::PasswordHasher passwords{pool, kIterations};
    LoginThrottle throttle{5, 100, seconds(60)};
    CredentialCache credentials;
    LoopCounters counters;
    services::Services svc{services::Deps{store, events, passwords, throttle, credentials, counters}};
    Config::Clerk clerk_config;  // no Clerk: bearer tokens are refused
    ClerkKeys clerk{clerk_config, pool};
    AuthCache cache;
    Authenticator authenticator{
        Authenticator::Deps{store, cache, credentials, clerk, clerk_config, seconds(60), svc.accounts}};
};

TEST_F(AuthenticateTest, NoCredentialsIsAnonymousWithoutAFailure) {
    Authentication auth = authenticate(FakeRequest{});
    EXPECT_FALSE(auth.user);
    EXPECT_EQ(auth.method, AuthMethod::none);
    EXPECT_FALSE(auth.failure);
    // An unknown scheme is no credential at all, as in DRF.
    EXPECT_FALSE(authenticate(FakeRequest{}.header("Authorization", "Digest abc")).failure);
}

TEST_F(AuthenticateTest, ASessionCookieNamesItsUserAndIsRememberedUntilTheDatabaseChanges) {
    User u = add_user("user@example.com", "pw");
    std::string key = session_for(u);
    FakeRequest req;
    req.header("Cookie", "csrftoken=x; sessionid=" + key);
    Authentication first = authenticate(req);
    ASSERT_TRUE(first.user);
    EXPECT_EQ(first.user->email, "user@example.com");
    EXPECT_EQ(first.method, AuthMethod::session);
    EXPECT_TRUE(authenticate(req).user) << "remembered";
    // Ending the session is a write: what was remembered no longer stands.
    run_task(svc.accounts.close_session(key));
    EXPECT_FALSE(authenticate(req).user);
}

TEST_F(AuthenticateTest, ExpiredUnknownAndDeactivatedSessionsAreAnonymous) {
    User u = add_user("user@example.com", "pw");
    run_task(store.create_session(Session{services::session_key_hash("old"), u.id, now_utc() - seconds(1)}));
    EXPECT_FALSE(authenticate(FakeRequest{}.header("Cookie", "sessionid=old")).user);
    EXPECT_FALSE(authenticate(FakeRequest{}.header("Cookie", "sessionid=never-made")).user);
    EXPECT_FALSE(authenticate(FakeRequest{}.header("Cookie", "sessionid=" + std::string(200, 'a'))).user);
    std::string key = session_for(u);
    u.is_active = false;
    run_task(store.update_user(u));
    Authentication auth = authenticate(FakeRequest{}.header("Cookie", "sessionid=" + key));
    EXPECT_FALSE(auth.user);
    EXPECT_FALSE(auth.failure) << "anonymous, as Django: other credentials may still be tried";
}

TEST_F(AuthenticateTest, TheSessionComesWithTheMeetingAskedFor) {
    User u = add_user("user@example.com", "pw");
    Meeting m = run_task(store.create_meeting(Meeting{.title = "ahead", .user_id = u.id}));
    std::string key = session_for(u);
    MeetingReadAhead ahead{.meeting_id = m.id};
    ASSERT_TRUE(authenticate(FakeRequest{}.header("Cookie", "sessionid=" + key), {}, &ahead).user);
    ASSERT_TRUE(ahead.meeting);
    ASSERT_TRUE(*ahead.meeting);
    EXPECT_EQ((*ahead.meeting)->title, "ahead");
}

TEST_F(AuthenticateTest, BasicCredentialsAreCheckedWithDrfsMessages) {
    add_user("user@example.com", "right");
    Authentication good = authenticate(FakeRequest{}.header("Authorization", basic("user@example.com", "right")));
    ASSERT_TRUE(good.user);
    EXPECT_EQ(good.method, AuthMethod::basic);
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", basic("user@example.com", "wrong")))),
              "Invalid username/password.");
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Basic"))),
              "Invalid basic header. No credentials provided.");
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Basic a b"))),
              "Invalid basic header. Credentials string should not contain spaces.");
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Basic %%%%"))),
              "Invalid basic header. Credentials not correctly base64 encoded.");
}

TEST_F(AuthenticateTest, ARememberedBasicCheckEndsWithThePassword) {
    User u = add_user("user@example.com", "old");
    FakeRequest req;
    req.header("Authorization", basic("user@example.com", "old"));
    ASSERT_TRUE(authenticate(req).user);
    ASSERT_TRUE(credentials.find(basic("user@example.com", "old"))) << "the verified check is remembered";
    ASSERT_TRUE(run_task(svc.accounts.change_password(services::Actor::system(), u, "new")));
    EXPECT_EQ(detail(authenticate(req)), "Invalid username/password.");
}

TEST_F(AuthenticateTest, TooManyWrongPasswordsAreThrottled) {
    add_user("user@example.com", "right");
    for (int i = 0; i < 5; ++i) authenticate(FakeRequest{}.header("Authorization", basic("user@example.com", "no")));
    Authentication auth = authenticate(FakeRequest{}.header("Authorization", basic("user@example.com", "right")));
    ASSERT_TRUE(auth.failure);
    EXPECT_EQ(auth.failure->status, 429u);
}

TEST_F(AuthenticateTest, ApiTokensWorkUntilTheyExpireAndAreTouchedAtMostEveryMinute) {
    User u = add_user("user@example.com", "pw");
    auto made = run_task(svc.accounts.create_token(u, false, "ci", std::nullopt));
    ASSERT_TRUE(made);
    FakeRequest req;
    req.header("Authorization", "Token " + made->key);
    Authentication auth = authenticate(req);
    ASSERT_TRUE(auth.user);
    EXPECT_EQ(auth.method, AuthMethod::token);
    int commits = store.commits;
    EXPECT_TRUE(authenticate(req).user);
    EXPECT_EQ(store.commits, commits) << "used a moment ago: not written again";
    EXPECT_TRUE(run_task(store.list_api_tokens(u.id)).at(0).last_used_at);

    auto soon = run_task(svc.accounts.create_token(u, false, "short", now_utc() - seconds(1)));
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Token " + soon->key))), "Invalid token.");
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Token"))),
              "Invalid token header. No credentials provided.");
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Token a b"))),
              "Invalid token header. Token string should not contain spaces.");
}

TEST_F(AuthenticateTest, AWebSocketsAccessTokenIsAnApiTokenOrAJwt) {
    User u = add_user("user@example.com", "pw");
    auto made = run_task(svc.accounts.create_token(u, false, "bot", std::nullopt));
    Authentication auth = authenticate(FakeRequest{}, made->key);
    ASSERT_TRUE(auth.user);
    EXPECT_EQ(auth.method, AuthMethod::token);
    // Two dots: a JWT, refused without Clerk.
    EXPECT_EQ(detail(authenticate(FakeRequest{}, "a.b.c")), "Invalid token.");
}

TEST_F(AuthenticateTest, BearerTokensNeedClerk) {
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Bearer a.b.c"))), "Invalid token.");
    EXPECT_EQ(detail(authenticate(FakeRequest{}.header("Authorization", "Bearer"))),
              "Invalid token header. No credentials provided.");
}

}  // namespace
}  // namespace castera
