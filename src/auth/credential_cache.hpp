// Remembers HTTP Basic credentials that passed a PBKDF2 check, so the check runs once per
// credential and not on every request. Keys are HMACs of the whole header under a per-process
// random key, so the cache never holds a password. An entry also keeps the password hash it
// was checked against: when the user's hash changes (new password), the entry stops matching.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/models.hpp"

namespace castera {

class CredentialCache {
public:
    CredentialCache();

    struct Entry {
        Id user_id = 0;
        std::string password_hash;
        std::chrono::steady_clock::time_point expires;
    };

    // The entry for this Authorization header value, if verified and still fresh.
    std::optional<Entry> find(std::string_view header_value);
    void remember(std::string_view header_value, Id user_id, std::string password_hash,
                  std::chrono::seconds ttl);
    // Drops every entry of a user (password change, deactivation).
    void forget_user(Id user_id);

private:
    std::string key_for(std::string_view header_value) const;

    std::string hmac_key_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    static constexpr std::size_t kMaxEntries = 100000;
};

}  // namespace castera
