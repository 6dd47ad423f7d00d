// One connection's life in a meeting's room, without the socket: its entry (straight in, or
// through the lobby), what each client frame does (both protocols, docs/PROTOCOL.md), the
// welcome, moderation, the chats on their way to the store, and its leaving. The transport
// (ws_session) reads frames and hands them here; the outbound side is the member's own
// deliver/close. Built on narrow parts only, so unit tests drive it with a fake member and an
// in-memory store.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
    std::int64_t history_messages = 50;     // chats in a welcome
    std::chrono::seconds resume_window{30};  // a dropped connection is held this long (0: never)
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
    // On the member's loop: the welcome, then `kept` (the frames a resumed connection missed),
    // ahead of whatever was queued while it was made.
    virtual void send_welcome(Frame welcome, std::vector<Frame> kept = {}) = 0;
    // On the member's loop: close now (the queue is dropped) with this code.
    virtual void close_now(std::uint16_t code, std::string_view reason) = 0;
    // On the member's loop: what is sent from now on waits for the next send_welcome.
    virtual void hold_for_welcome() {}
};

// Close codes of the sessions (see docs/PROTOCOL.md).
inline constexpr std::uint16_t kCloseInvalidJson = 1007;   // compatible protocol: the frame is not JSON
inline constexpr std::uint16_t kCloseUnsupported = 1003;   // compatible protocol: not {"message": "..."}
inline constexpr std::uint16_t kClosePolicy = 1008;        // outbound queue overflow, or rate limit (compatible)
inline constexpr std::uint16_t kCloseServerError = 1011;   // the store failed under a chat

class RoomSession {
public:
    // `peer` is in the hub already (RoomHub::join), waiting in the lobby or not.
    RoomSession(RoomDeps& deps, std::shared_ptr<SessionPeer> peer, const User& user, const Meeting& meeting);
    ~RoomSession();
    RoomSession(const RoomSession&) = delete;
    RoomSession& operator=(const RoomSession&) = delete;

    // Straight into the room: the other instances told, the welcome (castera.v2), `joined`.
    Task<void> enter();
    // Into the lobby (castera.v2 only): {"type":"lobby","status":"waiting"}, and the room's
    // moderators told. A moderator's admit (or the lobby turned off) brings it in: act().
    void wait_in_lobby();
    // A resumed connection (the same peer id as the dropped one, whose place it took in the
    // hub): a welcome with "resumed": true, then the frames the dropped one kept.
    Task<void> resume(std::vector<Frame> kept);
    // castera.v2's first frame: the peer id, the meeting, everyone in the room with their
    // state, the last chats, the controls, a resume token.
    Task<void> send_welcome();
    // One client message (text or not). Frames over the rate are refused here.
    Task<void> on_message(std::string_view payload, bool text);
    // A moderator's action that concerns this connection, on its loop (RoomMember::act).
    void act(const RoomAction& action);
    // Before the connection leaves its room: every chat it sent is stored and published, and
    // an admission under way is over.
    Task<void> finish();
    // The connection leaves for good: out of the hub and the bus, `left` (or, from the lobby,
    // the moderators told). Not for a connection that is held for a resume. True when it was
    // in the room (its departure is then announced).
    bool leave();

    bool waiting() const { return waiting_; }
    bool in_room() const { return in_room_; }

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
    Task<void> on_private_chat(const boost::json::object& frame, std::string content);
    Task<void> on_signal(const boost::json::object& frame);
    Task<void> on_state_change(const boost::json::object& frame);
    Task<void> on_moderate(const boost::json::object& frame);
    Task<void> queue_chat(std::string content);
    Task<void> build_welcome(bool resumed, std::vector<Frame> kept);
    static Task<void> admit_from_lobby(RoomSession& session);
    static Task<void> store_waiting_chats(RoomSession& session, std::shared_ptr<ChatQueue> chats);
    static Task<void> wait_for_chats(ChatQueue& chats);
    void send_error(std::string_view code, std::string_view message);
    bool take_message_token();

    RoomDeps& deps_;
    std::shared_ptr<SessionPeer> peer_;
    const User& user_;
    const Meeting& meeting_;
    std::shared_ptr<ChatQueue> chats_;  // made with the first chat, or an admission
    double tokens_;
    std::chrono::steady_clock::time_point refilled_;
    bool waiting_ = false;  // in the lobby
    bool in_room_ = false;  // entered (the room was told it joined)
};

}  // namespace castera::realtime
