// The event sink that tells the meeting rooms: a stored chat reaches every connection of its
// room, a changed state or status is pushed, an ended or deleted meeting's connections are
// closed. Through the RoomBus, so on every instance.
#pragma once

#include "bus/room_bus.hpp"
#include "events/events.hpp"

namespace castera::realtime {

class RoomFanout final : public events::EventSink {
public:
    explicit RoomFanout(RoomBus& bus) : bus_(bus) {}
    void publish(const events::Event& event) override;

private:
    RoomBus& bus_;
};

}  // namespace castera::realtime
