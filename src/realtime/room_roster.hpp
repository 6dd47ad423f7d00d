// Who is in a meeting's room right now, on this instance and (with Redis) the others: what
// the admin console shows on a meeting's page, without handing it the hub or the bus.
#pragma once

#include <vector>

#include "bus/room_bus.hpp"
#include "realtime/room_hub.hpp"
#include "services/services.hpp"

namespace castera::realtime {

class RoomRoster final : public services::RoomPresence {
public:
    RoomRoster(RoomHub& hub, RoomBus& bus) : hub_(hub), bus_(bus) {}

    // Whether the user is in the room or its lobby, here or on another instance.
    Task<Found> find(Id meeting, Id user) override {
        RoomHub::UserHere here = hub_.find_user(meeting, user);
        Found out{here.in_room, here.waiting};
        if ((!out.in_room || !out.waiting) && bus_.spans_instances()) {
            RoomBus::RemoteRoom remote = co_await bus_.remote_room(meeting, true);
            for (const auto& p : remote.members) out.in_room = out.in_room || p.user_id == user;
            for (const auto& p : remote.waiting) out.waiting = out.waiting || p.user_id == user;
        }
        co_return out;
    }

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
