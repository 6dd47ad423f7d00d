// Domain events: what the use cases changed, told to whoever follows (the meeting rooms today;
// the webhook outbox and the metrics as they come). A service makes the change, then hands its
// events to one EventSink; no use case publishes to a room or writes an outbox row itself.
//
// Two moments: stage() runs before the commit and may add writes to the change's transaction
// (so that a durable record of the event commits with the change, or not at all); publish()
// runs after the commit, with the rows as stored, for live delivery.
#pragma once

#include <initializer_list>
#include <variant>
#include <vector>

#include "store/models.hpp"
#include "store/transaction.hpp"

namespace castera::events {

struct MeetingCreated {
    Meeting meeting;
    Id by = 0;  // who did it (0: the system)
};
struct MeetingUpdated {
    Meeting before;
    Meeting after;
    Id by = 0;
    bool status_set = false;  // set-status was asked: the room hears the status even if unchanged
    bool status_changed() const { return before.status != after.status; }
};
struct MeetingDeleted {
    Meeting meeting;  // as it was
    Id by = 0;
};
// Chat messages stored in one go, in order (one author, one meeting). Staged with every field
// but the ids, which the commit gives.
struct ChatsPosted {
    std::vector<Message> messages;
};
struct RecordingCreated {
    Recording recording;  // staged without its id
};
struct ParticipantStateChanged {
    ParticipantState state;
    Id by = 0;  // the participant themselves, or a moderator
};

// A meeting room's controls changed (PATCH .../room/): the room is told, and when the lobby
// opens those waiting in it come in.
struct RoomSettingsChanged {
    Id meeting = 0;
    RoomSettings before;
    RoomSettings after;  // without the banned list
    Id by = 0;
};
// A moderator removed a user from the room (kick): banned, every connection of theirs closed.
struct ParticipantKicked {
    Id meeting = 0;
    Id user = 0;
    Id by = 0;
};
struct ParticipantUnbanned {
    Id meeting = 0;
    Id user = 0;
    Id by = 0;
};
// A moderator let a user in past the lobby (admitted), or sent them away (denied).
struct LobbyDecided {
    Id meeting = 0;
    Id user = 0;
    Id by = 0;
    bool admitted = false;
};

// A user's first connection to a meeting's room arrived, counted across instances;
// `first_in_room`: nobody was in the room before (the meeting started).
struct ParticipantJoined {
    Meeting meeting;
    Id user = 0;
    std::string user_email;
    bool first_in_room = false;
};
// A user's last connection to the room is gone, counted across instances.
struct ParticipantLeft {
    Meeting meeting;
    Id user = 0;
    std::string user_email;
};

using Event = std::variant<MeetingCreated, MeetingUpdated, MeetingDeleted, ChatsPosted, RecordingCreated,
                           ParticipantStateChanged, RoomSettingsChanged, ParticipantKicked, ParticipantUnbanned,
                           LobbyDecided, ParticipantJoined, ParticipantLeft>;

class EventSink {
public:
    virtual ~EventSink() = default;
    // Before the commit. `subject`, when set, is the write of `transaction` that creates the
    // event's object: its id and the rows as stored are known only once committed, so the
    // staged event carries what the use case knew before (an empty ChatsPosted, say).
    virtual void stage(const Event& event, Transaction& transaction, std::optional<Transaction::Ref> subject) {
        (void)event, (void)transaction, (void)subject;
    }
    // After the commit. Callable from any event loop.
    virtual void publish(const Event& event) = 0;
};

// Hands every event to each of its sinks, in the order they were added.
class EventFanout final : public EventSink {
public:
    void add(EventSink& sink) { sinks_.push_back(&sink); }
    void stage(const Event& event, Transaction& transaction, std::optional<Transaction::Ref> subject) override {
        for (EventSink* sink : sinks_) sink->stage(event, transaction, subject);
    }
    void publish(const Event& event) override {
        for (EventSink* sink : sinks_) sink->publish(event);
    }

private:
    std::vector<EventSink*> sinks_;
};

}  // namespace castera::events
