// The per-loop auth cache: an entry answers only at the change stamp it was read at, only
// while the session lasts, and never for an inactive user.
#include <gtest/gtest.h>

#include "auth/auth_cache.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using namespace std::chrono;

SessionUser signed_in(Id id, TimePoint expires, bool active = true) {
    User user;
    user.id = id;
    user.email = "user" + std::to_string(id) + "@example.com";
    user.is_active = active;
    return SessionUser{Session{"hash", id, expires}, user};
}

TEST(AuthCache, AnswersOnlyAtTheStampItWasReadAt) {
    AuthCache cache;
    TimePoint now = now_utc();
    cache.remember_session("cookie", signed_in(7, now + hours(1)), 3);
    const User* known = cache.session_user("cookie", 3, now);
    ASSERT_NE(known, nullptr);
    EXPECT_EQ(known->email, "user7@example.com");
    EXPECT_EQ(cache.session_user("cookie", 4, now), nullptr) << "the database changed since";
    EXPECT_EQ(cache.session_user("other", 3, now), nullptr);
    EXPECT_NE(cache.user(7, 3), nullptr);
    EXPECT_EQ(cache.user(7, 4), nullptr);
}

TEST(AuthCache, AnExpiredSessionIsNotAnswered) {
    AuthCache cache;
    TimePoint now = now_utc();
    cache.remember_session("cookie", signed_in(7, now + seconds(1)), 1);
    EXPECT_NE(cache.session_user("cookie", 1, now), nullptr);
    EXPECT_EQ(cache.session_user("cookie", 1, now + seconds(2)), nullptr);
}

TEST(AuthCache, AnInactiveUserIsNotAnswered) {
    AuthCache cache;
    TimePoint now = now_utc();
    cache.remember_session("cookie", signed_in(7, now + hours(1), /*active=*/false), 1);
    EXPECT_EQ(cache.session_user("cookie", 1, now), nullptr);
}

TEST(AuthCache, ManyDistinctCookiesDoNotGrowItWithoutBound) {
    AuthCache cache;
    TimePoint now = now_utc();
    for (int i = 0; i < 50000; ++i) cache.remember_session("cookie" + std::to_string(i), signed_in(i, now + hours(1)), 1);
    EXPECT_NE(cache.session_user("cookie49999", 1, now), nullptr) << "the latest entries are kept";
}

}  // namespace
}  // namespace castera
