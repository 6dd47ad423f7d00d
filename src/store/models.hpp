// The domain types, defined once. Field names follow the Django models (SPEC section 1).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace castera {

using Id = std::int64_t;
// Every time is UTC with microsecond precision, as Django stores it.
using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

struct User {
    Id id = 0;
    std::string email;
    std::string password;  // Django hash: "pbkdf2_sha256$iter$salt$digest", or "!..." (unusable)
    std::optional<TimePoint> last_login;
    bool is_superuser = false;
    std::optional<std::string> full_name;
    std::optional<std::string> image;
    std::string role = "user";  // "user" or "admin"
    bool is_active = true;
    bool is_staff = false;

    bool is_admin() const { return role == "admin"; }
};

struct NewUser {
    std::string email;
    std::string password;  // already hashed
    std::optional<std::string> full_name;
    std::optional<std::string> image;
    std::string role = "user";
    bool is_active = true;
    bool is_staff = false;
    bool is_superuser = false;
};

struct Meeting {
    Id id = 0;
    std::string title;
    std::optional<std::string> description;
    std::string type_of = "public";  // "public" or "private"
    TimePoint created_on{};
    std::string room_id;  // canonical lower-case UUID with dashes
    TimePoint scheduled_date{};
    std::string status = "active";  // "active" or "ended"
    Id user_id = 0;                  // the owner
};

struct Message {
    Id id = 0;
    Id meeting_id = 0;
    Id user_id = 0;
    std::string user_email;  // joined from users_user
    std::string content;
    TimePoint timestamp{};
};

struct Recording {
    Id id = 0;
    Id meeting_id = 0;
    Id uploaded_by = 0;
    std::string uploaded_by_email;  // joined from users_user
    std::string file_url;
    TimePoint created_at{};
};

struct ParticipantState {
    Id id = 0;
    Id meeting_id = 0;
    Id user_id = 0;
    std::string user_email;  // joined from users_user
    bool audio_muted = false;
    bool video_stopped = false;
    bool in_call = true;
    bool raised_hand = false;
    bool screen_sharing = false;
};

// The five flags of a participant state, by name, for "set one flag" updates.
enum class ParticipantFlag { audio_muted, video_stopped, in_call, raised_hand, screen_sharing };

struct Signal {
    Id id = 0;
    Id meeting_id = 0;
    Id sender_id = 0;
    std::string sender_email;  // joined from users_user
    std::string signal_type;   // "offer", "answer" or "ice"
    std::string data;          // serialised JSON
    TimePoint created_at{};
};

// An API token for scripts and bots. The key itself is shown once, at creation; the store
// keeps its SHA-256 and a short prefix that lets its owner tell tokens apart.
struct ApiToken {
    Id id = 0;
    Id user_id = 0;
    std::string name;
    std::string key_hash;
    std::string prefix;
    TimePoint created_at{};
    std::optional<TimePoint> expires_at;
    std::optional<TimePoint> last_used_at;
};

// The six models of the admin console, as Django names them (app label, model name).
enum class AdminModel { user, meeting, message, signal, recording, participantstate };

// One row of Django's admin history (django_admin_log), with the names it points at.
struct AdminLogEntry {
    enum Flag : int { addition = 1, change = 2, deletion = 3 };  // Django's action_flag values

    Id id = 0;
    TimePoint action_time{};
    Id user_id = 0;
    std::string user_email;      // joined from users_user
    std::string app_label;       // joined from django_content_type ("" when the row names none)
    std::string model;
    std::string object_id;       // text, as Django keeps it
    std::string object_repr;     // str() of the object, at most 200 characters
    int action_flag = change;
    std::string change_message;  // Django's JSON: [{"changed": {"fields": ["Title"]}}]
};

// A meeting room's controls (castera_room_settings, castera_room_ban): whether newcomers are
// refused (locked) or wait for a moderator (lobby), and who was removed for good.
struct RoomSettings {
    bool locked = false;
    bool lobby = false;
    std::vector<Id> banned;  // user ids, ascending (filled by the readers that say so)
};

// What a WebSocket upgrade needs to know about a room and the user asking, read in one
// statement with the meeting: its controls, and whether the user is banned or admitted.
struct RoomEntry {
    std::optional<Meeting> meeting;  // nothing when the room id names no meeting
    bool locked = false;
    bool lobby = false;
    bool banned = false;
    bool admitted = false;
};

// What a welcome shows, read in one statement: everyone's state, the last chats (oldest first)
// and the room's controls.
struct RoomSnapshot {
    std::vector<ParticipantState> states;
    std::vector<Message> history;
    bool locked = false;
    bool lobby = false;
};

// One event for one webhook endpoint, as the outbox (castera_webhook_event) keeps it: the
// body is signed and sent as it is stored; `event_id` (the webhook-id) is the same for every
// endpoint and every attempt. Status: "pending", "delivered" or "failed".
struct WebhookEvent {
    Id id = 0;
    std::string event_id;
    std::string endpoint;
    std::string type;
    Id meeting_id = 0;  // one meeting's events reach an endpoint in order
    std::string body;
    TimePoint created_at{};
    std::string status = "pending";
    std::int64_t attempts = 0;
    TimePoint next_attempt_at{};
    std::optional<std::int64_t> last_status;  // the HTTP status of the last attempt
    std::optional<std::string> last_error;
    std::optional<TimePoint> delivered_at;
};

// What /readyz says of the outbox.
struct WebhookBacklog {
    std::int64_t pending = 0;
    std::optional<TimePoint> oldest;  // the oldest pending event's created_at
};

// A login session. The store keeps only a hash of the cookie value.
struct Session {
    std::string key_hash;
    Id user_id = 0;
    TimePoint expires{};
};

struct SessionUser {
    Session session;
    User user;
};

// A session with its user, and a meeting read in the same round trip.
struct SessionUserMeeting {
    std::optional<SessionUser> found;  // nothing when the session or its user is gone
    std::optional<Meeting> meeting;    // read only when the session was found
};

}  // namespace castera
