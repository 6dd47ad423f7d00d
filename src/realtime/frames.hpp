// Every frame castera sends on a meeting's WebSocket, in both protocols (docs/PROTOCOL.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "realtime/room_hub.hpp"
#include "store/models.hpp"

namespace castera {

class JsonWriter;

// Close codes beyond RFC 6455's (see docs/PROTOCOL.md).
inline constexpr std::uint16_t kCloseMeetingEnded = 4000;    // the owner ended the meeting
inline constexpr std::uint16_t kCloseMeetingDeleted = 4004;  // the meeting no longer exists
inline constexpr std::uint16_t kCloseRemoved = 4003;             // kicked, or denied at the lobby
inline constexpr std::uint16_t kCloseTooManyConnections = 4008;  // a room or user limit

// Chat, compatible: {"message","sender"}; typed: {"type":"chat","id","meeting","user","user_email","content","timestamp"}.
RoomEvent chat_event(const Message& message);
// Presence: {"presence":"joined"|"left","user"} / {"type":"presence","event","peer_id","user","user_email"}.
RoomEvent presence_event(std::string_view what, const RoomMember& who);
// The same for a participant of another instance (announced by the bus).
RoomEvent presence_event(std::string_view what, const PeerInfo& who);
// A participant's state (typed only); `by` is named when it is not the participant (a moderator).
RoomEvent participant_state_event(const ParticipantState& state, Id by = 0);
// The meeting's status (typed only).
RoomEvent meeting_status_event(Id meeting, std::string_view status);
// The room's controls changed (typed only): {"type":"room","locked","lobby"}.
RoomEvent room_settings_event(bool locked, bool lobby);
// To the room's moderators: someone waits in the lobby, or no longer does (typed only).
RoomEvent lobby_request_event(const RoomMember& who);
RoomEvent lobby_left_event(const RoomMember& who);

// What a welcome holds (docs/PROTOCOL.md): `peers` are this instance's members of the room,
// `remote` those of the other instances; `lobby` (moderators only) those waiting.
struct WelcomeParts {
    const RoomMember& self;
    const Meeting& meeting;
    const std::vector<std::shared_ptr<RoomMember>>& peers;
    const std::vector<PeerInfo>& remote;
    const RoomSnapshot& snapshot;
    const Config::Ice& ice;
    std::string_view resume_token;  // empty: resuming is off
    bool resumed = false;
    const std::vector<PeerInfo>* lobby = nullptr;
};

// To one connection, typed only.
Frame welcome_frame(const WelcomeParts& parts);
// A chat as the welcome's history holds it: the typed chat frame.
void write_chat(JsonWriter& w, const Message& message);
Frame kicked_frame(Id by);
// {"type":"lobby","status":"waiting"|"denied"}
Frame lobby_frame(std::string_view status);
// A private chat, to its addressee and its sender only; never stored.
Frame private_chat_frame(const RoomMember& from, std::string_view to, std::string_view content, TimePoint at);
Frame signal_frame(const RoomMember& from, std::string_view signal_type, std::string_view data_json);
Frame error_frame(std::string_view code, std::string_view message);
// `id_json` is the ping's "id", already JSON, echoed as sent.
Frame pong_frame(std::string_view id_json);

}  // namespace castera
