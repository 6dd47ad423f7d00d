#include "bus/room_bus.hpp"

#include "bus/redis_bus.hpp"
#include "config/config.hpp"
#include "realtime/frames.hpp"

namespace castera {
namespace {

// One instance: the hub is the whole room, so publishing is delivering.
class InProcessBus final : public RoomBus {
public:
    explicit InProcessBus(RoomHub& hub) : hub_(hub) {}

    bool spans_instances() const override { return false; }
    BusState state() const override { return BusState::local; }
    void joined(Id, const RoomMember&) override {}
    void left(Id, const RoomMember&) override {}
    void waiting(Id, const RoomMember&) override {}
    void admitted(Id, const RoomMember&) override {}

    void broadcast(Id meeting, const RoomEvent& event, const RoomMember* except) override {
        hub_.broadcast(meeting, event, except);
    }

    void presence(Id meeting, std::string_view what, const RoomMember& who, const RoomMember* except) override {
        hub_.broadcast(meeting, presence_event(what, who), except);
    }

    void close_room(Id meeting, std::uint16_t code, const std::string& reason) override {
        hub_.close_room(meeting, code, reason);
    }

    void act(Id meeting, const RoomAction& action) override { hub_.act(meeting, action); }

    Task<bool> send_to_remote_peer(Id, std::string, Frame) override { co_return false; }
    Task<std::vector<PeerInfo>> remote_members(Id) override { co_return std::vector<PeerInfo>{}; }
    Task<RemoteRoom> remote_room(Id, bool) override { co_return RemoteRoom{}; }
    void stop() override {}

private:
    RoomHub& hub_;
};

}  // namespace

std::unique_ptr<RoomBus> make_room_bus(const Config& config, RoomHub& hub, ProcessCounters& counters) {
    if (config.redis.enabled()) return bus::make_redis_bus(config.redis, hub, counters);
    return std::make_unique<InProcessBus>(hub);
}

std::string_view bus_state_name(BusState state) {
    switch (state) {
        case BusState::local: return "local";
        case BusState::connected: return "ok";
        case BusState::down: return "down";
    }
    return "down";
}

}  // namespace castera
