#include <gtest/gtest.h>

#include "auth/throttle.hpp"

namespace castera {
namespace {

using namespace std::chrono;
using Clock = LoginThrottle::Clock;

TEST(LoginThrottle, BlocksAnAccountAfterItsLimitUntilTheWindowPasses) {
    LoginThrottle throttle(3, 100, seconds(60));
    Clock::time_point t0 = Clock::now();
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(throttle.wait_time("a@x.com", "1.1.1.1", t0));
        throttle.record_failure("a@x.com", "1.1.1." + std::to_string(i), t0 + seconds(i));
    }
    auto wait = throttle.wait_time("A@X.COM", "9.9.9.9", t0 + seconds(10));
    ASSERT_TRUE(wait);
    EXPECT_EQ(wait->count(), 50);  // the first failure leaves the window at t0 + 60
    EXPECT_FALSE(throttle.wait_time("a@x.com", "9.9.9.9", t0 + seconds(61)));
}

TEST(LoginThrottle, BlocksAnAddressAcrossAccounts) {
    LoginThrottle throttle(100, 2, seconds(60));
    Clock::time_point t0 = Clock::now();
    throttle.record_failure("a@x.com", "1.2.3.4", t0);
    throttle.record_failure("b@x.com", "1.2.3.4", t0);
    EXPECT_TRUE(throttle.wait_time("c@x.com", "1.2.3.4", t0));
    EXPECT_FALSE(throttle.wait_time("c@x.com", "5.6.7.8", t0));
}

TEST(LoginThrottle, SuccessClearsTheAccountOnly) {
    LoginThrottle throttle(2, 3, seconds(60));
    Clock::time_point t0 = Clock::now();
    throttle.record_failure("a@x.com", "1.2.3.4", t0);
    throttle.record_failure("a@x.com", "1.2.3.4", t0);
    throttle.record_success("a@x.com");
    EXPECT_FALSE(throttle.wait_time("a@x.com", "5.5.5.5", t0));
    throttle.record_failure("b@x.com", "1.2.3.4", t0);
    EXPECT_TRUE(throttle.wait_time("z@x.com", "1.2.3.4", t0)) << "the address still counts all three";
}

TEST(RequestRateLimiter, RefillsOverTime) {
    RequestRateLimiter limiter(60);  // one per second
    Clock::time_point t0 = Clock::now();
    for (int i = 0; i < 60; ++i) EXPECT_FALSE(limiter.take(7, t0));
    auto wait = limiter.take(7, t0);
    ASSERT_TRUE(wait);
    EXPECT_EQ(wait->count(), 1);
    EXPECT_FALSE(limiter.take(8, t0)) << "buckets are per user";
    EXPECT_FALSE(limiter.take(7, t0 + seconds(1)));
}

TEST(RequestRateLimiter, OffByDefault) {
    RequestRateLimiter limiter(0);
    for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.take(1));
}

}  // namespace
}  // namespace castera
