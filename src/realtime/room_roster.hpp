// Who is in a meeting's room right now, on this instance and (with Redis) the others: what
// the admin console shows on a meeting's page, without handing it the hub or the bus.
#pragma once

#include <vector>

#include "bus/room_bus.hpp"
#include "realtime/room_hub.hpp"

namespace castera::realtime {

class RoomRoster {
public:
    RoomRoster(RoomHub& hub, RoomBus& bus) : hub_(hub), bus_(bus) {}

    // This instance's members first, then the other instances'.
    Task<std::vector<PeerInfo>> members(Id meeting) {
        std::vector<PeerInfo> out;
        for (const auto& member : hub_.members(meeting)) out.push_back(PeerInfo{member->peer_id, member->user_id, member->email});
        if (bus_.spans_instances()) {
            std::vector<PeerInfo> remote = co_await bus_.remote_members(meeting);
            out.insert(out.end(), remote.begin(), remote.end());
        }
        co_return out;
    }

private:
    RoomHub& hub_;
    RoomBus& bus_;
};

}  // namespace castera::realtime
