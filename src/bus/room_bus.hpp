// The room bus: how a room event reaches every connection of the room, on this instance and,
// with Redis, on every other one. The realtime code publishes through it; the bus delivers to
// this instance's members through the RoomHub at once and carries the event to the others.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "observe/counters.hpp"
#include "realtime/room_hub.hpp"
#include "store/store.hpp"

namespace castera {

struct Config;

// What /readyz says about the bus.
enum class BusState {
    local,      // one instance: the in-process bus, nothing to reach
    connected,  // Redis reachable, this instance registered
    down,       // Redis unreachable: local rooms only, reconnecting
};

class RoomBus {
public:
    virtual ~RoomBus() = default;

    // True when rooms span instances: then remote_members and send_to_remote_peer are worth
    // awaiting (the in-process bus answers them with nothing).
    virtual bool spans_instances() const = 0;
    virtual BusState state() const = 0;

    // A member of this instance joined its room (after RoomHub::join) or left it (after
    // RoomHub::leave), so that the other instances can list it.
    virtual void joined(Id meeting, const RoomMember& member) = 0;
    virtual void left(Id meeting, const RoomMember& member) = 0;
    // A member of this instance waits in the room's lobby (after RoomHub::join(..., waiting)),
    // or was let in from it (after RoomHub::admit); left() ends either.
    virtual void waiting(Id meeting, const RoomMember& member) = 0;
    virtual void admitted(Id meeting, const RoomMember& member) = 0;

    // Sends the event to every member of the room on every instance but `except` (a member of
    // this instance). Callable from any thread.
    virtual void broadcast(Id meeting, const RoomEvent& event, const RoomMember* except = nullptr) = 0;
    // Presence ("joined" or "left") of a member of this instance, sent as broadcast() does.
    // Separate so that other instances can keep track of who is in the room.
    virtual void presence(Id meeting, std::string_view what, const RoomMember& who,
                          const RoomMember* except = nullptr) = 0;
    // Closes every connection of the room on every instance, after what is queued for it.
    virtual void close_room(Id meeting, std::uint16_t code, const std::string& reason) = 0;
    // Hands a moderator's action to the connections it concerns on every instance.
    virtual void act(Id meeting, const RoomAction& action) = 0;

    // Sends a castera.v2 frame to a peer on another instance; false when no instance has it.
    virtual Task<bool> send_to_remote_peer(Id meeting, std::string peer_id, Frame frame) = 0;
    // The room's members on the other instances.
    virtual Task<std::vector<PeerInfo>> remote_members(Id meeting) = 0;
    // The same, and with `with_lobby` those waiting in its lobby there, in one round trip.
    struct RemoteRoom {
        std::vector<PeerInfo> members;
        std::vector<PeerInfo> waiting;
    };
    virtual Task<RemoteRoom> remote_room(Id meeting, bool with_lobby) = 0;

    // Tells the other instances that this one's participants are gone and stops. Called once
    // the event loops no longer run and before they are destroyed; the destructor calls it too.
    virtual void stop() = 0;
};

// The Redis bus when config.redis names a server, the in-process bus otherwise.
std::unique_ptr<RoomBus> make_room_bus(const Config& config, RoomHub& hub, ProcessCounters& counters);

// "local", "ok" or "down", as /readyz shows it.
std::string_view bus_state_name(BusState state);

}  // namespace castera
