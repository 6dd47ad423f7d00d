// What one event loop learnt from the database about who is asking: session cookie → user,
// user id → user. An entry holds only while the store's change stamp is the one it was read
// at, so a logout, a password change from the command line or a user deactivated by another
// process is seen by the very next request; and at most kMaxAge in any case. The loop owns it
// alone, so it takes no lock. Without a cheap change stamp (PostgreSQL) it never hits.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/models.hpp"

namespace castera {

class AuthCache {
public:
    // The active user of a session cookie, if known at `stamp` and the session not expired.
    const User* session_user(std::string_view cookie, std::uint64_t stamp, TimePoint now);
    void remember_session(std::string_view cookie, const SessionUser& found, std::uint64_t stamp);

    // The user with this id, if known at `stamp`.
    const User* user(Id id, std::uint64_t stamp);
    void remember_user(const User& user, std::uint64_t stamp);

private:
    struct Known {
        std::uint64_t stamp = 0;
        std::chrono::steady_clock::time_point read_at;
    };
    struct SessionEntry : Known {
        Id user_id = 0;
        TimePoint expires{};
    };
    struct UserEntry : Known {
        User user;
    };

    bool current(const Known& known, std::uint64_t stamp) const;
    // Starts over when the maps hold too much: a flood of distinct cookies cannot grow them.
    template <typename Map>
    static void make_room(Map& map);

    static constexpr std::chrono::seconds kMaxAge{60};
    static constexpr std::size_t kMaxEntries = 20000;

    // Looked up by the cookie's view, without making a string of it first.
    struct TextHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
    };

    std::unordered_map<std::string, SessionEntry, TextHash, std::equal_to<>> sessions_;
    std::unordered_map<Id, UserEntry> users_;
};

}  // namespace castera
