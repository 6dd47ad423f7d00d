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
// has none) and the typed castera.v2 frame.
struct RoomEvent {
    Frame compat;
    Frame typed;
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

    RoomMember(std::string peer_id, Id user_id, std::string email, bool typed, Loop loop)
        : peer_id(std::move(peer_id)), user_id(user_id), email(std::move(email)), typed(typed), loop(loop) {}
    virtual ~RoomMember() = default;
    // Queues a frame for sending; callable from any thread.
    virtual void deliver(Frame frame) = 0;
    // The same, on the member's loop only.
    virtual void deliver_here(const Frame& frame) = 0;
    // Sends what is queued, then closes with `code`; callable from any thread.
    virtual void close_after_queue(std::uint16_t code, std::string reason) = 0;

    const std::string peer_id;
    const Id user_id;
    const std::string email;
    const bool typed;  // speaks castera.v2
    const Loop loop;   // the event loop the connection lives on
};

class RoomHub {
public:
    enum class Admission { allowed, room_full, too_many_for_user };

    // Whether one more connection of `user` fits the limits (checked before the upgrade).
    Admission check(Id meeting, Id user, int max_per_room, int max_per_user);
    // Adds the member, unless the limits are reached meanwhile.
    Admission join(Id meeting, const std::shared_ptr<RoomMember>& member, int max_per_room, int max_per_user);
    void leave(Id meeting, const RoomMember* member);

    // Sends the event to every member of the room but `except`, each in its protocol, on its
    // own loop. A loop takes its members when it runs the event: one that left meanwhile
    // gets nothing more, and a busy loop's backlog holds events, not copies of the room.
    void broadcast(Id meeting, const RoomEvent& event, const RoomMember* except = nullptr);
    // Sends a frame to one peer of the room; false when it is not there.
    bool send_to_peer(Id meeting, std::string_view peer_id, const Frame& frame);
    std::vector<std::shared_ptr<RoomMember>> members(Id meeting);
    // Closes every connection of a room after what is queued for it (an ended meeting).
    void close_room(Id meeting, std::uint16_t code, const std::string& reason);
    // Asks every connection in every room to close (graceful shutdown).
    void close_all(std::uint16_t code, const std::string& reason);
    std::size_t member_count(Id meeting);
    std::size_t room_count();

private:
    // A member as the room lists it: what delivery needs to know without locking it.
    struct Entry {
        std::weak_ptr<RoomMember> member;
        const RoomMember* raw;  // identity, never dereferenced
        bool typed;
        RoomMember::Loop loop;
    };

    Admission fits(Id meeting, Id user, int max_per_room, int max_per_user);
    void deliver_on_this_loop(Id meeting, const RoomEvent& event, const std::weak_ptr<RoomMember>& except,
                              RoomMember::Loop loop);

    std::mutex mutex_;
    std::unordered_map<Id, std::vector<Entry>> rooms_;
    std::unordered_map<Id, int> per_user_;
};

}  // namespace castera
