// Who is in a meeting's room as a person, not as a connection: the one place that decides that
// a user has arrived in a room (their first connection there) and that they have left it
// (their last connection gone, after any resume window), for whoever follows attendance (the
// webhooks' participant.joined / participant.left).
//
// The sessions call entered() and left() exactly once per connection's stay in the room, at
// these moments (realtime/room_session.cpp):
//   - entered: the connection is in the room and the room was told (`presence` joined): after
//     a castera.v2 welcome, after a lobby admission, or at a compatible client's join. Never
//     for a connection waiting in the lobby, nor for a resumed one (it is the same peer,
//     continuing: the room saw no `left` and no `joined`).
//   - left: the connection left the room for good (`presence` left): closed, kicked, or dropped
//     and not resumed within CASTERA_WS_RESUME_SECONDS. Never at the drop itself, nor for a
//     connection that was resumed elsewhere on this instance, nor for one that only waited.
//
// Counted per instance: a user with connections on two instances arrives once on each. Counting
// across instances belongs here too (an atomic per-room count in Redis through the bus, say),
// so that the observers need not change.
#pragma once

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "realtime/room_hub.hpp"

namespace castera::realtime {

class AttendanceObserver {
public:
    virtual ~AttendanceObserver() = default;
    // `first` is the connection that brought the user in.
    virtual void participant_joined(Id meeting, const PeerInfo& first) = 0;
    // `last` is the connection whose end took the user out.
    virtual void participant_left(Id meeting, const PeerInfo& last) = 0;
};

class RoomAttendance {
public:
    // Before the server starts; observers are called on the loop of the connection concerned.
    void observe(AttendanceObserver& observer) { observers_.push_back(&observer); }

    void entered(Id meeting, const RoomMember& member) {
        if (change(meeting, member.user_id, +1) != 1) return;
        PeerInfo who{member.peer_id, member.user_id, member.email};
        for (AttendanceObserver* o : observers_) o->participant_joined(meeting, who);
    }

    void left(Id meeting, const RoomMember& member) {
        if (change(meeting, member.user_id, -1) != 0) return;
        PeerInfo who{member.peer_id, member.user_id, member.email};
        for (AttendanceObserver* o : observers_) o->participant_left(meeting, who);
    }

    // The user's connections in the room on this instance, as entered() and left() counted them.
    int connections(Id meeting, Id user) {
        std::lock_guard lock(mutex_);
        auto it = counts_.find({meeting, user});
        return it == counts_.end() ? 0 : it->second;
    }

private:
    // The count after the change; -1 for a left() without its entered() (never counted).
    int change(Id meeting, Id user, int delta) {
        std::lock_guard lock(mutex_);
        auto [it, inserted] = counts_.try_emplace({meeting, user}, 0);
        if (delta < 0 && it->second == 0) {
            counts_.erase(it);
            return -1;
        }
        int now = it->second += delta;
        if (now == 0) counts_.erase(it);
        return now;
    }

    std::vector<AttendanceObserver*> observers_;
    std::mutex mutex_;
    std::map<std::pair<Id, Id>, int> counts_;
};

}  // namespace castera::realtime
