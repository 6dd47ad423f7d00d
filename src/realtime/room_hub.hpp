// Who is connected to which meeting room, in this process. Delivery is thread-safe: a member
// receives frames on its own event loop. A frame is encoded once per protocol and shared by
// all receivers.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/models.hpp"

namespace castera {

using Frame = std::shared_ptr<const std::string>;

// One event in both protocols: the compatible frame (the old server's; null when the event
// has none) and the typed castera.v2 frame. A room's events reach those in the room, never
// those waiting in its lobby; some reach its moderators only (a lobby request).
struct RoomEvent {
    Frame compat;
    Frame typed;
    bool moderators_only = false;
};

// Something a moderator (or castera) did to a user's connections in a room, carried out by
// each connection on its own loop, on every instance.
struct RoomAction {
    enum class Kind : std::uint16_t {
        kick = 1,        // removed: `kicked` frame, then closed with 4003
        admit = 2,       // let in from the lobby
        deny = 3,        // sent away from the lobby: closed with 4003
        open_lobby = 4,  // the lobby was turned off: everyone waiting comes in (user 0)
        release = 5,     // a resume token was presented elsewhere: the dropped peer leaves now
    };
    Kind kind = Kind::kick;
    Id user = 0;             // whose connections; 0 with open_lobby: every waiting one
    Id by = 0;               // the moderator
    std::string token_hash;  // release: the token's SHA-256, hex
};

// A participant as another instance knows it (welcome lists, presence of remote peers).
struct PeerInfo {
    std::string peer_id;
    Id user_id = 0;
    std::string email;
};

// A connection as the hub sees it.
class RoomMember {
public:
    using Loop = boost::asio::io_context::executor_type;

    RoomMember(std::string peer_id, Id user_id, std::string email, bool typed, Loop loop, bool moderator = false)
        : peer_id(std::move(peer_id)),
          user_id(user_id),
          email(std::move(email)),
          typed(typed),
          moderator(moderator),
          loop(loop) {}
    virtual ~RoomMember() = default;
    // Queues a frame for sending; callable from any thread.
    virtual void deliver(Frame frame) = 0;
    // The same, on the member's loop only.
    virtual void deliver_here(const Frame& frame) = 0;
    // Sends what is queued, then closes with `code`; callable from any thread.
    virtual void close_after_queue(std::uint16_t code, std::string reason) = 0;
    // Carries out a moderator's action on this connection; callable from any thread.
    virtual void act(const RoomAction& action) { (void)action; }

    const std::string peer_id;
    const Id user_id;
    const std::string email;
    const bool typed;      // speaks castera.v2
    const bool moderator;  // the meeting's owner or an admin
    const Loop loop;       // the event loop the connection lives on
};

// The resume tokens of this process's connections (docs/PROTOCOL.md, "Resuming"): random,
// single use, each bound to one connection (its meeting, user and peer id). Only their
// SHA-256 is kept. Thread-safe.
class ResumeTokens {
public:
    // A new token for the member; its previous one is forgotten.
    std::string issue(Id meeting, const std::shared_ptr<RoomMember>& member);
    // The member a token names if the token is of this meeting and user (a token of someone
    // else is left as it is); the token is used up.
    std::shared_ptr<RoomMember> take(std::string_view token, Id meeting, Id user);
    std::shared_ptr<RoomMember> take_hashed(const std::string& hash, Id meeting, Id user);
    // Whether take() would find a member, without using the token up.
    bool valid(std::string_view token, Id meeting, Id user);
    // The member's token, if any, is no longer valid.
    void forget(const RoomMember* member);
    std::size_t size();

private:
    struct Entry {
        Id meeting = 0;
        Id user = 0;
        std::weak_ptr<RoomMember> member;
        const RoomMember* raw = nullptr;  // identity, never dereferenced
    };
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> by_hash_;
    std::unordered_map<const RoomMember*, std::string> hash_of_;
};

class RoomHub {
public:
    enum class Admission { allowed, room_full, too_many_for_user };

    // Whether one more connection of `user` fits the limits (checked before the upgrade).
    Admission check(Id meeting, Id user, int max_per_room, int max_per_user);
    // Adds the member, unless the limits are reached meanwhile. A member `waiting` in the
    // lobby counts against the limits but receives nothing of the room until admit().
    Admission join(Id meeting, const std::shared_ptr<RoomMember>& member, int max_per_room, int max_per_user,
                   bool waiting = false);
    // A waiting member enters the room; false when it was not waiting there.
    bool admit(Id meeting, const RoomMember* member);
    // A resumed connection takes the place of its dropped one (same peer id, same counts);
    // false when the dropped one is no longer there.
    bool replace(Id meeting, const RoomMember* dropped, const std::shared_ptr<RoomMember>& successor);
    void leave(Id meeting, const RoomMember* member);

    // Sends the event to every member of the room but `except`, each in its protocol, on its
    // own loop. A loop takes its members when it runs the event: one that left meanwhile
    // gets nothing more, and a busy loop's backlog holds events, not copies of the room.
    void broadcast(Id meeting, const RoomEvent& event, const RoomMember* except = nullptr);
    // Sends a frame to one peer of the room (castera.v2, not waiting); false when it is not there.
    bool send_to_peer(Id meeting, std::string_view peer_id, const Frame& frame);
    // Those in the room (not those waiting in its lobby).
    std::vector<std::shared_ptr<RoomMember>> members(Id meeting);
    // Those waiting in the room's lobby, in the order they came.
    std::vector<std::shared_ptr<RoomMember>> waiting(Id meeting);
    // Whether a connection of the user is in the room, or waits in its lobby.
    struct UserHere {
        bool in_room = false;
        bool waiting = false;
    };
    UserHere find_user(Id meeting, Id user);
    // Hands the action to each connection it concerns here (the user's, or with open_lobby
    // every waiting one); a release goes to the connection whose token it names.
    void act(Id meeting, const RoomAction& action);
    // Closes every connection of a room after what is queued for it (an ended meeting).
    void close_room(Id meeting, std::uint16_t code, const std::string& reason);
    // Asks every connection in every room to close (graceful shutdown).
    void close_all(std::uint16_t code, const std::string& reason);
    std::size_t member_count(Id meeting);
    std::size_t room_count();

    ResumeTokens& resume_tokens() { return resume_; }

private:
    // A member as the room lists it: what delivery needs to know without locking it.
    struct Entry {
        std::weak_ptr<RoomMember> member;
        const RoomMember* raw;  // identity, never dereferenced
        bool typed;
        bool moderator;
        bool waiting;  // in the lobby: receives nothing of the room
        RoomMember::Loop loop;
    };
    static bool receives(const Entry& entry, const RoomEvent& event);
    std::vector<std::shared_ptr<RoomMember>> all_members(Id meeting);

    Admission fits(Id meeting, Id user, int max_per_room, int max_per_user);
    void deliver_on_this_loop(Id meeting, const RoomEvent& event, const std::weak_ptr<RoomMember>& except,
                              RoomMember::Loop loop);

    std::mutex mutex_;
    std::unordered_map<Id, std::vector<Entry>> rooms_;
    std::unordered_map<Id, int> per_user_;
    ResumeTokens resume_;
};

}  // namespace castera
