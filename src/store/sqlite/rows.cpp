#include "store/sqlite/rows.hpp"

#include "store/sql_shared.hpp"
#include "store/store.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::sqlite {

TimePoint read_time(const Statement& row, int column) {
    auto parsed = parse_db(row.column_view(column));
    if (!parsed) throw StoreUnavailable("unreadable datetime in the database: " + row.column_text(column));
    return *parsed;
}

std::optional<TimePoint> read_optional_time(const Statement& row, int column) {
    if (row.column_is_null(column)) return std::nullopt;
    return read_time(row, column);
}

std::optional<std::string> optional_db_time(const std::optional<TimePoint>& t) {
    return t ? std::optional(format_db(*t)) : std::nullopt;
}

std::string uuid_to_db(std::string_view canonical) {
    std::string hex;
    for (char c : canonical)
        if (c != '-') hex += c;
    return hex;
}

std::string uuid_from_db(std::string_view stored) {
    std::string canonical;
    return parse_uuid(stored, canonical) ? canonical : std::string(stored);
}

User read_user(const Statement& row, int first) {
    User u;
    u.id = row.column_int(first);
    u.email = row.column_text(first + 1);
    u.password = row.column_text(first + 2);
    if (!row.column_is_null(first + 3)) u.last_login = read_time(row, first + 3);
    u.is_superuser = row.column_bool(first + 4);
    u.full_name = row.column_optional_text(first + 5);
    u.image = row.column_optional_text(first + 6);
    u.role = row.column_text(first + 7);
    u.is_active = row.column_bool(first + 8);
    u.is_staff = row.column_bool(first + 9);
    return u;
}

Meeting read_meeting(const Statement& row, int first) {
    Meeting m;
    m.id = row.column_int(first);
    m.title = row.column_text(first + 1);
    m.description = row.column_optional_text(first + 2);
    m.type_of = row.column_text(first + 3);
    m.created_on = read_time(row, first + 4);
    m.room_id = uuid_from_db(row.column_view(first + 5));
    m.scheduled_date = read_time(row, first + 6);
    m.status = row.column_text(first + 7);
    m.user_id = row.column_int(first + 8);
    return m;
}

Message read_message(const Statement& row) {
    return Message{.id = row.column_int(0),
                   .meeting_id = row.column_int(1),
                   .user_id = row.column_int(2),
                   .user_email = row.column_text(3),
                   .content = row.column_text(4),
                   .timestamp = read_time(row, 5)};
}

Recording read_recording(const Statement& row) {
    return Recording{.id = row.column_int(0),
                     .meeting_id = row.column_int(1),
                     .uploaded_by = row.column_int(2),
                     .uploaded_by_email = row.column_text(3),
                     .file_url = row.column_text(4),
                     .created_at = read_time(row, 5)};
}

ParticipantState read_state(const Statement& row) {
    return ParticipantState{.id = row.column_int(0),
                            .meeting_id = row.column_int(1),
                            .user_id = row.column_int(2),
                            .user_email = row.column_text(3),
                            .audio_muted = row.column_bool(4),
                            .video_stopped = row.column_bool(5),
                            .in_call = row.column_bool(6),
                            .raised_hand = row.column_bool(7),
                            .screen_sharing = row.column_bool(8)};
}

Signal read_signal(const Statement& row) {
    return Signal{.id = row.column_int(0),
                  .meeting_id = row.column_int(1),
                  .sender_id = row.column_int(2),
                  .sender_email = row.column_text(3),
                  .signal_type = row.column_text(4),
                  .data = row.column_text(5),
                  .created_at = read_time(row, 6)};
}

AdminLogEntry read_admin_log(const Statement& row) {
    return AdminLogEntry{.id = row.column_int(0),
                         .action_time = read_time(row, 1),
                         .user_id = row.column_int(2),
                         .user_email = row.column_text(3),
                         .app_label = row.column_text(4),
                         .model = row.column_text(5),
                         .object_id = row.column_text(6),
                         .object_repr = row.column_text(7),
                         .action_flag = static_cast<int>(row.column_int(8)),
                         .change_message = row.column_text(9)};
}

ApiToken read_token(const Statement& row) {
    return ApiToken{.id = row.column_int(0),
                    .user_id = row.column_int(1),
                    .name = row.column_text(2),
                    .key_hash = row.column_text(3),
                    .prefix = row.column_text(4),
                    .created_at = read_time(row, 5),
                    .expires_at = read_optional_time(row, 6),
                    .last_used_at = read_optional_time(row, 7)};
}

WebhookEvent read_webhook_event(const Statement& row) {
    return WebhookEvent{.id = row.column_int(0),
                        .event_id = row.column_text(1),
                        .endpoint = row.column_text(2),
                        .type = row.column_text(3),
                        .meeting_id = row.column_int(4),
                        .body = row.column_text(5),
                        .created_at = read_time(row, 6),
                        .status = row.column_text(7),
                        .attempts = row.column_int(8),
                        .next_attempt_at = read_time(row, 9),
                        .last_status = row.column_is_null(10) ? std::nullopt : std::optional(row.column_int(10)),
                        .last_error = row.column_optional_text(11),
                        .delivered_at = read_optional_time(row, 12)};
}

std::optional<Meeting> meeting_by_id(Connection& db, Id id) {
    Statement row =
        db.prepare(std::string("SELECT ").append(sql::kMeetingColumns).append(" FROM meetings_meeting WHERE id = ?1"));
    row.bind(1, id);
    if (!row.step()) return std::nullopt;
    return read_meeting(row);
}

std::optional<ParticipantState> participant_state(Connection& db, Id meeting, Id user) {
    Statement row = db.prepare(std::string(sql::kStateSelect) + "WHERE p.meeting_id = ?1 AND p.user_id = ?2");
    row.bind(1, meeting).bind(2, user);
    if (!row.step()) return std::nullopt;
    return read_state(row);
}

std::optional<std::string> email_of(Connection& db, Id user) {
    Statement row = db.prepare("SELECT email FROM users_user WHERE id = ?1");
    row.bind(1, user);
    if (!row.step()) return std::nullopt;
    return row.column_text(0);
}

}  // namespace castera::sqlite
