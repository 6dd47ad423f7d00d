// Clerk session tokens: where the verification keys come from (a PEM key, a JWKS file or a
// JWKS URL, refreshed in the background when a token names an unknown key), and how a
// verified token's claims become a castera user.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "auth/jwt.hpp"
#include "config/config.hpp"

namespace castera {

class ClerkKeys {
public:
    // Loads the PEM key and the JWKS file now (a bad one stops start-up with ConfigError); a
    // JWKS URL is fetched in the background.
    ClerkKeys(const Config::Clerk& config, boost::asio::thread_pool& pool);

    bool enabled() const { return config_.enabled(); }
    // The key for a token's kid; on a miss, asks for a refresh (at most every 5 s).
    std::optional<jwt::PublicKey> find(const std::string& kid);
    jwt::Policy policy() const;
    // True once some key is known (for /readyz).
    bool has_keys() const;

private:
    void schedule_refresh();
    void reload();

    const Config::Clerk& config_;
    boost::asio::thread_pool& pool_;
    mutable std::shared_mutex mutex_;
    std::optional<jwt::PublicKey> pem_key_;
    std::map<std::string, jwt::PublicKey> jwks_;
    std::atomic<std::int64_t> last_refresh_ms_{0};
    std::atomic<bool> refreshing_{false};
};

// Who a verified token says the user is.
struct ClerkIdentity {
    std::string email;
    std::optional<std::string> full_name;
    std::optional<std::string> image;
    bool admin = false;
};

// The identity in a token's claims, or nothing when it names no valid email address.
std::optional<ClerkIdentity> identity_from_claims(const boost::json::object& claims, const Config::Clerk& config);

}  // namespace castera
