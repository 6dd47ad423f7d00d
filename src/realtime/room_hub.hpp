// Who is connected to which meeting room, in this process. Delivery is thread-safe: a member
// receives frames on its own event loop. A frame is encoded once and shared by all receivers.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/models.hpp"

namespace castera {

using Frame = std::shared_ptr<const std::string>;

// A connection as the hub sees it.
class RoomMember {
public:
    virtual ~RoomMember() = default;
    // Queues a frame for sending; callable from any thread.
    virtual void deliver(Frame frame) = 0;
    // Closes the connection with 1001 (going away); callable from any thread.
    virtual void close_going_away() = 0;
};

class RoomHub {
public:
    void join(Id meeting, const std::shared_ptr<RoomMember>& member);
    void leave(Id meeting, const RoomMember* member);
    // Sends `frame` to every member of the room except `except` (which may be null).
    void broadcast(Id meeting, const Frame& frame, const RoomMember* except = nullptr);
    // Asks every connection in every room to close (graceful shutdown).
    void close_all();
    std::size_t member_count(Id meeting);

private:
    std::vector<std::shared_ptr<RoomMember>> members_of(Id meeting);

    std::mutex mutex_;
    std::unordered_map<Id, std::vector<std::weak_ptr<RoomMember>>> rooms_;
};

}  // namespace castera
