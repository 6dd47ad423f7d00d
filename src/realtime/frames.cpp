#include "realtime/frames.hpp"

#include <algorithm>

#include "api/serializers.hpp"
#include "realtime/ice_servers.hpp"
#include "util/json_writer.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

// Builds one frame with a JsonWriter.
template <typename Write>
Frame make_frame(Write write) {
    auto out = std::make_shared<std::string>();
    JsonWriter w(*out);
    write(w);
    return out;
}

void write_flags(JsonWriter& w, const ParticipantState& s) {
    w.begin_object();
    w.field("audio_muted", s.audio_muted);
    w.field("video_stopped", s.video_stopped);
    w.field("in_call", s.in_call);
    w.field("raised_hand", s.raised_hand);
    w.field("screen_sharing", s.screen_sharing);
    w.end_object();
}

}  // namespace

void write_chat(JsonWriter& w, const Message& m) {
    w.begin_object();
    w.field("type", "chat");
    api::write_message_fields(w, m);  // the REST message's shape, typed
    w.end_object();
}

RoomEvent chat_event(const Message& m) {
    Frame compat = make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("message", m.content);
        w.field("sender", m.user_email);
        w.end_object();
    });
    Frame typed = make_frame([&](JsonWriter& w) { write_chat(w, m); });
    return {std::move(compat), std::move(typed)};
}

namespace {

// One presence event, whichever instance the participant is on.
RoomEvent make_presence(std::string_view what, std::string_view peer_id, Id user_id, std::string_view email) {
    Frame compat = make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("presence", what);
        w.field("user", email);
        w.end_object();
    });
    Frame typed = make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("type", "presence");
        w.field("event", what);
        w.field("peer_id", peer_id);
        w.field("user", user_id);
        w.field("user_email", email);
        w.end_object();
    });
    return {std::move(compat), std::move(typed)};
}

// A participant's entry in the welcome list.
void write_participant(JsonWriter& w, std::string_view peer_id, Id user_id, std::string_view email,
                       const std::vector<ParticipantState>& states) {
    w.begin_object();
    w.field("peer_id", peer_id);
    w.field("user", user_id);
    w.field("user_email", email);
    w.key("state");
    auto state = std::find_if(states.begin(), states.end(),
                              [&](const ParticipantState& s) { return s.user_id == user_id; });
    if (state != states.end()) write_flags(w, *state);
    else write_flags(w, ParticipantState{});
    w.end_object();
}

}  // namespace

RoomEvent presence_event(std::string_view what, const RoomMember& who) {
    return make_presence(what, who.peer_id, who.user_id, who.email);
}

RoomEvent presence_event(std::string_view what, const PeerInfo& who) {
    return make_presence(what, who.peer_id, who.user_id, who.email);
}

RoomEvent participant_state_event(const ParticipantState& s, Id by) {
    return {nullptr, make_frame([&](JsonWriter& w) {
                w.begin_object();
                w.field("type", "participant_state");
                w.field("meeting", s.meeting_id);
                w.field("user", s.user_id);
                w.field("user_email", s.user_email);
                w.key("state");
                write_flags(w, s);
                if (by != 0 && by != s.user_id) w.field("by", by);
                w.end_object();
            })};
}

RoomEvent room_settings_event(bool locked, bool lobby) {
    return {nullptr, make_frame([&](JsonWriter& w) {
                w.begin_object();
                w.field("type", "room");
                w.field("locked", locked);
                w.field("lobby", lobby);
                w.end_object();
            })};
}

namespace {

// {"type": <type>, "user", "user_email", "peer_id"}: someone of the lobby, for moderators.
RoomEvent lobby_event(std::string_view type, const RoomMember& who) {
    RoomEvent event{nullptr, make_frame([&](JsonWriter& w) {
                        w.begin_object();
                        w.field("type", type);
                        w.field("user", who.user_id);
                        w.field("user_email", who.email);
                        w.field("peer_id", who.peer_id);
                        w.end_object();
                    })};
    event.moderators_only = true;
    return event;
}

void write_waiting(JsonWriter& w, const PeerInfo& p) {
    w.begin_object();
    w.field("user", p.user_id);
    w.field("user_email", p.email);
    w.field("peer_id", p.peer_id);
    w.end_object();
}

}  // namespace

RoomEvent lobby_request_event(const RoomMember& who) { return lobby_event("lobby_request", who); }
RoomEvent lobby_left_event(const RoomMember& who) { return lobby_event("lobby_left", who); }

Frame kicked_frame(Id by) {
    return make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("type", "kicked");
        w.field("by", by);
        w.end_object();
    });
}

Frame lobby_frame(std::string_view status) {
    return make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("type", "lobby");
        w.field("status", status);
        w.end_object();
    });
}

Frame private_chat_frame(const RoomMember& from, std::string_view to, std::string_view content, TimePoint at) {
    return make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("type", "chat");
        w.field("private", true);
        w.field("from", from.peer_id);
        w.field("to", to);
        w.field("user", from.user_id);
        w.field("user_email", from.email);
        w.field("content", content);
        w.field("timestamp", iso8601_text(at).view());
        w.end_object();
    });
}

RoomEvent meeting_status_event(Id meeting, std::string_view status) {
    return {nullptr, make_frame([&](JsonWriter& w) {
                w.begin_object();
                w.field("type", "meeting_status");
                w.field("meeting", meeting);
                w.field("status", status);
                w.end_object();
            })};
}

Frame welcome_frame(const WelcomeParts& p) {
    return make_frame([&](JsonWriter& w) {
        const RoomMember& self = p.self;
        const Meeting& meeting = p.meeting;
        const std::vector<ParticipantState>& states = p.snapshot.states;
        w.begin_object();
        w.field("type", "welcome");
        w.field("protocol", "castera.v2");
        w.field("peer_id", self.peer_id);
        w.field("user", self.user_id);
        w.field("user_email", self.email);
        w.field("role", self.moderator ? "moderator" : "participant");
        w.key("meeting");
        w.begin_object();
        w.field("id", meeting.id);
        w.field("room_id", meeting.room_id);
        w.field("title", meeting.title);
        w.field("status", meeting.status);
        w.field("owner", meeting.user_id);
        w.end_object();
        w.key("room");
        w.begin_object();
        w.field("locked", p.snapshot.locked);
        w.field("lobby", p.snapshot.lobby);
        w.end_object();
        w.key("participants");
        w.begin_array();
        for (const auto& peer : p.peers) write_participant(w, peer->peer_id, peer->user_id, peer->email, states);
        for (const auto& peer : p.remote) write_participant(w, peer.peer_id, peer.user_id, peer.email, states);
        w.end_array();
        w.key("history");
        w.begin_array();
        for (const Message& m : p.snapshot.history) write_chat(w, m);
        w.end_array();
        w.key("ice_servers");
        realtime::write_ice_servers(w, p.ice, self.user_id, std::chrono::system_clock::now());
        if (!p.resume_token.empty()) w.field("resume_token", p.resume_token);
        w.field("resumed", p.resumed);
        if (p.lobby) {
            w.key("lobby");
            w.begin_array();
            for (const PeerInfo& waiting : *p.lobby) write_waiting(w, waiting);
            w.end_array();
        }
        w.end_object();
    });
}

Frame signal_frame(const RoomMember& from, std::string_view signal_type, std::string_view data_json) {
    return make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("type", "signal");
        w.field("from", from.peer_id);
        w.field("from_user", from.email);
        w.field("signal_type", signal_type);
        w.key("data");
        w.raw(data_json);
        w.end_object();
    });
}

Frame error_frame(std::string_view code, std::string_view message) {
    return make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("type", "error");
        w.field("code", code);
        w.field("message", message);
        w.end_object();
    });
}

Frame pong_frame(std::string_view id_json) {
    return make_frame([&](JsonWriter& w) {
        w.begin_object();
        w.field("type", "pong");
        if (!id_json.empty()) {
            w.key("id");
            w.raw(id_json);
        }
        w.end_object();
    });
}

}  // namespace castera
