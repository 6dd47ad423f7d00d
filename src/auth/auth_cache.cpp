#include "auth/auth_cache.hpp"

namespace castera {

bool AuthCache::current(const Known& known, std::uint64_t stamp) const {
    return known.stamp == stamp && std::chrono::steady_clock::now() - known.read_at < kMaxAge;
}

template <typename Map>
void AuthCache::make_room(Map& map) {
    if (map.size() >= kMaxEntries) map.clear();
}

const User* AuthCache::session_user(std::string_view cookie, std::uint64_t stamp, TimePoint now) {
    auto found = sessions_.find(cookie);
    if (found == sessions_.end() || !current(found->second, stamp) || found->second.expires <= now) return nullptr;
    const User* known = user(found->second.user_id, stamp);
    return known && known->is_active ? known : nullptr;
}

void AuthCache::remember_session(std::string_view cookie, const SessionUser& found, std::uint64_t stamp) {
    make_room(sessions_);
    SessionEntry entry;
    entry.stamp = stamp;
    entry.read_at = std::chrono::steady_clock::now();
    entry.user_id = found.session.user_id;
    entry.expires = found.session.expires;
    sessions_.insert_or_assign(std::string(cookie), entry);
    remember_user(found.user, stamp);
}

const User* AuthCache::user(Id id, std::uint64_t stamp) {
    auto found = users_.find(id);
    if (found == users_.end() || !current(found->second, stamp)) return nullptr;
    return &found->second.user;
}

void AuthCache::remember_user(const User& user, std::uint64_t stamp) {
    make_room(users_);
    UserEntry entry;
    entry.stamp = stamp;
    entry.read_at = std::chrono::steady_clock::now();
    entry.user = user;
    users_.insert_or_assign(user.id, std::move(entry));
}

}  // namespace castera
