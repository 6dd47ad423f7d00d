// SQL that both backends share: column lists in the order the row readers expect, the
// participant flags with their defaults, listing orders, and what goes with a deleted meeting
// or user (Django's on_delete=CASCADE, done by castera on both backends, since a database Django
// made has foreign keys that do not cascade). Placeholders differ (?N on SQLite, $N on
// PostgreSQL), so whole statements stay with their backend.
#pragma once

#include <array>
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
inline constexpr std::string_view kMessageSelect =
    "SELECT m.id, m.meeting_id, m.user_id, u.email, m.content, m.timestamp "
    "FROM meetings_message m JOIN users_user u ON u.id = m.user_id ";
inline constexpr std::string_view kRecordingSelect =
    "SELECT r.id, r.meeting_id, r.uploaded_by_id, u.email, r.file_url, r.created_at "
    "FROM meetings_recording r JOIN users_user u ON u.id = r.uploaded_by_id ";
inline constexpr std::string_view kStateSelect =
    "SELECT p.id, p.meeting_id, p.user_id, u.email, p.audio_muted, p.video_stopped, p.in_call, "
    "p.raised_hand, p.screen_sharing FROM meetings_participantstate p JOIN users_user u ON u.id = p.user_id ";

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

}  // namespace castera::sql
