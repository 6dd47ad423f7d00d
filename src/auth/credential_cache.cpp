#include "auth/credential_cache.hpp"

#include "util/encoding.hpp"
#include "util/random.hpp"

namespace castera {

CredentialCache::CredentialCache() : hmac_key_(random_token(64)) {}

std::string CredentialCache::key_for(std::string_view header_value) const {
    return hmac_sha256(hmac_key_, header_value);
}

std::optional<CredentialCache::Entry> CredentialCache::find(std::string_view header_value) {
    std::string key = key_for(header_value);
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires <= std::chrono::steady_clock::now()) {
        entries_.erase(it);
        return std::nullopt;
    }
    return it->second;
}

void CredentialCache::remember(std::string_view header_value, Id user_id, std::string password_hash,
                               std::chrono::seconds ttl) {
    std::string key = key_for(header_value);
    auto expires = std::chrono::steady_clock::now() + ttl;
    std::lock_guard lock(mutex_);
    // A flood of distinct valid credentials cannot grow the cache without bound.
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[std::move(key)] = Entry{user_id, std::move(password_hash), expires};
}

void CredentialCache::forget_user(Id user_id) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const auto& item) { return item.second.user_id == user_id; });
}

}  // namespace castera
