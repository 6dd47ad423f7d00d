// The Redis room bus: rooms that span castera instances, through Redis pub/sub (hiredis on an
// Asio loop of its own). The design is in docs/DESIGN.md, "Several instances".
#pragma once

#include <memory>

#include "bus/room_bus.hpp"
#include "config/config.hpp"

namespace castera::bus {

// Starts connecting at once, in the background; until Redis answers, rooms are local only.
std::unique_ptr<RoomBus> make_redis_bus(const Config::Redis& settings, RoomHub& hub, ProcessCounters& counters);

}  // namespace castera::bus
