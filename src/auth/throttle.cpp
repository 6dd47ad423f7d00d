#include "auth/throttle.hpp"

#include <algorithm>
#include <cmath>

namespace castera {
namespace {

// Tables are swept of stale entries at most this often, so that memory stays bounded by the
// failures of one window.
constexpr std::chrono::seconds kSweepInterval{30};

std::chrono::seconds round_up(LoginThrottle::Clock::duration d) {
    auto s = std::chrono::ceil<std::chrono::seconds>(d);
    return std::max(s, std::chrono::seconds(1));
}

}  // namespace

std::string throttle_account_key(std::string_view email) {
    std::string key(email);
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    return key;
}

std::optional<std::chrono::seconds> LoginThrottle::wait_for(Failures& failures, int limit, Clock::time_point now) {
    while (!failures.empty() && failures.front() + window_ <= now) failures.pop_front();
    if (static_cast<int>(failures.size()) < limit) return std::nullopt;
    // Free again when the oldest failure that still counts leaves the window.
    return round_up(failures[failures.size() - limit] + window_ - now);
}

std::optional<std::chrono::seconds> LoginThrottle::wait_time(std::string_view account, std::string_view address,
                                                             Clock::time_point now) {
    std::lock_guard lock(mutex_);
    std::optional<std::chrono::seconds> wait;
    if (auto it = accounts_.find(throttle_account_key(account)); it != accounts_.end())
        wait = wait_for(it->second, per_account_, now);
    if (auto it = addresses_.find(std::string(address)); it != addresses_.end())
        if (auto w = wait_for(it->second, per_address_, now); w && (!wait || *w > *wait)) wait = w;
    return wait;
}

void LoginThrottle::record_failure(std::string_view account, std::string_view address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    forget_old(now);
    accounts_[throttle_account_key(account)].push_back(now);
    addresses_[std::string(address)].push_back(now);
}

void LoginThrottle::record_success(std::string_view account) {
    std::lock_guard lock(mutex_);
    accounts_.erase(throttle_account_key(account));
}

void LoginThrottle::forget_old(Clock::time_point now) {
    if (now - last_sweep_ < kSweepInterval) return;
    last_sweep_ = now;
    for (auto* table : {&accounts_, &addresses_})
        std::erase_if(*table, [&](auto& entry) { return entry.second.empty() || entry.second.back() + window_ <= now; });
}

std::optional<std::chrono::seconds> RequestRateLimiter::take(Id user, Clock::time_point now) {
    if (!enabled()) return std::nullopt;
    std::lock_guard lock(mutex_);
    double capacity = per_minute_;
    double per_second = per_minute_ / 60.0;
    auto [it, fresh] = buckets_.try_emplace(user, Bucket{capacity, now});
    Bucket& bucket = it->second;
    if (!fresh) {
        double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
        bucket.tokens = std::min(capacity, bucket.tokens + elapsed * per_second);
        bucket.updated = now;
    }
    if (bucket.tokens >= 1.0) {
        bucket.tokens -= 1.0;
        return std::nullopt;
    }
    return std::chrono::seconds(static_cast<long>(std::ceil((1.0 - bucket.tokens) / per_second)));
}

}  // namespace castera
