#include "webhooks/outbox.hpp"

#include "api/serializers.hpp"
#include "util/json_writer.hpp"
#include "util/time.hpp"
#include "webhooks/signature.hpp"

namespace castera::webhooks {
namespace {

constexpr std::string_view kIdPlaceholder = "\"data\":{\"id\":0";

// {"type":…,"timestamp":…,"data":…} with `write_data` writing the data object.
template <typename Write>
std::string envelope(std::string_view type, TimePoint at, Write write_data) {
    std::string body;
    body.reserve(384);
    JsonWriter w(body);
    w.begin_object();
    w.field("type", type);
    w.field("timestamp", iso8601_text(at).view());
    w.key("data");
    write_data(w);
    w.end_object();
    return body;
}

// A body whose data's id (written as 0) comes from the commit: cut around it.
Body cut_at_id(std::string body) {
    std::size_t at = body.find(kIdPlaceholder);
    if (at == std::string::npos) return Body{std::move(body), {}};
    std::size_t id_end = at + kIdPlaceholder.size();
    Body out{body.substr(0, id_end - 1), body.substr(id_end)};
    return out;
}

void write_participant(JsonWriter& w, const Meeting& meeting, Id user, std::string_view email) {
    w.begin_object();
    w.field("meeting", meeting.id);
    w.field("room_id", meeting.room_id);
    w.field("user", user);
    w.field("user_email", email);
    w.end_object();
}

Body meeting_body(std::string_view type, TimePoint at, const Meeting& m) {
    return Body{envelope(type, at, [&](JsonWriter& w) { api::write_meeting(w, m); }), {}};
}

}  // namespace

void Outbox::enqueue(Transaction& transaction, std::string_view type, Id meeting, Body body,
                     std::optional<Transaction::Ref> subject, std::size_t item, bool requires_meeting) {
    std::string event_id = new_event_id();
    TimePoint now = now_utc();
    for (const std::string& endpoint : endpoints_) {
        write::EnqueueWebhook row;
        row.event = WebhookEvent{.event_id = event_id,
                                 .endpoint = endpoint,
                                 .type = std::string(type),
                                 .meeting_id = meeting,
                                 .body = body.head,
                                 .created_at = now};
        row.body_tail = body.tail;
        if (subject) row.subject = subject->index;
        row.item = item;
        row.meeting_is_subject = subject && meeting == 0;
        row.requires_meeting = requires_meeting;
        transaction.add(std::move(row));
    }
}

void Outbox::stage(const events::Event& event, Transaction& transaction, std::optional<Transaction::Ref> subject) {
    if (endpoints_.empty()) return;
    TimePoint now = now_utc();
    std::visit(
        [&](const auto& e) {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, events::MeetingCreated>) {
                Meeting m = e.meeting;
                m.id = 0;
                enqueue(transaction, "meeting.created", 0, cut_at_id(meeting_body("meeting.created", now, m).head),
                        subject, 0, false);
            } else if constexpr (std::is_same_v<E, events::MeetingUpdated>) {
                enqueue(transaction, "meeting.updated", e.after.id, meeting_body("meeting.updated", now, e.after),
                        std::nullopt, 0, true);
                if (e.status_changed() && e.after.status == "ended")
                    enqueue(transaction, "meeting.ended", e.after.id, meeting_body("meeting.ended", now, e.after),
                            std::nullopt, 0, true);
            } else if constexpr (std::is_same_v<E, events::MeetingDeleted>) {
                enqueue(transaction, "meeting.deleted", e.meeting.id, meeting_body("meeting.deleted", now, e.meeting),
                        std::nullopt, 0, false);
            } else if constexpr (std::is_same_v<E, events::ChatsPosted>) {
                for (std::size_t i = 0; i < e.messages.size(); ++i) {
                    Message m = e.messages[i];
                    m.id = 0;
                    std::string body = envelope("message.created", now, [&](JsonWriter& w) { api::write_message(w, m); });
                    enqueue(transaction, "message.created", m.meeting_id, cut_at_id(std::move(body)), subject, i, false);
                }
            } else if constexpr (std::is_same_v<E, events::RecordingCreated>) {
                Recording r = e.recording;
                r.id = 0;
                std::string body = envelope("recording.created", now, [&](JsonWriter& w) { api::write_recording(w, r); });
                enqueue(transaction, "recording.created", r.meeting_id, cut_at_id(std::move(body)), subject, 0, false);
            } else if constexpr (std::is_same_v<E, events::ParticipantJoined>) {
                if (e.first_in_room)
                    enqueue(transaction, "meeting.started", e.meeting.id, meeting_body("meeting.started", now, e.meeting),
                            std::nullopt, 0, false);
                std::string body = envelope("participant.joined", now, [&](JsonWriter& w) {
                    write_participant(w, e.meeting, e.user, e.user_email);
                });
                enqueue(transaction, "participant.joined", e.meeting.id, Body{std::move(body), {}}, std::nullopt, 0,
                        false);
            } else if constexpr (std::is_same_v<E, events::ParticipantLeft>) {
                std::string body = envelope("participant.left", now, [&](JsonWriter& w) {
                    write_participant(w, e.meeting, e.user, e.user_email);
                });
                enqueue(transaction, "participant.left", e.meeting.id, Body{std::move(body), {}}, std::nullopt, 0, false);
            }
        },
        event);
}

void Outbox::publish(const events::Event& event) {
    if (endpoints_.empty()) return;
    std::visit(
        [&](const auto& e) {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, events::MeetingCreated>) wake_(e.meeting.id);
            else if constexpr (std::is_same_v<E, events::MeetingUpdated>) wake_(e.after.id);
            else if constexpr (std::is_same_v<E, events::MeetingDeleted>) wake_(e.meeting.id);
            else if constexpr (std::is_same_v<E, events::ChatsPosted>) {
                if (!e.messages.empty()) wake_(e.messages.front().meeting_id);
            } else if constexpr (std::is_same_v<E, events::RecordingCreated>) wake_(e.recording.meeting_id);
            else if constexpr (std::is_same_v<E, events::ParticipantJoined> || std::is_same_v<E, events::ParticipantLeft>)
                wake_(e.meeting.id);
        },
        event);
}

}  // namespace castera::webhooks
