#include "realtime/room_fanout.hpp"

#include "realtime/frames.hpp"

namespace castera::realtime {

void RoomFanout::publish(const events::Event& event) {
    std::visit(
        [this](const auto& e) {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, events::ChatsPosted>) {
                // REST and WebSocket chats are one conversation: every member hears each, in order.
                for (const Message& message : e.messages) bus_.broadcast(message.meeting_id, chat_event(message));
            } else if constexpr (std::is_same_v<E, events::ParticipantStateChanged>) {
                bus_.broadcast(e.state.meeting_id, participant_state_event(e.state, e.by));
            } else if constexpr (std::is_same_v<E, events::RoomSettingsChanged>) {
                bus_.broadcast(e.meeting, room_settings_event(e.after.locked, e.after.lobby));
                // The lobby opened: those waiting in it come in.
                if (e.before.lobby && !e.after.lobby)
                    bus_.act(e.meeting, RoomAction{.kind = RoomAction::Kind::open_lobby, .user = 0, .by = e.by});
            } else if constexpr (std::is_same_v<E, events::ParticipantKicked>) {
                bus_.act(e.meeting, RoomAction{.kind = RoomAction::Kind::kick, .user = e.user, .by = e.by});
            } else if constexpr (std::is_same_v<E, events::LobbyDecided>) {
                bus_.act(e.meeting, RoomAction{.kind = e.admitted ? RoomAction::Kind::admit : RoomAction::Kind::deny,
                                               .user = e.user,
                                               .by = e.by});
            } else if constexpr (std::is_same_v<E, events::MeetingUpdated>) {
                if (!e.status_changed() && !e.status_set) return;
                bus_.broadcast(e.after.id, meeting_status_event(e.after.id, e.after.status));
                if (e.after.status == "ended") bus_.close_room(e.after.id, kCloseMeetingEnded, "the meeting has ended");
            } else if constexpr (std::is_same_v<E, events::MeetingDeleted>) {
                bus_.close_room(e.meeting.id, kCloseMeetingDeleted, "the meeting was deleted");
            }
        },
        event);
}

}  // namespace castera::realtime
