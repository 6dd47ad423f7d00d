// SQL that both backends share: column lists in the order the row readers expect, the
// participant flags with their defaults, listing orders, and what goes with a deleted meeting
// or user (Django's on_delete=CASCADE, done by castera on both backends, since a database Django
// made has foreign keys that do not cascade). Placeholders differ (?N on SQLite, $N on
// PostgreSQL), so whole statements stay with their backend.
#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>

#include "store/models.hpp"
#include "store/store.hpp"

namespace castera::sql {

inline constexpr std::string_view kUserColumns =
    "id, email, password, last_login, is_superuser, full_name, image, role, is_active, is_staff";
inline constexpr std::string_view kUserColumnsOfU =
    "u.id, u.email, u.password, u.last_login, u.is_superuser, u.full_name, u.image, u.role, u.is_active, u.is_staff";
inline constexpr std::string_view kMeetingColumns =
    "id, title, description, type_of, created_on, room_id, scheduled_date, status, user_id";
inline constexpr std::string_view kMeetingColumnsOfM =
    "m.id, m.title, m.description, m.type_of, m.created_on, m.room_id, m.scheduled_date, m.status, m.user_id";
inline constexpr std::string_view kTokenColumns =
    "id, user_id, name, key_hash, prefix, created_at, expires_at, last_used_at";

// Each ends with a space, ready for a WHERE clause.
// The webhook outbox's columns, as read_webhook_event reads them.
inline constexpr std::string_view kWebhookColumns =
    "id, event_id, endpoint, type, meeting_id, body, created_at, status, attempts, next_attempt_at, last_status, "
    "last_error, delivered_at";
// Schema version 7, the same on both backends: an outbox insert touches only the queue index,
// and the statuses a row ends in have partial indexes of their own (pruning the delivered,
// listing the failed).
inline constexpr const char* kOutboxIndexesVersion7 = R"sql(
DROP INDEX IF EXISTS "castera_webhook_event_pending";
DROP INDEX IF EXISTS "castera_webhook_event_status";
CREATE INDEX IF NOT EXISTS "castera_webhook_event_delivered" ON "castera_webhook_event" ("delivered_at")
  WHERE "status" = 'delivered';
CREATE INDEX IF NOT EXISTS "castera_webhook_event_failed" ON "castera_webhook_event" ("id") WHERE "status" = 'failed';
)sql";

// The WHERE clause that lists the outbox's rows of one status ("" for all), with the status
// written out so that its partial index serves the query. Any other status is refused.
inline std::string_view webhook_status_condition(std::string_view status) {
    if (status.empty()) return "";
    if (status == "pending") return " WHERE status = 'pending'";
    if (status == "failed") return " WHERE status = 'failed'";
    if (status == "delivered") return " WHERE status = 'delivered'";
    throw std::invalid_argument("unknown webhook event status");
}
inline constexpr std::string_view kMessageSelect =
    "SELECT m.id, m.meeting_id, m.user_id, u.email, m.content, m.timestamp "
    "FROM meetings_message m JOIN users_user u ON u.id = m.user_id ";
inline constexpr std::string_view kRecordingSelect =
    "SELECT r.id, r.meeting_id, r.uploaded_by_id, u.email, r.file_url, r.created_at "
    "FROM meetings_recording r JOIN users_user u ON u.id = r.uploaded_by_id ";
inline constexpr std::string_view kStateSelect =
    "SELECT p.id, p.meeting_id, p.user_id, u.email, p.audio_muted, p.video_stopped, p.in_call, "
    "p.raised_hand, p.screen_sharing FROM meetings_participantstate p JOIN users_user u ON u.id = p.user_id ";

// A welcome's snapshot in one statement: rows of kind 0 (a participant state: id, meeting,
// user, email, the five flags), 1 (one of the last ?2 chats: id, meeting, user, email, then
// content and timestamp in columns 10 and 11) and 2 (the room's controls: locked, lobby in
// columns 5 and 6). A UNION's rows come in no promised order: order_snapshot sorts them.
#define CASTERA_ROOM_SNAPSHOT(P1, P2, NB, NT, NTS)                                                                   \
    "SELECT 0, p.id, p.meeting_id, p.user_id, u.email, p.audio_muted, p.video_stopped, p.in_call, "                \
    "p.raised_hand, p.screen_sharing, " NT ", " NTS " FROM meetings_participantstate p "                          \
    "JOIN users_user u ON u.id = p.user_id WHERE p.meeting_id = " P1 " "                                           \
    "UNION ALL SELECT 1, h.id, h.meeting_id, h.user_id, h.email, " NB ", " NB ", " NB ", " NB ", " NB ", "         \
    "h.content, h.timestamp FROM (SELECT m.id, m.meeting_id, m.user_id, u.email, m.content, m.timestamp "          \
    "FROM meetings_message m JOIN users_user u ON u.id = m.user_id WHERE m.meeting_id = " P1 " "                   \
    "ORDER BY m.timestamp DESC, m.id DESC LIMIT " P2 ") h "                                                          \
    "UNION ALL SELECT 2, 0, r.meeting_id, 0, '', r.locked, r.lobby, " NB ", " NB ", " NB ", " NT ", " NTS " "       \
    "FROM castera_room_settings r WHERE r.meeting_id = " P1
inline constexpr const char* kRoomSnapshotSqlite = CASTERA_ROOM_SNAPSHOT("?1", "?2", "NULL", "NULL", "NULL");
inline constexpr const char* kRoomSnapshotPostgres =
    CASTERA_ROOM_SNAPSHOT("$1", "$2", "NULL::boolean", "NULL::text", "NULL::timestamptz");
#undef CASTERA_ROOM_SNAPSHOT

// The snapshot's rows in the order a welcome shows them: states by id, chats oldest first.
inline void order_snapshot(RoomSnapshot& s) {
    std::sort(s.states.begin(), s.states.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::sort(s.history.begin(), s.history.end(), [](const Message& a, const Message& b) {
        return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.id < b.id;
    });
}

inline constexpr std::string_view kMessageOrder = " ORDER BY m.timestamp, m.id";
inline constexpr std::string_view kRecordingOrder = " ORDER BY r.created_at DESC, r.id DESC";
inline constexpr std::string_view kTokenOrder = " ORDER BY created_at DESC, id DESC";

// The five participant flags, their columns and Django's model defaults (written explicitly:
// Django sets no database defaults).
struct FlagColumn {
    ParticipantFlag flag;
    std::string_view column;
    bool default_value;
};
inline constexpr std::array<FlagColumn, 5> kFlagColumns{{
    {ParticipantFlag::audio_muted, "audio_muted", false},
    {ParticipantFlag::video_stopped, "video_stopped", false},
    {ParticipantFlag::in_call, "in_call", true},
    {ParticipantFlag::raised_hand, "raised_hand", false},
    {ParticipantFlag::screen_sharing, "screen_sharing", false},
}};

inline std::string_view flag_column(ParticipantFlag flag) { return kFlagColumns[static_cast<std::size_t>(flag)].column; }

inline std::string_view order_clause(MeetingQuery::Order order) {
    switch (order) {
        case MeetingQuery::Order::newest_created_first: return " ORDER BY created_on DESC, id DESC";
        case MeetingQuery::Order::soonest_scheduled_first: return " ORDER BY scheduled_date ASC, id ASC";
        case MeetingQuery::Order::latest_scheduled_first: return " ORDER BY scheduled_date DESC, id DESC";
        case MeetingQuery::Order::id_ascending: return " ORDER BY id ASC";
    }
    return "";
}

// A table whose rows go with the object they point at through `column`. `django_only` tables
// exist only where Django made the database; a backend skips those it does not find.
struct Dependent {
    std::string_view table;
    std::string_view column;
    bool django_only = false;
};

// What goes with a meeting, deleted before it.
inline constexpr std::array<Dependent, 4> kMeetingDependents{{
    {"meetings_message", "meeting_id"},
    {"meetings_signal", "meeting_id"},
    {"meetings_recording", "meeting_id"},
    {"meetings_participantstate", "meeting_id"},
}};

// What goes with a user, besides the meetings the user owns (each with its dependents),
// deleted before the user.
inline constexpr std::array<Dependent, 9> kUserDependents{{
    {"meetings_message", "user_id"},
    {"meetings_signal", "sender_id"},
    {"meetings_recording", "uploaded_by_id"},
    {"meetings_participantstate", "user_id"},
    {"castera_session", "user_id"},
    {"castera_api_token", "user_id"},
    {"users_user_groups", "user_id", true},
    {"users_user_user_permissions", "user_id", true},
    {"django_admin_log", "user_id", true},
}};

// ---- the admin console's listings

// How a console field's value is compared and bound.
enum class FieldKind { integer, text, boolean, time, uuid };

// A field a console listing may filter, order or search by: its name (Django's: the model's
// field, or "user__email" for a field of the related row) and its SQL.
struct ConsoleField {
    std::string_view name;
    std::string_view column;
    FieldKind kind;
    bool searched = false;  // one of the model's search fields (SPEC section 6)
};

// One model's listing: its select (the row reader's columns, then the related text), the FROM
// clause a count shares, its fields and the order it has when none is asked.
struct ConsoleTable {
    AdminModel model;
    std::string_view app_label;
    std::string_view model_name;
    std::string_view table;
    std::string_view columns;        // SELECT list
    std::string_view from;           // FROM and JOINs, starting with a space
    std::string_view id_column;
    std::string_view default_order;  // " ORDER BY ..."
    std::span<const ConsoleField> fields;

    const ConsoleField* field(std::string_view name) const {
        for (const ConsoleField& f : fields)
            if (f.name == name) return &f;
        return nullptr;
    }
};

inline constexpr std::array<ConsoleField, 8> kUserFields{{
    {"id", "u.id", FieldKind::integer},
    {"email", "u.email", FieldKind::text, true},
    {"full_name", "u.full_name", FieldKind::text, true},
    {"role", "u.role", FieldKind::text},
    {"is_staff", "u.is_staff", FieldKind::boolean},
    {"is_superuser", "u.is_superuser", FieldKind::boolean},
    {"is_active", "u.is_active", FieldKind::boolean},
    {"last_login", "u.last_login", FieldKind::time},
}};
inline constexpr std::array<ConsoleField, 10> kMeetingFields{{
    {"id", "m.id", FieldKind::integer},
    {"title", "m.title", FieldKind::text, true},
    {"user__email", "u.email", FieldKind::text, true},
    {"room_id", "m.room_id", FieldKind::uuid, true},
    {"description", "m.description", FieldKind::text},
    {"type_of", "m.type_of", FieldKind::text},
    {"status", "m.status", FieldKind::text},
    {"scheduled_date", "m.scheduled_date", FieldKind::time},
    {"created_on", "m.created_on", FieldKind::time},
    {"user", "m.user_id", FieldKind::integer},
}};
inline constexpr std::array<ConsoleField, 7> kMessageFields{{
    {"id", "x.id", FieldKind::integer},
    {"meeting__title", "mt.title", FieldKind::text, true},
    {"user__email", "u.email", FieldKind::text, true},
    {"content", "x.content", FieldKind::text, true},
    {"meeting", "x.meeting_id", FieldKind::integer},
    {"user", "x.user_id", FieldKind::integer},
    {"timestamp", "x.timestamp", FieldKind::time},
}};
inline constexpr std::array<ConsoleField, 7> kSignalFields{{
    {"id", "s.id", FieldKind::integer},
    {"meeting__title", "mt.title", FieldKind::text, true},
    {"sender__email", "u.email", FieldKind::text, true},
    {"meeting", "s.meeting_id", FieldKind::integer},
    {"sender", "s.sender_id", FieldKind::integer},
    {"signal_type", "s.signal_type", FieldKind::text},
    {"created_at", "s.created_at", FieldKind::time},
}};
inline constexpr std::array<ConsoleField, 7> kRecordingFields{{
    {"id", "r.id", FieldKind::integer},
    {"meeting__title", "mt.title", FieldKind::text, true},
    {"uploaded_by__email", "u.email", FieldKind::text, true},
    {"meeting", "r.meeting_id", FieldKind::integer},
    {"uploaded_by", "r.uploaded_by_id", FieldKind::integer},
    {"file_url", "r.file_url", FieldKind::text},
    {"created_at", "r.created_at", FieldKind::time},
}};
inline constexpr std::array<ConsoleField, 10> kStateFields{{
    {"id", "p.id", FieldKind::integer},
    {"meeting__title", "mt.title", FieldKind::text, true},
    {"user__email", "u.email", FieldKind::text, true},
    {"meeting", "p.meeting_id", FieldKind::integer},
    {"user", "p.user_id", FieldKind::integer},
    {"audio_muted", "p.audio_muted", FieldKind::boolean},
    {"video_stopped", "p.video_stopped", FieldKind::boolean},
    {"in_call", "p.in_call", FieldKind::boolean},
    {"raised_hand", "p.raised_hand", FieldKind::boolean},
    {"screen_sharing", "p.screen_sharing", FieldKind::boolean},
}};

// Users in email order (SPEC section 6); the others newest first, as Django's "-pk".
inline constexpr std::array<ConsoleTable, 6> kConsoleTables{{
    {AdminModel::user, "users", "user", "users_user", kUserColumnsOfU, " FROM users_user u", "u.id",
     " ORDER BY u.email, u.id DESC", kUserFields},
    {AdminModel::meeting, "meetings", "meeting", "meetings_meeting",
     "m.id, m.title, m.description, m.type_of, m.created_on, m.room_id, m.scheduled_date, m.status, m.user_id, "
     "u.email",
     " FROM meetings_meeting m JOIN users_user u ON u.id = m.user_id", "m.id", " ORDER BY m.id DESC", kMeetingFields},
    {AdminModel::message, "meetings", "message", "meetings_message",
     "x.id, x.meeting_id, x.user_id, u.email, x.content, x.timestamp, mt.title",
     " FROM meetings_message x JOIN users_user u ON u.id = x.user_id JOIN meetings_meeting mt ON mt.id = x.meeting_id",
     "x.id", " ORDER BY x.id DESC", kMessageFields},
    {AdminModel::signal, "meetings", "signal", "meetings_signal",
     "s.id, s.meeting_id, s.sender_id, u.email, s.signal_type, s.data, s.created_at, mt.title",
     " FROM meetings_signal s JOIN users_user u ON u.id = s.sender_id JOIN meetings_meeting mt ON mt.id = s.meeting_id",
     "s.id", " ORDER BY s.id DESC", kSignalFields},
    {AdminModel::recording, "meetings", "recording", "meetings_recording",
     "r.id, r.meeting_id, r.uploaded_by_id, u.email, r.file_url, r.created_at, mt.title",
     " FROM meetings_recording r JOIN users_user u ON u.id = r.uploaded_by_id "
     "JOIN meetings_meeting mt ON mt.id = r.meeting_id",
     "r.id", " ORDER BY r.id DESC", kRecordingFields},
    {AdminModel::participantstate, "meetings", "participantstate", "meetings_participantstate",
     "p.id, p.meeting_id, p.user_id, u.email, p.audio_muted, p.video_stopped, p.in_call, p.raised_hand, "
     "p.screen_sharing, mt.title",
     " FROM meetings_participantstate p JOIN users_user u ON u.id = p.user_id "
     "JOIN meetings_meeting mt ON mt.id = p.meeting_id",
     "p.id", " ORDER BY p.id DESC", kStateFields},
}};

inline const ConsoleTable& console_table(AdminModel model) { return kConsoleTables[static_cast<std::size_t>(model)]; }

// A boolean filter's value as Django's BooleanField reads it; nothing when it is not one.
inline std::optional<bool> parse_boolean(std::string_view text) {
    if (text == "1" || text == "true" || text == "True" || text == "t") return true;
    if (text == "0" || text == "false" || text == "False" || text == "f") return false;
    return std::nullopt;
}

// A search word as a LIKE pattern that finds it anywhere, with LIKE's wildcards escaped ('\').
inline std::string like_pattern(std::string_view word) {
    std::string out = "%";
    for (char c : word) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out + "%";
}

// The admin history's columns, read by each backend's admin log reader (a LEFT JOIN: a row
// whose content type or user is gone still reads).
inline constexpr std::string_view kAdminLogSelect =
    "SELECT l.id, l.action_time, l.user_id, coalesce(u.email, ''), coalesce(ct.app_label, ''), "
    "coalesce(ct.model, ''), coalesce(l.object_id, ''), l.object_repr, l.action_flag, l.change_message "
    "FROM django_admin_log l LEFT JOIN users_user u ON u.id = l.user_id "
    "LEFT JOIN django_content_type ct ON ct.id = l.content_type_id ";

}  // namespace castera::sql
