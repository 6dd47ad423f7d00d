// One connection's life in a meeting's room, without the socket: what each client frame does
// (both protocols, docs/PROTOCOL.md), the welcome, and the chats on their way to the store.
// The transport (ws_session) reads frames and hands them here; the outbound side is the
// member's own deliver/close. Built on narrow parts only, so unit tests drive it with a fake
// member and an in-memory store.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "bus/room_bus.hpp"
#include "config/config.hpp"
#include "observe/counters.hpp"
#include "realtime/room_hub.hpp"
#include "services/services.hpp"

namespace boost::json {
class object;
}

namespace castera::realtime {

// The WebSocket limits of SPEC section 5 (from the configuration).
struct RoomLimits {
    std::size_t max_frame_bytes = 64 << 10;
    std::size_t max_queued_frames = 256;
    double messages_per_second = 20;
    int message_burst = 60;
    std::chrono::seconds idle_timeout{60};
    int max_connections_per_user = 50;
    int max_connections_per_room = 1000;
};

// What a room session needs, for one event loop.
struct RoomDeps {
    boost::asio::io_context::executor_type loop;  // the event loop its connections live on
    RoomHub& hub;
    RoomBus& bus;
    services::Services& services;
    LoopCounters& counters;
    const RoomLimits& limits;
    const Config::Ice& ice;  // handed to each peer in its welcome
    bool announce_presence = false;  // someone follows arrivals and departures (the webhooks)
};

// A room member that can also be closed at once, as the session needs its own connection.
class SessionPeer : public RoomMember {
public:
    using RoomMember::RoomMember;
    // On the member's loop: queue a frame for this connection only.
    virtual void send(const Frame& frame) = 0;
    // On the member's loop: the welcome, ahead of whatever was queued while it was made.
    virtual void send_welcome(Frame welcome) = 0;
    // On the member's loop: close now (the queue is dropped) with this code.
    virtual void close_now(std::uint16_t code, std::string_view reason) = 0;
};

// Close codes of the sessions (see docs/PROTOCOL.md).
inline constexpr std::uint16_t kCloseInvalidJson = 1007;   // compatible protocol: the frame is not JSON
inline constexpr std::uint16_t kCloseUnsupported = 1003;   // compatible protocol: not {"message": "..."}
inline constexpr std::uint16_t kClosePolicy = 1008;        // outbound queue overflow, or rate limit (compatible)
inline constexpr std::uint16_t kCloseServerError = 1011;   // the store failed under a chat

class RoomSession {
public:
    RoomSession(RoomDeps& deps, SessionPeer& peer, const User& user, const Meeting& meeting);
    ~RoomSession();
    RoomSession(const RoomSession&) = delete;
    RoomSession& operator=(const RoomSession&) = delete;

    // castera.v2's first frame: the peer id, the meeting, everyone in the room with their state.
    Task<void> send_welcome();
    // One client message (text or not). Frames over the rate are refused here.
    Task<void> on_message(std::string_view payload, bool text);
    // Before the connection leaves its room: every chat it sent is stored and published.
    Task<void> finish();

    // The room's word on who is here, for the webhooks (participant.joined, participant.left,
    // meeting.started): called once this connection is in the hub, and once it has left it.
    // Only a user's first connection (on any instance) counts as arriving, and only their
    // last as leaving. Never throws: a failure is logged and the session goes on.
    Task<void> announce_arrival();
    Task<void> announce_departure();

private:
    struct Presence {
        int mine = 0;    // the user's other connections to the room, on every instance
        int others = 0;  // everyone else's
    };
    Task<Presence> others_in_room();
    struct ChatQueue;

    Task<void> on_compat_frame(std::string_view text);
    Task<void> on_typed_frame(std::string_view text);
    Task<void> on_typed_chat(const boost::json::object& frame);
    Task<void> on_signal(const boost::json::object& frame);
    Task<void> on_state_change(const boost::json::object& frame);
    Task<void> queue_chat(std::string content);
    static Task<void> store_waiting_chats(RoomSession& session, std::shared_ptr<ChatQueue> chats);
    static Task<void> wait_for_chats(ChatQueue& chats);
    void send_error(std::string_view code, std::string_view message);
    bool take_message_token();

    RoomDeps& deps_;
    SessionPeer& peer_;
    const User& user_;
    const Meeting& meeting_;
    std::shared_ptr<ChatQueue> chats_;  // made with the first chat
    double tokens_;
    std::chrono::steady_clock::time_point refilled_;
};

}  // namespace castera::realtime
