// Throttling: failed password logins per account and per client address (a sliding window of
// failure times), and an optional per-user request rate (a token bucket). In memory, per
// process; thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/models.hpp"

namespace castera {

class LoginThrottle {
public:
    using Clock = std::chrono::steady_clock;
    LoginThrottle(int per_account, int per_address, std::chrono::seconds window)
        : per_account_(per_account), per_address_(per_address), window_(window) {}

    // How long the caller must wait before another password attempt, or nothing.
    std::optional<std::chrono::seconds> wait_time(std::string_view account, std::string_view address,
                                                  Clock::time_point now = Clock::now());
    void record_failure(std::string_view account, std::string_view address, Clock::time_point now = Clock::now());
    // A right password clears the account's failures (not the address's: one good account
    // must not launder guesses at others).
    void record_success(std::string_view account);

private:
    using Failures = std::deque<Clock::time_point>;
    std::optional<std::chrono::seconds> wait_for(Failures& failures, int limit, Clock::time_point now);
    void forget_old(Clock::time_point now);

    int per_account_;
    int per_address_;
    std::chrono::seconds window_;
    std::mutex mutex_;
    std::unordered_map<std::string, Failures> accounts_;
    std::unordered_map<std::string, Failures> addresses_;
    Clock::time_point last_sweep_{};
};

class RequestRateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    explicit RequestRateLimiter(int per_minute) : per_minute_(per_minute) {}
    bool enabled() const { return per_minute_ > 0; }
    // Takes one request from the user's bucket; the wait when it is empty, or nothing.
    std::optional<std::chrono::seconds> take(Id user, Clock::time_point now = Clock::now());

private:
    struct Bucket {
        double tokens;
        Clock::time_point updated;
    };
    int per_minute_;
    std::mutex mutex_;
    std::unordered_map<Id, Bucket> buckets_;
};

// A user's lower-cased email: one account whatever case an attacker types it in.
std::string throttle_account_key(std::string_view email);

}  // namespace castera
