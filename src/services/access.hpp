// Who may do what: every permission rule of castera, written once. The router enforces the
// access each route declares with these; the services check them again for the callers that
// are not HTTP (the WebSocket, the command line, the admin console).
#pragma once

#include <optional>
#include <string_view>

#include "store/models.hpp"

namespace castera::services {

// On whose authority a use case runs: a signed-in user acting for themselves (the API, the
// rooms), a staff member in the admin console (who may manage everything), or castera itself
// (the command line).
class Actor {
public:
    Actor(const User& user) : user_(&user) {}  // implicit: the usual case
    static Actor console(const User& staff) { return Actor(&staff, true); }
    static Actor system() { return Actor(nullptr, false); }

    const User* user() const { return user_; }
    Id id() const { return user_ ? user_->id : 0; }
    bool is_system() const { return user_ == nullptr; }
    // A staff member in the admin console.
    bool in_console() const { return console_ && user_ && user_->is_staff && user_->is_active; }
    bool is_admin() const { return user_ && user_->is_admin(); }

private:
    Actor(const User* user, bool console) : user_(user), console_(console) {}
    const User* user_;
    bool console_ = false;
};

// The staff pages (the admin console, the webhook deliveries).
inline bool is_staff(const User& user) { return user.is_staff && user.is_active; }

// The webhook deliveries: staff only (a listing shows every meeting's events).
inline bool may_see_webhooks(const Actor& actor) { return actor.user() && is_staff(*actor.user()); }

// Owner-only actions (edit, delete, end, read the chat over REST): the owner or an admin, the
// admin console, castera itself.
inline bool may_manage(const Actor& actor, const Meeting& meeting) {
    return actor.is_system() || actor.in_console() || actor.is_admin() || meeting.user_id == actor.id();
}

// Any signed-in user may read any meeting by id and take part in it (the old server's rule).
inline bool may_see(const Actor&, const Meeting&) { return true; }

// Listings cover every meeting for an admin, the caller's own for everyone else.
inline bool sees_every_meeting(const Actor& actor) { return actor.is_system() || actor.in_console() || actor.is_admin(); }

// Managing users (create, change, delete, set a password): the admin console and castera itself.
inline bool may_manage_users(const Actor& actor) { return actor.is_system() || actor.in_console(); }

// How a chat reaches the meeting. Over REST only the owner or an admin may post (the old
// server's rule); in the room, whoever was let in may talk.
enum class ChatChannel { rest, room };

inline bool may_post_chat(const Actor& actor, const Meeting& meeting, ChatChannel channel) {
    return channel == ChatChannel::room || may_manage(actor, meeting);
}

// Joining a meeting's room (its WebSocket): nothing when the actor may, else why not. The
// room of a meeting that has ended is closed.
inline std::optional<std::string_view> room_closed_to(const Actor&, const Meeting& meeting) {
    if (meeting.status == "ended") return "This meeting has ended.";
    return std::nullopt;
}

// A meeting room's moderators: its owner and admins. They may change the room's controls and
// moderate its participants (mute, remove, admit from the lobby); the lock and the lobby do
// not apply to them. Everyone else in the room is a participant.
inline bool is_moderator(const User& user, const Meeting& meeting) {
    return meeting.user_id == user.id || user.is_admin();
}
inline bool may_moderate(const Actor& actor, const Meeting& meeting) { return may_manage(actor, meeting); }

// Why a user may not enter a meeting's room, given its controls (RoomEntry): nothing when they
// may. The lock and lobby are the caller's to apply (a resumed connection was already in).
inline std::optional<std::string_view> room_refuses(const User& user, const Meeting& meeting, bool banned) {
    if (banned && meeting.user_id != user.id) return "You were removed from this meeting.";
    return std::nullopt;
}

}  // namespace castera::services
