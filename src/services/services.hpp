// The use cases: one function each, used by every transport (REST, the WebSocket rooms, the
// command line, the admin console). Each decides its permissions (access.hpp), writes through
// the Store (several rows in one Transaction), and hands the events it caused to the event
// sink; none knows HTTP or frames. One Services per event loop: it holds that loop's store.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

#include "events/events.hpp"
#include "observe/counters.hpp"
#include "services/access.hpp"
#include "services/outcome.hpp"
#include "store/store.hpp"
#include "validation/fields.hpp"

namespace castera {
class LoginThrottle;
class CredentialCache;
}  // namespace castera

namespace castera::services {

// PBKDF2 is deliberately slow (600,000 iterations: hundreds of milliseconds): it runs on a
// thread pool, never on an event loop.
class PasswordHasher {
public:
    PasswordHasher(boost::asio::thread_pool& pool, int iterations) : pool_(pool), iterations_(iterations) {}
    // False for a wrong password and for an unusable hash ("!...").
    Task<bool> verify(std::string raw, std::string encoded);
    Task<std::string> hash(std::string raw);

private:
    boost::asio::thread_pool& pool_;
    int iterations_;
};

// Who is in a meeting's room right now, on any instance: the rooms answer (RoomRoster), the
// services ask before acting on someone there.
class RoomPresence {
public:
    struct Found {
        bool in_room = false;  // a connection of the user is in the room
        bool waiting = false;  // a connection of the user waits in its lobby
    };
    virtual ~RoomPresence() = default;
    virtual Task<Found> find(Id meeting, Id user) = 0;
};

// What the services of one event loop work with.
struct Deps {
    Store& store;
    events::EventSink& events;
    PasswordHasher& passwords;
    LoginThrottle& throttle;
    CredentialCache& credentials;
    LoopCounters& counters;
    RoomPresence* presence = nullptr;  // none: nobody is ever in a room (the command line)
};

// ---- meetings

// A meeting's writable fields from a request body or a form, with DRF's checks and messages in
// the serializer's field order. Read-only fields (id, user, created_on, room_id) and unknown
// fields are ignored, as DRF does.
MeetingChanges read_meeting_changes(const boost::json::object& data, validation::Mode mode,
                                    validation::FieldErrors& errors);

// The owner's figures, for the dashboard.
struct Dashboard {
    OwnerTotals totals;
    std::vector<Meeting> meetings;  // the owner's, oldest id first
};

class Meetings {
public:
    explicit Meetings(Deps& deps) : deps_(deps) {}

    // The actor's meetings (every meeting for an admin), as the query asks.
    Task<Page<Meeting>> list(const Actor& actor, MeetingQuery query);
    Task<std::optional<Meeting>> find(Id id);
    // Nothing for an unknown room or a malformed id.
    Task<std::optional<Meeting>> find_by_room(std::string_view room_id);
    // `input` holds every required field (read_meeting_changes in full mode). Owned by the actor.
    Task<Outcome<Meeting>> create(const Actor& actor, MeetingChanges input);
    Task<Outcome<Meeting>> update(const Actor& actor, const Meeting& meeting, MeetingChanges changes);
    // With everything in it; the room's connections are closed.
    Task<Outcome<Done>> remove(const Actor& actor, const Meeting& meeting);
    // "active" or "ended" (ended closes the room); anything else is refused as invalid.
    Task<Outcome<Meeting>> set_status(const Actor& actor, const Meeting& meeting, std::string status);
    Task<Dashboard> dashboard(const User& owner);

private:
    Task<Outcome<Meeting>> apply_update(const Actor& actor, const Meeting& meeting, MeetingChanges changes,
                                        bool status_set);

    Deps& deps_;
};

// ---- chat, recordings, participants

class Chats {
public:
    explicit Chats(Deps& deps) : deps_(deps) {}

    // Oldest first; the owner or an admin only (the old server's rule).
    Task<Outcome<Page<Message>>> list(const Actor& actor, const Meeting& meeting, std::optional<std::int64_t> limit,
                                      std::int64_t offset);
    // Stores the messages in one commit and delivers them to the room, in order. None may be
    // blank. Over REST only the owner or an admin may post; a room member may always talk.
    Task<Outcome<std::vector<Message>>> post(const Actor& actor, const Meeting& meeting,
                                             std::vector<std::string> contents, ChatChannel channel);

private:
    Deps& deps_;
};

class Recordings {
public:
    explicit Recordings(Deps& deps) : deps_(deps) {}

    // Newest first; the owner or an admin only.
    Task<Outcome<Page<Recording>>> list(const Actor& actor, const Meeting& meeting, std::optional<std::int64_t> limit,
                                        std::int64_t offset);
    // `file_url` already validated (an http(s) URL of at most 200 characters).
    Task<Outcome<Recording>> create(const Actor& actor, const Meeting& meeting, std::string file_url);

private:
    Deps& deps_;
};

class Participants {
public:
    explicit Participants(Deps& deps) : deps_(deps) {}

    Task<std::vector<ParticipantState>> list(const Meeting& meeting);
    // The actor's own state in the meeting: the flags set in one write (the row made on first
    // use), and everyone in the room told.
    Task<Outcome<ParticipantState>> change_own(const Actor& actor, const Meeting& meeting, FlagChanges flags);
    // The user's first connection to the room arrived (`first_in_room`: the room was empty),
    // or their last one is gone, counted across instances by the room: told to the event sink
    // (the webhooks' participant.joined / participant.left / meeting.started).
    Task<void> arrived(const User& user, const Meeting& meeting, bool first_in_room);
    Task<void> departed(const User& user, const Meeting& meeting);
    // A WebRTC signal relayed in the room, kept as the meeting's signaling history.
    Task<Signal> record_signal(const Actor& actor, const Meeting& meeting, std::string signal_type,
                               std::string data_json);

private:
    Deps& deps_;
};

// ---- a meeting room's controls and its moderation

// PATCH /api/meetings/<id>/room/: booleans only; any other field is an error.
struct RoomSettingsChanges {
    std::optional<bool> locked;
    std::optional<bool> lobby;
};
RoomSettingsChanges read_room_settings_changes(const boost::json::object& data, validation::FieldErrors& errors);

// What a moderator may do to someone in the room. A moderator turns things off, never on.
enum class ModerationAction { mute_audio, stop_video, stop_screen_share, lower_hand, kick, unban, admit, deny };
// Frames name actions with underscores (mute_audio), REST paths with hyphens (mute-audio).
std::optional<ModerationAction> moderation_action_named(std::string_view name);
std::string_view moderation_action_path(ModerationAction action);

// A moderation's outcome: the target's participant state (the state actions), or a message.
struct Moderation {
    std::optional<ParticipantState> state;
    std::string detail;
};

class RoomControl {
public:
    explicit RoomControl(Deps& deps) : deps_(deps) {}

    // The meeting behind a room id with the room's controls for `user` (a WebSocket upgrade).
    Task<RoomEntry> entry(std::string_view room_id, Id user);
    // What a welcome shows: states, the last `history` chats, the controls (one statement).
    Task<RoomSnapshot> snapshot(const Meeting& meeting, std::int64_t history);
    // Anyone who may see the meeting.
    Task<Outcome<RoomSettings>> settings(const Actor& actor, const Meeting& meeting);
    // Moderators only; the room is told when something changed.
    Task<Outcome<RoomSettings>> change_settings(const Actor& actor, const Meeting& meeting, RoomSettingsChanges changes);
    // Moderators only, on a user of this meeting (its owner, someone with a state in it, in its
    // room or lobby now, banned or admitted), never on themselves; the owner cannot be removed.
    Task<Outcome<Moderation>> moderate(const Actor& actor, const Meeting& meeting, Id target, ModerationAction action);

private:
    Deps& deps_;
};

// ---- webhooks

// The outbox's deliveries, for staff: listed by status, and a failed one sent again.
class WebhookDeliveries {
public:
    explicit WebhookDeliveries(Deps& deps) : deps_(deps) {}

    // `status` is "pending", "delivered", "failed" or empty (all); newest first.
    Task<Outcome<Page<WebhookEvent>>> list(const Actor& actor, std::string status, std::int64_t limit,
                                           std::int64_t offset);
    // Not found unless the event exists and has failed; it is then pending again, due now.
    Task<Outcome<Done>> retry(const Actor& actor, Id id);

private:
    Deps& deps_;
};

// ---- accounts

// A verified external identity (a Clerk token's claims).
struct ExternalIdentity {
    std::string email;
    std::optional<std::string> full_name;
    std::optional<std::string> image;
    bool admin = false;
};

// A new user as the command line or the admin console gives it.
struct NewAccount {
    std::string email;
    std::optional<std::string> password;  // raw; none: an unusable password
    std::optional<std::string> full_name;
    std::optional<std::string> image;
    std::string role = "user";
    bool is_staff = false;
    bool is_superuser = false;
    bool is_active = true;
};

class Accounts {
public:
    explicit Accounts(Deps& deps) : deps_(deps) {}

    // The throttled password check behind every password sign-in (the session login and HTTP
    // Basic): refused with throttled (too many failures for this account or address),
    // bad_credentials, or inactive (right password, deactivated account).
    Task<Outcome<User>> sign_in_with_password(std::string email, std::string password, std::string_view address);
    // A new session for the user, in one commit: the request's old session (if any) ended, the
    // new one stored, last_login set. Returns the key to hand to the client (its hash is kept).
    Task<std::string> open_session(const User& user, std::string_view old_key, std::chrono::seconds age);
    Task<void> close_session(std::string_view key);
    // The user a verified external identity names: found by email, or created with an unusable
    // password, and kept up to date with its name and picture.
    Task<User> user_for_identity(ExternalIdentity identity);

    // User management (the command line, the admin console).
    Task<Outcome<User>> create_user(const Actor& actor, NewAccount account);
    // A new password ends every session of the user and every remembered credential.
    Task<Outcome<Done>> change_password(const Actor& actor, const User& user, std::string raw);
    Task<Outcome<Done>> update_user(const Actor& actor, const User& changed);
    // With everything that hangs off them; each of their meetings is a meeting.deleted in the
    // same commit, and its room is closed.
    Task<Outcome<Done>> delete_user(const Actor& actor, const User& user);

    // API tokens for scripts and bots: the key is returned once, only its hash is kept. A
    // request authenticated by an API token may not mint more (`via_token`).
    struct NewToken {
        ApiToken token;
        std::string key;
    };
    Task<Outcome<NewToken>> create_token(const User& owner, bool via_token, std::string name,
                                         std::optional<TimePoint> expires);
    Task<std::vector<ApiToken>> list_tokens(const User& owner);
    Task<Outcome<Done>> delete_token(const User& owner, Id token);

private:
    Deps& deps_;
};

// ---- the admin console

// A form's fields for one row of a model, as the console's add and change pages send them
// (strings; a checkbox that is not ticked is absent), read with the API's validators.
struct MessageFields {
    Id meeting = 0;
    Id user = 0;
    std::string content;
};
struct SignalFields {
    Id meeting = 0;
    Id sender = 0;
    std::string signal_type;
    std::string data_json;  // valid JSON
};
struct RecordingFields {
    Id meeting = 0;
    Id uploaded_by = 0;
    std::string file_url;
};
struct StateFields {
    Id meeting = 0;
    Id user = 0;
    bool audio_muted = false, video_stopped = false, in_call = true, raised_hand = false, screen_sharing = false;
};

MessageFields read_message_fields(const boost::json::object& data, validation::FieldErrors& errors);
SignalFields read_signal_fields(const boost::json::object& data, validation::FieldErrors& errors);
RecordingFields read_recording_fields(const boost::json::object& data, validation::FieldErrors& errors);
StateFields read_state_fields(const boost::json::object& data, validation::FieldErrors& errors);
// A foreign key given as an id: "This field is required." when absent, Django's
// "Select a valid choice..." when it is not a positive number. (Existence is the service's check.)
std::optional<Id> read_foreign_key(const boost::json::object& data, std::string_view name,
                                   validation::FieldErrors& errors);

// What goes with an object when it is deleted: per related model, how many rows and the
// first of them (the delete confirmation page lists them, as Django's does).
struct Dependents {
    AdminModel model;
    std::int64_t total = 0;
    std::vector<ConsoleRow> first;
};

// The admin console's use cases over the six models, for a staff member (Actor::console):
// listings, one row, the history, and the writes of the models the other services do not
// cover. Every write records its row of Django's admin history in its own transaction.
class Console {
public:
    Console(Deps& deps, Meetings& meetings, Accounts& accounts) : deps_(deps), meetings_(meetings), accounts_(accounts) {}

    // A changelist page; filters must name the model's fields with values they can hold
    // (refused as invalid otherwise, so the page can say so as Django does).
    Task<Outcome<ConsolePage>> list(const Actor& actor, AdminModel model, ConsoleQuery query);
    Task<Outcome<ConsoleRow>> find(const Actor& actor, AdminModel model, Id id);
    // One object's history, oldest first; the actor's own recent actions, newest first.
    Task<Outcome<std::vector<AdminLogEntry>>> history(const Actor& actor, AdminModel model, Id id);
    Task<Outcome<std::vector<AdminLogEntry>>> recent_actions(const Actor& actor, std::int64_t limit);
    Task<Outcome<std::vector<Dependents>>> dependents(const Actor& actor, AdminModel model, Id id);

    // A meeting with the owner the form names (the rest as Meetings::create).
    Task<Outcome<Meeting>> create_meeting(const Actor& actor, MeetingChanges input);
    Task<Outcome<Meeting>> update_meeting(const Actor& actor, const Meeting& meeting, MeetingChanges changes);
    Task<Outcome<Id>> create_message(const Actor& actor, MessageFields fields);
    Task<Outcome<Done>> update_message(const Actor& actor, const Message& before, MessageFields fields);
    Task<Outcome<Id>> create_signal(const Actor& actor, SignalFields fields);
    Task<Outcome<Done>> update_signal(const Actor& actor, const Signal& before, SignalFields fields);
    Task<Outcome<Id>> create_recording(const Actor& actor, RecordingFields fields);
    Task<Outcome<Done>> update_recording(const Actor& actor, const Recording& before, RecordingFields fields);
    // Refused as invalid when the meeting and user already have a state (unique together).
    Task<Outcome<Id>> create_state(const Actor& actor, StateFields fields);
    Task<Outcome<Done>> update_state(const Actor& actor, const ParticipantState& before, StateFields fields);
    // Deletes one row of any model: a meeting with everything in it (its room closed), a user
    // with everything that hangs off them.
    Task<Outcome<Done>> remove(const Actor& actor, AdminModel model, Id id);

private:
    // Refusals for foreign keys that name no row, as Django's form says them.
    Task<validation::FieldErrors> check_keys(Id meeting, std::string_view user_field, Id user);

    Deps& deps_;
    Meetings& meetings_;
    Accounts& accounts_;
};

// Everything a transport needs, for one event loop.
struct Services {
    explicit Services(Deps d)
        : deps(d),
          meetings(deps),
          chats(deps),
          recordings(deps),
          participants(deps),
          rooms(deps),
          accounts(deps),
          console(deps, meetings, accounts),
          webhooks(deps) {}
    Services(const Services&) = delete;
    Services& operator=(const Services&) = delete;

    Deps deps;
    Meetings meetings;
    Chats chats;
    Recordings recordings;
    Participants participants;
    RoomControl rooms;
    Accounts accounts;
    Console console;
    WebhookDeliveries webhooks;

    // True when the database answers (for /readyz).
    Task<bool> database_ready();
    // The webhook outbox's backlog (for /readyz); nothing when it cannot be read.
    Task<std::optional<WebhookBacklog>> webhook_backlog();
};

// What the store keeps of an API token's key, and of a session key: a SHA-256.
std::string api_token_hash(std::string_view key);
std::string session_key_hash(std::string_view key);

}  // namespace castera::services
